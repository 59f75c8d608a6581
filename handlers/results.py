"""The department's score: per indicator, share of the total, gaps ranked by recoverable points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from handlers.bounds import office_bounds
from handlers.core import Incoming, Reply
from handlers.services import Services
from handlers.store import StoredAnswer
from knowledge.display import clip, qty
from knowledge.rules import Fact
from scoring.answers import Value
from scoring.questionnaire import Question, department_assessment
from scoring.report import department_headline, gap_lines, indicator_lines, unanswered_lines
from scoring.results import Assessment

NOT_BOUND = "你还没有绑定部门。先发送：/bind 部门名称，例如：/bind 市场监管局"
SUMMARY_GAPS = 5
MAX_GAPS = 10
MAX_SHARED = 6  # answers by other departments listed in a score card


async def on_myscore(services: Services, message: Incoming) -> list[Reply]:
    """/myscore: the liaison's department, scored from the stored answers."""
    department = await _department(services, message)
    if department is None:
        return [Reply(NOT_BOUND)]
    return [Reply(await report(services, department, gaps=SUMMARY_GAPS))]


async def on_gaps(services: Services, message: Incoming) -> list[Reply]:
    """/gaps: where the department loses points and what to do, most points first."""
    department = await _department(services, message)
    if department is None:
        return [Reply(NOT_BOUND)]
    return [Reply(await gaps_text(services, department))]


async def gaps_text(services: Services, department: str) -> str:
    """The department's gaps, most points first, and its unanswered questions."""
    answers = await services.storage.answers(services.plan.id, department)
    assessment = await _assess(services, department, answers)
    lines = [f"【{department}】失分项"]
    lines += gap_lines(assessment, MAX_GAPS, tasks=MAX_GAPS) or ["暂无可补回的分。"]
    lines += unanswered_lines(assessment, MAX_GAPS)
    lines += _unanswered_line(services, department, answers)
    return "\n".join(lines)


async def report(services: Services, department: str, gaps: int = SUMMARY_GAPS) -> str:
    """The department's score card: total, share, each indicator, top gaps, unanswered count."""
    answers = await services.storage.answers(services.plan.id, department)
    assessment = await _assess(services, department, answers)
    if not services.indicators(department):
        return f"本方案没有点名{department}的指标。"
    lines = [f"【{department}】自评结果（{services.plan.county}）"]
    lines += department_headline(assessment)
    lines += indicator_lines(assessment)
    gaps_shown = gap_lines(assessment, gaps, tasks=gaps)
    if gaps_shown:
        lines += ["可补回的分（从多到少）：", *gaps_shown]
    lines += await shared_lines(services, department)
    lines += _unanswered_line(services, department, answers)
    return "\n".join(lines)


async def shared_lines(services: Services, department: str) -> list[str]:
    """The department's questions another department answered: who, when, what, confirmed or not."""
    others = by_others(services.questions(department), await services.storage.plan_answer_rows(
        services.plan.id), department)
    if not others:
        return []
    lines = ["其他部门已填写（本县一个答案，发送“自评”确认或修改）："]
    for question, row in others[:MAX_SHARED]:
        mark = "（本部门已确认）" if department in row.confirmed else ""
        lines.append(f"· 第{question.number}题 {answered_by(services, row, question.fact)}{mark}")
    if len(others) > MAX_SHARED:
        lines.append(f"…共{len(others)}题")
    return lines


def by_others(
    questions: Sequence[Question], rows: Sequence[StoredAnswer], department: str
) -> list[tuple[Question, StoredAnswer]]:
    """The questions whose county answer another department gave, in question order."""
    found = {row.fact_id: row for row in rows}
    return [(q, found[q.fact.id]) for q in questions
            if q.fact.id in found and found[q.fact.id].department not in ("", department)]


def answered_by(services: Services, row: StoredAnswer, fact: Fact | None = None) -> str:
    """统计局 张三 已于12月2日填写：120万元."""
    who = f"{row.department} {row.user_name or row.updated_by}".strip()
    try:
        when = datetime.fromisoformat(row.updated_at)
        local = services.rules.calendar.local(when if when.tzinfo else when.replace(tzinfo=UTC))
        on = f"已于{local.month}月{local.day}日"
    except (TypeError, ValueError):
        on = "已"
    shown = show_value(fact, row.value) if fact is not None else clip(str(row.value), 40)
    return f"{who} {on}填写：{shown}"


def show_value(fact: Fact, value: Value) -> str:
    """An answer as the liaison reads it: 是/否, 120万元, or the text (clipped)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return qty(float(value), fact.shown_unit)
    return clip(str(value), 40)


async def _department(services: Services, message: Incoming) -> str | None:
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    return liaison.department if liaison else None


async def _assess(
    services: Services, department: str, answers: Mapping[str, Value]
) -> Assessment:
    ids = [ind.id for ind in services.indicators(department)]
    return department_assessment(
        services.framework, answers, department, ids, plan=services.plan, today=services.today(),
        bounds=await office_bounds(services),
    )


def _unanswered_line(
    services: Services, department: str, answers: Mapping[str, Value]
) -> list[str]:
    missing = [q.number for q in services.questions(department) if q.fact.id not in answers]
    if not missing:
        return []
    shown = "、".join(str(n) for n in missing[:8]) + ("…" if len(missing) > 8 else "")
    return [f"未作答{len(missing)}题（第{shown}题），发送“自评”补答。"]
