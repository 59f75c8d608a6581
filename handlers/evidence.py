"""Evidence (证实性材料) from the chat: receive a file, put it under an indicator, list, rename, withdraw.

    file ──receive (size, sha256) ──detect (content)──▶ stored ──row──▶ indicator known? ──▶ 已收下
                                                                      └─ no: choices ──按钮/回复──▶ assigned

The indicator comes from the caption (“第14项”, “标准制修订”, through the librarian), else from the
question being answered in 自评, else the bot proposes the likely ones (the department's own first)
and asks; the file is stored and numbered either way, so nothing sent is lost. A sender not yet
bound gets their file stored without a department and is asked to /bind; /evidence then claims it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from handlers import ask
from handlers.core import AttachmentUnavailable, Choice, Incoming, Reply
from handlers.evidence_files import (
    EvidenceRefused,
    FileType,
    Received,
    detect,
    discard,
    neutral_name,
    receive,
    rename,
    store,
)
from handlers.services import Services, actor, normalize
from handlers.store import EvidenceFile, Liaison
from knowledge.model import Indicator
from knowledge.query import Intent

log = logging.getLogger(__name__)

FLOW = "evidence"
PAYLOAD = "ev:"
CHOICES = 4
DOWNLOAD_FAILED = "文件没有下载成功，未收下，请重新发送。"
_MATERIAL_QUESTION = re.compile(r"材料|证明|佐证|支撑")
_NUMBER = re.compile(r"^(?:第)?([0-9]{1,3})(?:个|项)?$")


async def on_file(services: Services, message: Incoming) -> list[Reply]:
    """A file or photo arrived: store it safely, then put it under an indicator (or ask which)."""
    attachment = message.attachment
    if attachment is None:
        return []
    storage = services.storage
    try:
        received = await receive(attachment, storage.evidence_spool(), services.evidence_max_bytes)
        kind = await _detect(received)
    except EvidenceRefused as refused:
        log.info("evidence from %s:%s refused: %s", message.channel, message.user_id, refused)
        return [Reply(str(refused))]
    except (AttachmentUnavailable, OSError) as exc:
        log.warning("evidence download from %s:%s failed: %s", message.channel, message.user_id, exc)
        return [Reply(DOWNLOAD_FAILED)]
    liaison = await storage.liaison(message.channel, message.user_id, services.plan.id)
    department = liaison.department if liaison else ""
    indicator = await _named_indicator(services, message.text, department)
    if indicator is None:
        indicator = await _assessing_indicator(services, message, liaison)
    name = neutral_name(attachment.name, kind, "照片" if kind.media_type.startswith("image/") else "材料")
    if indicator is not None:
        duplicate = await _duplicate(services, received.sha256, indicator.id)
        if duplicate is not None:
            discard(received)
            return [Reply(_duplicate_text(duplicate, indicator))]
    await asyncio.to_thread(store, received, storage.evidence_path(received.sha256))
    record = await storage.add_evidence(
        services.plan.id, services.framework.id, indicator.id if indicator else "", department,
        actor(message), name, received.size, kind.media_type, received.sha256,
    )
    log.info("evidence %s stored: %s %s bytes for %s", record.id, kind.media_type, record.size, record.indicator or "?")
    head = f"已收下：{name}（{kind.label}，{_size(record.size)}），编号 {record.id}。"
    tail = "" if liaison else "\n你还没有绑定部门：请先发送 /bind 部门名称，绑定后发送 /evidence，这份材料即归入本部门。"
    if indicator is not None:
        return [Reply(f"{head}\n归入：{_label(indicator)}。/evidence 查看，“删除材料 {record.id}”撤回。{tail}")]
    return [await _ask_indicator(services, message, record, department, head, tail)]


async def _detect(received: Received) -> FileType:
    try:
        return await asyncio.to_thread(detect, received.temp)
    except EvidenceRefused:
        discard(received)
        raise


async def on_text(services: Services, message: Incoming, state: dict[str, object]) -> list[Reply] | None:
    """The reply after “属于哪一项？”: a number of the choices or an indicator; None = not about it."""
    raw = state.get("choices")
    choices = [c for c in raw if isinstance(c, str)] if isinstance(raw, list) else []
    evidence_id = state.get("evidence")
    await services.storage.set_state(message.channel, message.chat_id, message.user_id, None)
    if not isinstance(evidence_id, int):
        return None
    match = _NUMBER.match(normalize(message.text))
    indicator: Indicator | None = None
    if match and 1 <= int(match.group(1)) <= len(choices) and len(message.text) <= 4:
        indicator = services.framework.indicators.get(choices[int(match.group(1)) - 1])
    if indicator is None:
        liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
        indicator = await _named_indicator(services, message.text, liaison.department if liaison else "")
    if indicator is None:
        return None
    return await _assign(services, message, evidence_id, indicator)


async def on_button(services: Services, message: Incoming, payload: str) -> list[Reply]:
    """A choice button "ev:<evidence id>:<indicator id>": put the file under that indicator."""
    evidence_id, _, indicator_id = payload.removeprefix(PAYLOAD).partition(":")
    indicator = services.framework.indicators.get(indicator_id)
    if not evidence_id.isdigit() or indicator is None:
        return [Reply("这个按钮已失效。发送 /evidence 查看材料。")]
    state = await services.storage.state(message.channel, message.chat_id, message.user_id)
    if state is not None and state.get("flow") == FLOW:
        await services.storage.set_state(message.channel, message.chat_id, message.user_id, None)
    return await _assign(services, message, int(evidence_id), indicator)


async def _assign(services: Services, message: Incoming, evidence_id: int, indicator: Indicator) -> list[Reply]:
    record = await _own(services, message, evidence_id)
    if isinstance(record, str):
        return [Reply(record)]
    duplicate = await _duplicate(services, record.sha256, indicator.id)
    if duplicate is not None and duplicate.id != record.id:
        await services.storage.withdraw_evidence(record.id)
        return [Reply(_duplicate_text(duplicate, indicator))]
    await services.storage.assign_evidence(record.id, indicator.id)
    return [Reply(f"材料 {record.id}（{record.name}）已归入：{_label(indicator)}。")]


# --- commands -------------------------------------------------------------------------------


async def on_list(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/evidence: the department's files by indicator (admins: every department); “/evidence 7 第14项” assigns."""
    head, _, rest = args.partition(" ")
    if head.isdigit() and rest.strip():
        liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
        indicator = await _named_indicator(services, rest, liaison.department if liaison else "")
        if indicator is None:
            return [Reply(f"没认出指标“{rest[:20]}”。例：/evidence {head} 第14项")]
        return await _assign(services, message, int(head), indicator)
    admin = services.is_admin(message.channel, message.user_id)
    liaison = await _claimed(services, message)
    if liaison is None and not admin:
        return [Reply(await _unbound_list(services, message))]
    files = await services.storage.evidence(services.plan.id, None if admin else liaison.department if liaison else "")
    lines = [_list_title(services, liaison, admin, files)]
    lines += listing(services, files, by_department=admin)
    if admin:
        lines += await _unregistered_lines(services)
    lines.append("撤回：删除材料 编号；改名：重命名材料 编号 新名称；归项：/evidence 编号 第N项")
    return [Reply("\n".join(lines))]


async def on_withdraw(services: Services, message: Incoming, args: str) -> list[Reply]:
    """删除材料 3: withdraw one file (the liaison's department's, or any for admins)."""
    number = args.strip().lstrip("第").rstrip("号份")
    if not number.isdigit():
        return [Reply("请写材料编号，例如：删除材料 3（编号见 /evidence）")]
    record = await _own(services, message, int(number))
    if isinstance(record, str):
        return [Reply(record)]
    await services.storage.withdraw_evidence(record.id)
    return [Reply(f"已撤回材料 {record.id}：{record.name}。")]


async def on_rename(services: Services, message: Incoming, args: str) -> list[Reply]:
    """重命名材料 3 新名称: give one file a new name (its extension kept)."""
    number, _, wanted = args.strip().partition(" ")
    if not number.isdigit() or not wanted.strip():
        return [Reply("请写编号和新名称，例如：重命名材料 3 标准发布公告截图")]
    record = await _own(services, message, int(number))
    if isinstance(record, str):
        return [Reply(record)]
    name = rename(record.name, wanted.strip(), Path(record.name).suffix)
    await services.storage.rename_evidence(record.id, name)
    return [Reply(f"材料 {record.id} 已改名为：{name}")]


async def on_materials_question(services: Services, message: Incoming) -> list[Reply] | None:
    """“第14项要什么材料”: the KB's list and the 申请表 row, plus what this department still lacks."""
    if _MATERIAL_QUESTION.search(message.text) is None:
        return None
    probe = await services.ask(message.text)  # the librarian alone (cached): is it about materials?
    if probe.intent != Intent.EVIDENCE or len(probe.hits) != 1:
        return None
    indicator = probe.hits[0][0]
    replies = await ask.on_question(services, message, message.text)  # logged, in the dialogue
    if not replies:
        return replies
    lines = [replies[0].text, *form_rows(services, indicator, replies[0].text)]
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    if indicator.framework == services.framework.id:
        lines.append(await _sent_line(services, indicator, liaison))
    return [replace(replies[0], text="\n".join(line for line in lines if line)), *replies[1:]]


def form_rows(services: Services, indicator: Indicator, shown: str) -> list[str]:
    """The 申请表 重要指标 rows of the indicator (Shandong plans), unless already in the answer."""
    form = getattr(services.librarian.library, "form", None)
    if form is None or indicator.framework != "shandong":
        return []
    rows = [i.name for i in form.section("重要指标") if indicator.id in i.indicators]
    return [f"申请表填报内容：{row}" for row in rows if row not in shown]


async def _sent_line(services: Services, indicator: Indicator, liaison: Liaison | None) -> str:
    department = liaison.department if liaison else None
    files = await services.storage.evidence(services.plan.id, department, indicator.id)
    who = "本部门" if department else "全县"
    if not files:
        return f"{who}还没有交这一项的材料：直接发送文件，并说明“第{indicator.id}项”。"
    names = "、".join(f.name for f in files[:5]) + ("…" if len(files) > 5 else "")
    return f"{who}已交{len(files)}份：{names}"


# --- progress counts ------------------------------------------------------------------------


def counts(files: Sequence[EvidenceFile]) -> dict[tuple[str, str], int]:
    """Active files per (department, indicator)."""
    found: dict[tuple[str, str], int] = {}
    for f in files:
        if f.status == "active":
            found[(f.department, f.indicator)] = found.get((f.department, f.indicator), 0) + 1
    return found


def documented(files: Sequence[EvidenceFile], department: str | None = None) -> set[str]:
    """Indicators with at least one active file (of one department, or of any)."""
    return {f.indicator for f in files if f.status == "active" and f.indicator and department in (None, f.department)}


async def evidence_line(services: Services, indicators: Sequence[Indicator], department: str | None = None) -> str:
    """“证实性材料：12份，覆盖8/20项指标”: for /progress, /gaps and the weekly digest."""
    files = await services.storage.evidence(services.plan.id, department)
    ids = {i.id for i in indicators}
    covered = len(documented(files, department) & ids)
    return f"证实性材料：{len(files)}份，覆盖{covered}/{len(ids)}项指标"


# --- on start ---------------------------------------------------------------------------------


async def check_store(services: Services) -> list[Path]:
    """Log (and return) the stored files no row names: a crash between storing and recording.

    Half-written downloads (an hour old) are deleted: they were never received whole, and their
    sender was told so or never got a reply.
    """
    removed = await asyncio.to_thread(services.storage.clear_spool)
    if removed:
        log.info("evidence: removed %s half-written download(s)", removed)
    orphans = await services.storage.unregistered_evidence()
    for path in orphans:
        log.warning("未登记材料: %s (%s bytes) has no record; listed to the office in /evidence", path.name, path.stat().st_size)
    return orphans


# --- helpers --------------------------------------------------------------------------------


def listing(services: Services, files: Sequence[EvidenceFile], by_department: bool = False) -> list[str]:
    """The files, grouped by indicator in the framework's order; unassigned last."""
    order = {ind_id: n for n, ind_id in enumerate(services.framework.indicators)}
    groups: dict[str, list[EvidenceFile]] = {}
    for f in files:
        groups.setdefault(f.indicator, []).append(f)
    lines: list[str] = []
    for ind_id in sorted(groups, key=lambda i: (i == "", order.get(i, len(order)), i)):
        indicator = services.framework.indicators.get(ind_id)
        lines.append(f"{_label(indicator) if indicator else '未归入指标'}：")
        for f in groups[ind_id]:
            who = f"｜{f.department or '未绑定'}" if by_department else ""
            lines.append(f"  [{f.id}] {f.name}（{_size(f.size)}{who}）")
    return lines


async def _claimed(services: Services, message: Incoming) -> Liaison | None:
    """The sender's liaison, after giving their department the files they sent before binding."""
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    if liaison is not None:
        await services.storage.claim_evidence(services.plan.id, message.channel, message.user_id, liaison.department)
    return liaison


async def _unbound_list(services: Services, message: Incoming) -> str:
    mine = [
        f for f in await services.storage.evidence(services.plan.id, "")
        if f.channel == message.channel and f.user_id == message.user_id
    ]
    text = "你还没有绑定部门。先发送：/bind 部门名称"
    if mine:
        text += f"\n你已发送{len(mine)}份材料，绑定后发送 /evidence 即归入本部门。"
    return text


def _list_title(services: Services, liaison: Liaison | None, admin: bool, files: Sequence[EvidenceFile]) -> str:
    whose = "全县" if admin else liaison.department if liaison else ""
    if not files:
        return f"{whose}还没有证实性材料。直接发送文件或照片，并说明属于哪一项（如“第14项”）。"
    return f"{whose}证实性材料（{len(files)}份）："


async def _unregistered_lines(services: Services) -> list[str]:
    orphans = await services.storage.unregistered_evidence()
    if not orphans:
        return []
    lines = [f"未登记材料（{len(orphans)}份，已收到但未记录，多为中断所致，请联系发送人重发）："]
    lines += [f"  {p.name[:12]}…（{_size(p.stat().st_size)}）" for p in orphans[:10]]
    return lines


async def _own(services: Services, message: Incoming, evidence_id: int) -> EvidenceFile | str:
    """The active file the sender may change, or why not."""
    record = await services.storage.evidence_file(evidence_id)
    if record is None or record.status != "active" or record.plan != services.plan.id:
        return f"没有编号为 {evidence_id} 的材料。发送 /evidence 查看。"
    if services.is_admin(message.channel, message.user_id):
        return record
    if record.channel == message.channel and record.user_id == message.user_id:
        return record
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    if liaison is not None and record.department == liaison.department:
        return record
    return f"材料 {evidence_id} 不是本部门的，不能修改。"


async def _duplicate(services: Services, sha256: str, indicator: str) -> EvidenceFile | None:
    same = await services.storage.evidence(services.plan.id, indicator=indicator)
    return next((f for f in same if f.sha256 == sha256), None)


def _duplicate_text(duplicate: EvidenceFile, indicator: Indicator) -> str:
    who = f"{duplicate.department}" if duplicate.department else duplicate.uploader
    return f"这份材料已经收过：{_label(indicator)}的材料 {duplicate.id}（{duplicate.name}，{who}），未重复登记。"


async def _named_indicator(services: Services, text: str, department: str) -> Indicator | None:
    """The one indicator a caption or reply names confidently (“第14项”, “标准制修订”), else None."""
    text = text.strip()
    if not text:
        return None
    match = _NUMBER.match(normalize(text))
    if match:
        return services.framework.indicators.get(match.group(1))
    result = await services.ask(text)
    hits = [(ind, score) for ind, score in result.hits if ind.framework == services.framework.id]
    if not hits or result.abstained:
        return None
    if len(hits) == 1 or hits[0][1] >= 2 * hits[1][1]:
        return hits[0][0]
    return None


async def _assessing_indicator(services: Services, message: Incoming, liaison: Liaison | None) -> Indicator | None:
    """The indicator of the 自评 question the liaison is answering in this chat, if any."""
    if liaison is None:
        return None
    state = await services.storage.state(message.channel, message.chat_id, message.user_id)
    if state is None or state.get("flow") != "assess":
        return None
    progress = await services.storage.progress(message.channel, message.user_id, services.plan.id, liaison.department)
    if progress is None:
        return None
    questions = services.questions(liaison.department)
    found = next((q for q in questions if q.fact.id == progress.fact_id), None)
    if found is None and 0 <= progress.position < len(questions):
        found = questions[progress.position]
    return found.indicator if found else None


async def _ask_indicator(
    services: Services, message: Incoming, record: EvidenceFile, department: str, head: str, tail: str
) -> Reply:
    """Propose the likely indicators (the department's own first) as buttons and ask which."""
    candidates = await _candidates(services, f"{Path(record.name).stem} {message.text}", department)
    state = await services.storage.state(message.channel, message.chat_id, message.user_id)
    if state is None or state.get("flow") == FLOW:  # never over 自评 or /bind: buttons still work
        await services.storage.set_state(
            message.channel, message.chat_id, message.user_id,
            {"flow": FLOW, "evidence": record.id, "choices": [i.id for i in candidates]},
        )
    choices = tuple(Choice(f"{n}. 第{i.id}项 {_short(i)}", f"{PAYLOAD}{record.id}:{i.id}") for n, i in enumerate(candidates, 1))
    ask = "属于哪一项？请点选或回复序号" if candidates else "属于哪一项？请回复指标，例如“第14项”"
    return Reply(f"{head}\n{ask}（也可稍后发送“/evidence {record.id} 第N项”）。{tail}", choices=choices)


async def _candidates(services: Services, text: str, department: str) -> list[Indicator]:
    result = await services.ask(text) if text.strip() else None
    hits = [ind for ind, _ in (result.hits if result else []) if ind.framework == services.framework.id]
    own = {i.id for i in services.indicators(department)} if department else set()
    ranked = [i for i in hits if i.id in own] + [i for i in hits if i.id not in own]
    if not ranked and own:
        ranked = [i for i in services.indicators(department)]
    return ranked[:CHOICES]


def _label(indicator: Indicator) -> str:
    return f"第{indicator.id}项 {_short(indicator)}"


def _short(indicator: Indicator) -> str:
    return indicator.editorial.short or indicator.name[:16]


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(size // 1024, 1)} KB"
