"""The answers file: a YAML fill-in template written from the facts, and the filled file read back.

The template lists `fact_id: ` (no value) per fact, grouped per indicator in document order, each
preceded by comments: the indicator (id, short title, points, responsible units), the question,
the type, unit, range or numbered options. Checklist systems get one `"<id>.<n>": ` per task.

Reading keeps every value as the text the user wrote (`95`, `0.95`, `是`, `2026-05-12`), so the
answer-reading rules of scoring.answers apply exactly as in a chat; an empty value, `~` or `null`
means "not answered".
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from knowledge.display import clip, num
from knowledge.rules import Fact, Value
from scoring.answers import MAX_LENGTH, AnswerProblem, not_future, parse_answer, validate_answers
from scoring.checklist import UNSCORED_KINDS, entries_of
from scoring.derived import conflicts, derive
from scoring.errors import AmbiguousPercent, AnswerError, FutureDate, ScoringError, UnsureAnswer
from scoring.questionnaire import Question, read_answer

if TYPE_CHECKING:
    from knowledge.model import Framework, Indicator

_NULLS = ("", "~", "null", "Null", "NULL")
_SPLIT = re.compile(r"[、，,；;\s]+")
_TYPE_NAMES = {
    "bool": "是/否",
    "count": "整数",
    "percent": "百分数",
    "number": "数字",
    "amount": "金额",
    "choice": "单选（填选项文字或序号）",
    "date": "日期（如 2026-05-12 或 2026年5月）",
    "text": "文字",
}
_KIND_NAMES = {"veto": "一票否决项", "rejection": "不予受理条件", "bonus": "加分项"}


class AnswerFileError(ScoringError):
    """The answers file cannot be read or is not YAML of `fact_id: value` lines (one line)."""


# --- what a fact expects ----------------------------------------------------------------------


def range_text(fact: Fact) -> str:
    """The allowed range: 0–100, ≥0, ≤5, or "" when unbounded (non-numeric facts too)."""
    if not fact.numeric:
        return ""
    low, high = fact.lower, fact.upper
    if low is not None and high is not None:
        return f"{num(low, 4)}–{num(high, 4)}"
    if low is not None:
        return f"≥{num(low, 4)}"
    return f"≤{num(high, 4)}" if high is not None else ""


def expectation(fact: Fact) -> str:
    """What a value of this fact must be, as one phrase: 应为0–100之间的百分数."""
    unit = fact.shown_unit
    unit_note = f"（单位：{unit}）" if unit and fact.type != "percent" else ""
    low, high = fact.lower, fact.upper
    if fact.type == "bool":
        return "应为“是”或“否”"
    if fact.type == "choice":
        listed = " ".join(f"{i}.{option}" for i, option in enumerate(fact.options, 1))
        return f"应为以下选项之一（可填序号）：{listed}"
    if fact.type == "date":
        return "应为1949—2100年间的日期，如 2026-05-12 或 2026年5月"
    if fact.type == "text":
        return f"应为文字说明（不超过{MAX_LENGTH}字）"
    noun = {"count": "整数", "percent": "百分数", "amount": "金额"}.get(fact.type, "数字")
    if fact.unit == "‰":
        noun = "千分数"
    if low is not None and high is not None:
        where = f"{num(low, 4)}–{num(high, 4)}之间的"
    elif low is not None:
        where = f"不小于{num(low, 4)}的"
    elif high is not None:
        where = f"不大于{num(high, 4)}的"
    else:
        where = ""
    return f"应为{where}{noun}{unit_note}"


def fact_comments(fact: Fact) -> list[str]:
    """The comment lines above a fact in the template (without the leading #)."""
    lines = [f"问：{fact.question}"]
    kind = [f"类型：{_TYPE_NAMES.get(fact.type, fact.type)}"]
    if fact.shown_unit:
        kind.append(f"单位：{fact.shown_unit}")
    if range_text(fact):
        kind.append(f"范围：{range_text(fact)}")
    lines.append(" · ".join(kind))
    lines += [f"  {i}. {option}" for i, option in enumerate(fact.options, 1)]
    if fact.help:
        lines.append(f"说明：{fact.help}")
    return lines


# --- the template -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A rendered fill-in template and what it holds."""

    text: str
    indicators: int
    entries: int


def render_template(
    framework: Framework,
    indicators: Iterable[Indicator],
    units_of: Callable[[Indicator], Sequence[str]],
    header: Sequence[str] = (),
) -> Template:
    """The YAML template for these indicators (in the order given), with a comment header."""
    out = [_comment(line) for line in header]
    count = groups = 0
    for ind in indicators:
        body = _indicator_entries(framework, ind)
        if not body:
            continue
        groups += 1
        count += len(body)
        units = units_of(ind)
        out += ["", *_indicator_header(ind, units)]
        for comments, key in body:
            out += [_comment(line) for line in comments if not _same_units(line, units)]
            if key:
                out.append(f"{key}: ")
            else:
                count -= 1
    return Template("\n".join(out) + "\n", groups, count)


def derivation_note(fact: Fact) -> str:
    """How a derived fact is computed, for the templates: 由 i28_funds ÷ i28_population 自动计算，无需填写."""
    rule = fact.derived
    if rule is None:
        return ""
    a, b = rule.of
    formula = {
        "ratio": f"{a} ÷ {b}",
        "share": f"{a} ÷ {b}",
        "change": f"{a} − {b}",
        "growth": f"（{a} − {b}）÷ {b}",
    }[rule.kind]
    return f"由 {formula} 自动计算（{fact.shown_unit}），无需填写"


def _indicator_header(ind: Indicator, units: Sequence[str]) -> list[str]:
    points = f"{num(ind.points)}分" if ind.points else ""
    kind = _KIND_NAMES.get(ind.kind, "")
    tag = "，".join(t for t in (kind if kind != ind.label else "", points) if t)
    where = " › ".join(x for x in (ind.level1, ind.level2) if x)
    head = f"════ 指标 {ind.id} {ind.label}{f'（{tag}）' if tag else ''}"
    lines = [f"{head} · {where}" if where else head]
    unit_text = "、".join(units)
    lines.append(f"责任单位：{unit_text or '（未列明）'}")
    if ind.data_source and ind.data_source != unit_text:
        lines.append(f"数据来源：{ind.data_source}")
    if ind.deadline:
        lines.append(f"完成时限：{ind.deadline}")
    return [_comment(line) for line in lines]


def _indicator_entries(framework: Framework, ind: Indicator) -> list[tuple[list[str], str]]:
    body: list[tuple[list[str], str]] = []
    previous = ""
    for fact in ind.facts:
        if fact.is_derived:  # computed, not filled in: said once, as a comment
            body.append(([f"{fact.question}：{derivation_note(fact)}"], ""))
            continue
        comments = fact_comments(fact)
        if fact.help and fact.help == previous:  # said once for a run of similar facts
            comments = comments[:-1]
        previous = fact.help
        body.append((comments, fact.id))
    if framework.scoring == "checklist" and ind.kind not in UNSCORED_KINDS:
        for key, text, units in entries_of(ind):
            comments = [f"任务：{text}"] + ([f"责任单位：{units}"] if units else [])
            body.append((comments, json.dumps(key)))
    return body


def _same_units(line: str, units: Sequence[str]) -> bool:
    """True for a task's 责任单位 line that repeats the indicator's units."""
    head = "责任单位："
    if not line.startswith(head):
        return False
    return _SPLIT.split(line[len(head) :].strip()) == _SPLIT.split("、".join(units))


def _comment(text: str) -> str:
    lines = str(text).splitlines() or [""]
    return "\n".join(f"# {line}".rstrip() for line in lines)


# --- reading a filled file --------------------------------------------------------------------

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~20x faster
_YAML_PROBLEMS = {
    "mapping values are not allowed here": "此处不能有“: ”（答案里含冒号时请加引号）",
    "mapping values are not allowed in this context": "此处不能有“: ”（答案里含冒号时请加引号）",
    "could not find expected ':'": "缺少“: ”",
    "found character '\\t' that cannot start any token": "不能用 Tab 缩进",
    "found a tab character that violates indentation": "不能用 Tab 缩进",
    "found unexpected end of stream": "引号或括号没有闭合",
    "found undefined alias": "未定义的别名（以 * 开头的答案请加引号）",
}


@dataclass(frozen=True)
class AnswerFile:
    """A read answers file: values as written (None = not answered), their lines, problems."""

    values: dict[str, str | None]
    lines: dict[str, int]
    problems: tuple[AnswerProblem, ...] = ()


def read_answer_file(path: Path) -> AnswerFile:
    """Read and parse an answers file; AnswerFileError (one line) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AnswerFileError(f"无法读取答案文件 {path}：文件不存在") from None
    except UnicodeDecodeError:
        raise AnswerFileError(f"无法读取答案文件 {path}：不是 UTF-8 编码的文本") from None
    except OSError as exc:
        raise AnswerFileError(f"无法读取答案文件 {path}：{exc.strerror or exc}") from None
    return parse_answer_text(text, str(path))


def parse_answer_text(text: str, name: str = "答案") -> AnswerFile:
    """Parse the YAML text of an answers file; AnswerFileError names the file and line."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"第{mark.line + 1}行第{mark.column + 1}列：" if mark is not None else ""
        what = exc.problem or exc.context or "格式错误"
        what = _YAML_PROBLEMS.get(what) or _YAML_PROBLEMS.get(what.split(" '")[0], what)
        raise AnswerFileError(f"答案文件 {name} 不是有效的 YAML：{where}{what}") from None
    except yaml.YAMLError as exc:
        raise AnswerFileError(f"答案文件 {name} 不是有效的 YAML：{exc}") from None
    if root is None:
        return AnswerFile({}, {})
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1
        raise AnswerFileError(f"答案文件 {name} 第{line}行：应为“事实编号: 答案”的逐行列表")
    return _pairs(root)


def _pairs(root: yaml.MappingNode) -> AnswerFile:
    values: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    problems: list[AnswerProblem] = []
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(AnswerProblem(f"第{line}行", None, "应为“事实编号: 答案”"))
            continue
        key = key_node.value
        if key in lines:
            problems.append(AnswerProblem(key, None, f"第{line}行重复填写（第{lines[key]}行已填）"))
            continue
        lines[key] = line
        if not isinstance(value_node, yaml.ScalarNode):
            problems.append(AnswerProblem(key, None, f"第{line}行：应为一个值，不能是列表或映射"))
            continue
        text = value_node.value
        plain = not value_node.style  # None (PyYAML) or "" (libyaml)
        empty = not text.strip() or (plain and text in _NULLS)
        values[key] = None if empty else text
    return AnswerFile(values, lines, tuple(problems))


# --- checking the answers ---------------------------------------------------------------------


def check_answers(
    facts: Mapping[str, Fact], raw: Mapping[str, object]
) -> tuple[dict[str, Value], list[AnswerProblem]]:
    """Typed values and every problem (unknown fact, unreadable value) with what is expected.

    A derived value (ratio, share, change, growth) that the raw figures contradict, or that
    comes without them, is a problem too; one that agrees is checked and dropped (recomputed).
    """
    plain = {k: v for k, v in raw.items() if not (k in facts and facts[k].is_derived)}
    values, problems = validate_answers(
        facts, plain, unknown=lambda fact_id: _unknown(fact_id, facts), explain=_explain
    )
    return values, problems + derived_problems(facts, raw)


def derived_problems(facts: Mapping[str, Fact], raw: Mapping[str, object]) -> list[AnswerProblem]:
    """One problem per typed derived value the raw figures do not support."""
    return [AnswerProblem(c.fact, raw.get(c.fact), c.message(facts)) for c in conflicts(facts, raw)]


def _explain(fact: Fact, problem: AnswerError) -> str:
    """Unsure or ambiguous answers say so (您填的是0.35%还是35%？); others what is expected."""
    if isinstance(problem, UnsureAnswer | AmbiguousPercent | FutureDate):
        return file_message(problem)
    return expectation(fact)


def file_message(problem: AnswerError) -> str:
    """The chat's message for a file: 不清楚 is left blank, 0.35 is written with its %."""
    if isinstance(problem, UnsureAnswer):
        return "不确定的答案不计入：查明后再填，或留空"
    if isinstance(problem, AmbiguousPercent):
        return f"{problem.message}请写明 %"
    return problem.message


def import_answers(
    questions: Sequence[Question], raw: Mapping[str, str | None], today: date
) -> tuple[dict[str, Value], list[AnswerProblem]]:
    """The values of a department's file read exactly as chat answers, and every problem.

    Only the department's questions are accepted; 不清楚 and a bare 0.35 percent are problems,
    a task's completion date must not lie after `today`.
    """
    by_id: dict[str, tuple[Question, bool]] = {}
    for q in questions:
        by_id[q.fact.id] = (q, False)
        if q.done_date is not None:
            by_id[q.done_date.id] = (q, True)
    derived = {f.id: f for q in questions for f in q.indicator.facts if f.is_derived}
    values: dict[str, Value] = {}
    problems: list[AnswerProblem] = []
    for fact_id, text in raw.items():
        found = by_id.get(fact_id)
        if fact_id in derived:
            continue  # checked against the raw figures below
        if found is None:
            problems.append(AnswerProblem(fact_id, text, "不是该部门的题目（事实编号有误或不归该部门）"))
            continue
        if text is None:
            continue
        q, is_date = found
        try:
            if is_date and q.done_date is not None:
                when = parse_answer(q.done_date, text)
                values[fact_id] = not_future(q.done_date, str(when), today)
            else:
                values.update(read_answer(q, text, today))
        except (UnsureAnswer, AmbiguousPercent, FutureDate) as exc:
            problems.append(AnswerProblem(fact_id, text, file_message(exc)))
        except AnswerError:
            problems.append(AnswerProblem(fact_id, text, expectation(q.done_date if is_date and q.done_date else q.fact)))
    facts = {f.id: f for q in questions for f in q.indicator.facts}
    problems += derived_problems(facts, {**values, **{k: raw[k] for k in derived if k in raw}})
    return values | computed(facts, values), problems


def computed(facts: Mapping[str, Fact], values: Mapping[str, Value]) -> dict[str, Value]:
    """The derived values the raw ones give, stored with them (so what is stored agrees)."""
    return {k: d.value for k, d in derive(facts, values).items() if d.value is not None}


def _unknown(fact_id: str, facts: Mapping[str, Fact]) -> str:
    close = difflib.get_close_matches(fact_id, list(facts), n=1, cutoff=0.75)
    hint = f"（是否为 {close[0]}？）" if close else ""
    return f"不是本体系的事实编号{hint}"


def problem_line(problem: AnswerProblem) -> str:
    """One problem as a line: `i17_a_coverage: "abc" — 应为0–100之间的百分数`."""
    value = problem.value
    if value is None:
        return f"{problem.fact} — {problem.expected}"
    shown = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    if len(shown) > 60:
        shown = clip(shown, 59)
    return f"{problem.fact}: {shown} — {problem.expected}"
