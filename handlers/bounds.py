"""/bounds: the office sets the 功效系数法 bounds (满意值 x满意, 不允许值 x不允许) of the plan's measures.

`/bounds` lists every efficacy measure with its bounds, 官方 (set by the office: who, when) or 估算
(the default); `/bounds 第10项 变动幅度 满意 0.2 不允许 -0.1` sets one (a reference that names
several measures is asked back, with a button per measure); `/bounds 清除 第10项` returns to the
estimate. Everything that scores reads the stored bounds through `office_bounds`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers.core import Choice, Incoming, Reply
from handlers.services import Services, actor, normalize
from handlers.store import StoredBounds
from knowledge.bounds import EfficacyMeasure, bounds_problem, efficacy_measures, find_measures
from knowledge.display import num, qty
from knowledge.rules import Bounds
from scoring.answers import chinese_number
from scoring.bounds import official_bounds

log = logging.getLogger(__name__)
EXAMPLE = "/bounds 第10项 变动幅度 满意 0.2 不允许 -0.1"
CLEAR_WORDS = ("清除", "删除", "取消", "恢复估算", "恢复默认", "还原")
ALL_WORDS = ("全部", "所有", "全部指标")
LIMIT = 1e12
NONE = "本方案的评价体系没有按功效系数法计分的指标，无需设定满意值、不允许值。"
_NUM = r"([+-]?|负)\s*(\d+(?:\.\d+)?|\.\d+)(?:[^\s\d，,；;、。:：=＝不满x+-]{0,5})"
_SATISFIED = re.compile(r"(?:x\s*)?满意(?:值)?\s*(?:[:：=＝]|为|是|取)?\s*" + _NUM, re.I)
_ALLOWED = re.compile(r"(?:x\s*)?不允许(?:值)?\s*(?:[:：=＝]|为|是|取)?\s*" + _NUM, re.I)
_REF = re.compile(r"第?\s*(\d+(?:\.[a-z]+(?:\.\d+)?)?)\s*(?:项|题|号)?", re.I)
_CHINESE_REF = re.compile(r"第([零一二三四五六七八九十百两]+)项")
_BARE_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_FILLER = re.compile(r"[的为是把将设定设置改成改为，,；;。、:：=＝\s]|测度|指标|界值")


@dataclass(frozen=True)
class BoundsRequest:
    """What a /bounds message asks: measures by reference and label, values, or clearing."""

    ref: str = ""  # 10, 10.a, 10.a.2; "" when only a label names the measure
    label: str = ""  # words left that name a measure (变动幅度)
    satisfied: float | None = None
    allowed: float | None = None
    clear: bool = False
    every: bool = False  # 清除 全部
    loose_numbers: int = 0  # numbers not marked 满意/不允许


async def office_bounds(services: Services) -> dict[str, Bounds]:
    """The office's stored bounds for the deployed plan, as official Bounds by measure key."""
    rows = await services.storage.bounds(services.plan.id)
    return official_bounds(services.framework, rows) if rows else {}


async def on_bounds(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/bounds: list the measures and their bounds, set one, or clear back to the estimate."""
    measures = efficacy_measures(services.framework)
    if not measures:
        return [Reply(NONE)]
    text = normalize(args)
    if not text:
        return [Reply(await bounds_text(services, measures))]
    request = parse_request(text)
    if request.clear:
        return await _clear(services, measures, request)
    return await _set(services, message, measures, request)


def parse_request(text: str) -> BoundsRequest:
    """Read “第10项 变动幅度 满意 0.2 不允许 -0.1”, “清除 第10项”, “10.a.2 x满意=1 x不允许=0”."""
    text = normalize(text).replace("−", "-").replace("－", "-").replace("＋", "+")
    clear = any(word in text for word in CLEAR_WORDS)
    for word in CLEAR_WORDS:
        text = text.replace(word, " ")
    every = clear and any(word in text for word in ALL_WORDS)
    satisfied, text = _take(_SATISFIED, text)
    allowed, text = _take(_ALLOWED, text)
    text = _CHINESE_REF.sub(_arabic_ref, text)
    ref = ""
    found = _REF.search(text)
    if found is not None and (
        "第" in found.group(0) or "." in found.group(1) or _starts(text, found)
    ):
        ref = found.group(1).lower()
        text = text[: found.start()] + " " + text[found.end() :]
    loose = len(_BARE_NUMBER.findall(text))
    text = _BARE_NUMBER.sub(" ", text)
    for word in ALL_WORDS:
        text = text.replace(word, " ")
    label = _FILLER.sub("", text)
    return BoundsRequest(ref, label, satisfied, allowed, clear, every, loose)


def _arabic_ref(found: re.Match[str]) -> str:
    value = chinese_number(found.group(1))
    return f"第{int(value)}项" if value is not None else found.group(0)


def _starts(text: str, found: re.Match[str]) -> bool:
    """A bare number counts as the indicator only at the start (“10 满意 1 不允许 0”)."""
    return not text[: found.start()].strip()


def _take(pattern: re.Pattern[str], text: str) -> tuple[float | None, str]:
    found = pattern.search(text)
    if found is None:
        return None, text
    sign = -1.0 if found.group(1) in ("-", "负") else 1.0
    value = sign * float(found.group(2)) + 0.0
    return value, text[: found.start()] + " " + text[found.end() :]


def candidates(
    measures: tuple[EfficacyMeasure, ...], request: BoundsRequest
) -> list[EfficacyMeasure]:
    """The measures a request names: by reference, narrowed by its label words."""
    found = find_measures(measures, request.ref) if request.ref else list(measures)
    if request.label:
        named = [m for m in found if request.label in m.label or m.label in request.label]
        named = named or [m for m in found if _overlap(request.label, m.label) >= 2]
        return named if named or request.ref else []
    return found if request.ref else []


def _overlap(words: str, label: str) -> int:
    """The longest run of characters of `words` found in the label (变动 in 占比变动幅度)."""
    best = 0
    for start in range(len(words)):
        for end in range(start + best + 1, len(words) + 1):
            if words[start:end] in label:
                best = end - start
    return best


# --- setting ------------------------------------------------------------------------------------


async def _set(
    services: Services,
    message: Incoming,
    measures: tuple[EfficacyMeasure, ...],
    request: BoundsRequest,
) -> list[Reply]:
    found = candidates(measures, request)
    if not found:
        return [Reply(_not_found(measures, request))]
    missing = _missing_values(request)
    if missing:
        return [Reply(f"{missing}\n例：{EXAMPLE}\n发送 /bounds 查看各测度现在的值。")]
    satisfied, allowed = request.satisfied or 0.0, request.allowed or 0.0
    if max(abs(satisfied), abs(allowed)) > LIMIT:
        return [Reply("数值过大，请检查后再设定。")]
    if len(found) > 1:
        return [_which(found, satisfied, allowed)]
    measure = found[0]
    problem = bounds_problem(measure, satisfied, allowed)
    if problem is not None:
        return [
            Reply(f"未保存：{problem}。\n{measure.name}现为：{await _current(services, measure)}")
        ]
    before = await _current(services, measure)
    await services.storage.set_bounds(
        services.plan.id, measure.key, satisfied, allowed, actor(message)
    )
    log.info(
        "bounds %s of plan %s set to %s/%s by %s:%s",
        measure.key,
        services.plan.id,
        satisfied,
        allowed,
        message.channel,
        message.user_id,
    )
    lines = [
        f"已设定{measure.name}（{measure.key}）的官方界值：满意值{_value(satisfied, measure)}、"
        f"不允许值{_value(allowed, measure)}（原为：{before}）。",
        _direction_line(measure),
        "此后 /myscore、/gaps、/progress、/export 和汇总均按此计算。"
        f"恢复估算：/bounds 清除 {measure.key}",
    ]
    return [Reply("\n".join(line for line in lines if line))]


def _missing_values(request: BoundsRequest) -> str:
    if request.satisfied is None and request.allowed is None:
        if request.loose_numbers:
            return "请写明哪个是满意值、哪个是不允许值。"
        return "请写出满意值和不允许值。"
    if request.satisfied is None:
        return "还缺满意值（x满意），请一起写出。"
    if request.allowed is None:
        return "还缺不允许值（x不允许），请一起写出。"
    return ""


def _which(found: list[EfficacyMeasure], satisfied: float, allowed: float) -> Reply:
    """Ask which measure is meant: a button for each one that can take these values."""
    lines = [f"第{found[0].indicator}项有{len(found)}个测度，要设定哪一个？"]
    choices = []
    for m in found:
        problem = bounds_problem(m, satisfied, allowed)
        lines.append(f"· {m.key} {m.label}" + (f"（不能用这组值：{problem}）" if problem else ""))
        if problem is None:
            payload = f"/bounds {m.key} 满意 {num(satisfied, 4)} 不允许 {num(allowed, 4)}"
            choices.append(Choice(f"{m.key} {m.label}", payload))
    if not choices:
        lines.append("这组值哪个测度都不能用，请检查后再发。")
    else:
        lines.append(f"也可直接写测度编号，例如：/bounds {found[0].key} 满意 … 不允许 …")
    return Reply("\n".join(lines), choices=tuple(choices))


def _not_found(measures: tuple[EfficacyMeasure, ...], request: BoundsRequest) -> str:
    keys = "、".join(dict.fromkeys(f"第{m.indicator}项" for m in measures))
    named = f"“{request.ref or request.label}”" if request.ref or request.label else ""
    head = f"没有找到测度{named}。" if named else "请写明是哪一项指标，例如第10项。"
    return f"{head}本方案按功效系数法计分的有：{keys}。\n发送 /bounds 查看；例：{EXAMPLE}"


def _direction_line(measure: EfficacyMeasure) -> str:
    if measure.direction == "lower":
        return "该测度越低越好：不高于满意值得满分，不低于不允许值得60%。"
    return ""


# --- clearing -----------------------------------------------------------------------------------


async def _clear(
    services: Services, measures: tuple[EfficacyMeasure, ...], request: BoundsRequest
) -> list[Reply]:
    found = list(measures) if request.every else candidates(measures, request)
    if not found:
        return [
            Reply(
                f"请写明要恢复估算的指标，例如：/bounds 清除 第10项；全部：/bounds 清除 全部\n"
                f"{_not_found(measures, request) if request.ref or request.label else ''}".strip()
            )
        ]
    cleared = await services.storage.clear_bounds(services.plan.id, [m.key for m in found])
    if not cleared:
        names = "、".join(m.name for m in found[:5])
        return [Reply(f"{names}没有设定官方界值，现为估算。")]
    log.info("bounds %s of plan %s cleared", ",".join(cleared), services.plan.id)
    by_key = {m.key: m for m in measures}
    lines = ["已清除官方界值，恢复为估算："]
    for key in cleared:
        m = by_key[key]
        lines.append(
            f"· {m.name}：满意值{_value(m.default.satisfied, m)}、不允许值{_value(m.default.allowed, m)}"
        )
    return [Reply("\n".join(lines))]


# --- listing ------------------------------------------------------------------------------------


async def bounds_text(services: Services, measures: tuple[EfficacyMeasure, ...]) -> str:
    """Every efficacy measure of the plan with its bounds, 官方 (who, when) or 估算."""
    rows = {row.measure: row for row in await services.storage.bounds(services.plan.id)}
    valid = official_bounds(services.framework, rows.values())
    lines = [f"功效系数法满意值、不允许值（{services.plan.county}）："]
    for m in measures:
        row = rows.get(m.key) if m.key in valid else None
        lines.append(f"· {m.key} {m.name}：{_state(services, m, row)}")
    count = len(valid)
    lines.append(
        f"官方{count}项、估算{len(measures) - count}项。估算为默认值（省里按全省各县数值确定），"
        "拿到官方值后请设定。"
    )
    lines.append(f"设定：{EXAMPLE}；恢复估算：/bounds 清除 第10项")
    return "\n".join(lines)


async def _current(services: Services, measure: EfficacyMeasure) -> str:
    rows = [r for r in await services.storage.bounds(services.plan.id) if r.measure == measure.key]
    valid = official_bounds(services.framework, rows)
    return _state(services, measure, rows[0] if rows and measure.key in valid else None)


def _state(services: Services, m: EfficacyMeasure, row: StoredBounds | None) -> str:
    """满意值1%、不允许值0%（官方，张三 12月1日 10:00设定）or（估算）."""
    if row is not None:
        values = f"满意值{_value(row.satisfied, m)}、不允许值{_value(row.allowed, m)}"
        return f"{values}（官方，{row.set_by} {_when(services, row.set_at)}设定）"
    values = f"满意值{_value(m.default.satisfied, m)}、不允许值{_value(m.default.allowed, m)}"
    notes = ["估算"]
    if m.default.stated:
        notes.append("评价标准已给出")
    if m.signed:
        notes.append("可为负")
    if m.direction == "lower":
        notes.append("越低越好，满意值应低于不允许值")
    return f"{values}（{'，'.join(notes)}）"


def _value(value: float, measure: EfficacyMeasure) -> str:
    return qty(value, measure.unit)


def _when(services: Services, stamp: str) -> str:
    """An ISO UTC time as Beijing time: 2026-12-01 10:00."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    local = services.rules.calendar.local(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return local.strftime("%Y-%m-%d %H:%M")
