"""The department's score: per indicator, share of the total, gaps ranked by recoverable points."""

from __future__ import annotations

from collections.abc import Mapping

from handlers.core import Incoming, Reply
from handlers.services import Services
from scoring.answers import Value
from scoring.questionnaire import department_assessment
from scoring.results import Assessment, ChecklistEntry, ChecklistReport
from scoring.text import num, pts

NOT_BOUND = "你还没有绑定部门。先发送：/bind 部门名称，例如：/bind 市场监管局"
SUMMARY_GAPS = 5
MAX_GAPS = 10
MAX_ITEMS = 20
LABEL = 16


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
    lines += _gap_lines(assessment, MAX_GAPS) or ["暂无可补回的分。"]
    lines += _unanswered_line(services, department, answers)
    return "\n".join(lines)


async def report(services: Services, department: str, gaps: int = SUMMARY_GAPS) -> str:
    """The department's score card: total, share, each indicator, top gaps, unanswered count."""
    answers = await services.storage.answers(services.plan.id, department)
    assessment = _assess(services, department, answers)
    if not services.indicators(department):
        return f"本方案没有点名{department}的指标。"
    lines = [f"【{department}】自评结果（{services.plan.county}）"]
    lines += _headline(assessment)
    lines += _indicator_lines(assessment)
    gap_lines = _gap_lines(assessment, gaps)
    if gap_lines:
        lines += ["可补回的分（从多到少）：", *gap_lines]
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


def _headline(assessment: Assessment) -> list[str]:
    share = assessment.department
    if assessment.checklist is not None:
        done = assessment.checklist
        late = f"，逾期{len(done.overdue)}项" if done.overdue else ""
        return [f"已完成{done.done}/{done.total}项任务（{num(done.percent, 1)}%）{late}"]
    if share is None:
        return [assessment.status]
    percent = num(share.share * 100, 1)
    return [f"得分{pts(share.score)}（满分{pts(share.max)}，占总分{percent}%）"]


ESTIMATE_NOTE = "注：功效系数法的满意值、不允许值由省里按全省各县数值确定，标“估算”的按默认界值计算。"


def _indicator_lines(assessment: Assessment) -> list[str]:
    if assessment.checklist is not None:
        lines = [f"· {i.indicator} {_short(i.title)} {i.done}/{i.total}" for i in assessment.checklist.items]
        scored = [s for s in assessment.indicators if s.kind == "bonus"]
    else:
        lines, scored = [], list(assessment.indicators)
    for s in scored:
        mark = "（加分）" if s.kind == "bonus" else ""
        estimate = "（估算）" if s.estimated else ""
        lines.append(f"· {s.indicator} {_short(s.title)}{mark} {num(s.score)}/{pts(s.max)}{estimate}")
    if not lines:
        return []
    note = [ESTIMATE_NOTE] if any(s.estimated for s in scored) else []
    return ["各指标：", *lines[:MAX_ITEMS], *note]


def _gap_lines(assessment: Assessment, limit: int) -> list[str]:
    lines = [
        f"{n}. {g.indicator} {_short(g.title)}：{g.action}"
        for n, g in enumerate(assessment.gaps[:limit], 1)
    ]
    if assessment.checklist is not None:
        lines += _open_tasks(assessment.checklist, limit, start=len(lines) + 1)
    return lines


def _open_tasks(report: ChecklistReport, limit: int, start: int) -> list[str]:
    undone = [e for e in report.entries if e.done is not True]
    undone.sort(key=lambda e: not e.overdue)
    return [f"{n}. {_task(e)}" for n, e in enumerate(undone[:limit], start)]


def _task(entry: ChecklistEntry) -> str:
    text = f"{entry.key} {_short(entry.text, 24)}"
    if entry.overdue and entry.deadline is not None:
        return f"{text}（逾期，时限{entry.deadline.isoformat()}）"
    return text + ("（未填报）" if entry.done is None else "（未完成）")


def _unanswered_line(services: Services, department: str, answers: Mapping[str, Value]) -> list[str]:
    missing = [q.number for q in services.questions(department) if q.fact.id not in answers]
    if not missing:
        return []
    shown = "、".join(str(n) for n in missing[:8]) + ("…" if len(missing) > 8 else "")
    return [f"未作答{len(missing)}题（第{shown}题），发送“自评”补答。"]


def _short(text: str, limit: int = LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
