"""The department's score: per indicator, share of the total, gaps ranked by recoverable points."""

from __future__ import annotations

from collections.abc import Mapping

from handlers.core import Incoming, Reply
from handlers.services import Services
from scoring.answers import Value
from scoring.questionnaire import department_assessment
from scoring.report import department_headline, gap_lines, indicator_lines, unanswered_lines
from scoring.results import Assessment

NOT_BOUND = "你还没有绑定部门。先发送：/bind 部门名称，例如：/bind 市场监管局"
SUMMARY_GAPS = 5
MAX_GAPS = 10


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
    assessment = _assess(services, department, answers)
    lines = [f"【{department}】失分项"]
    lines += gap_lines(assessment, MAX_GAPS, tasks=MAX_GAPS) or ["暂无可补回的分。"]
    lines += unanswered_lines(assessment, MAX_GAPS)
    lines += _unanswered_line(services, department, answers)
    return "\n".join(lines)


async def report(services: Services, department: str, gaps: int = SUMMARY_GAPS) -> str:
    """The department's score card: total, share, each indicator, top gaps, unanswered count."""
    answers = await services.storage.answers(services.plan.id, department)
    assessment = _assess(services, department, answers)
    if not services.indicators(department):
        return f"本方案没有点名{department}的指标。"
    lines = [f"【{department}】自评结果（{services.plan.county}）"]
    lines += department_headline(assessment)
    lines += indicator_lines(assessment)
    gaps_shown = gap_lines(assessment, gaps, tasks=gaps)
    if gaps_shown:
        lines += ["可补回的分（从多到少）：", *gaps_shown]
    lines += _unanswered_line(services, department, answers)
    return "\n".join(lines)


async def _department(services: Services, message: Incoming) -> str | None:
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    return liaison.department if liaison else None


def _assess(services: Services, department: str, answers: Mapping[str, Value]) -> Assessment:
    ids = [ind.id for ind in services.indicators(department)]
    return department_assessment(
        services.framework, answers, department, ids, plan=services.plan, today=services.today()
    )


def _unanswered_line(
    services: Services, department: str, answers: Mapping[str, Value]
) -> list[str]:
    missing = [q.number for q in services.questions(department) if q.fact.id not in answers]
    if not missing:
        return []
    shown = "、".join(str(n) for n in missing[:8]) + ("…" if len(missing) > 8 else "")
    return [f"未作答{len(missing)}题（第{shown}题），发送“自评”补答。"]
