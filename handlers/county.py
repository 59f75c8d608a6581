"""The county-wide view the office commands, the digest and the export share: read once, score once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from handlers.bounds import office_bounds
from handlers.services import Services
from handlers.store import EvidenceFile, StoredAnswer
from knowledge.assignment import OFFICE, bind_problem
from knowledge.display import num
from scoring.answers import Value
from scoring.progress import (
    DepartmentProgress,
    county_assessment,
    department_progress,
    merge_answers,
)
from scoring.report import county_headline
from scoring.report import gap_lines as report_gap_lines
from scoring.results import Assessment


@dataclass(frozen=True)
class CountyView:
    """Every department's progress and the county's estimated score from the stored answers."""

    assessment: Assessment
    departments: tuple[DepartmentProgress, ...]
    rows: tuple[StoredAnswer, ...]
    answers: dict[str, Value]  # the county's one answer to each fact
    evidence: tuple[EvidenceFile, ...] = field(default=())  # the active evidence files

    def evidence_of(self, department: str | None = None) -> tuple[int, int]:
        """(files, indicators with a file) of one department, or of the county (None)."""
        files = [f for f in self.evidence if department in (None, f.department)]
        return len(files), len({f.indicator for f in files if f.indicator})


def departments_to_assess(services: Services) -> list[str]:
    """Departments with self-assessment questions in the plan (those a liaison can bind to)."""
    named = list(services.responsibility.by_department)
    if OFFICE not in named:
        named.append(OFFICE)
    out = []
    for dept in named:
        known = services.kb.departments.get(dept)
        if known is not None and bind_problem(known) is None and services.questions(dept):
            out.append(dept)
    return out


def unit_ids(services: Services, indicator_id: str) -> tuple[str, ...]:
    """Canonical departments responsible for an indicator (for the county's gaps)."""
    indicator = services.framework.indicators.get(indicator_id)
    return services.responsibility.departments(indicator) if indicator is not None else ()


async def county_view(services: Services) -> CountyView:
    """Read the county's answers and the liaisons; score the county and each department.

    There is one answer per fact, so a department's progress counts the answers to its
    questions whoever gave them (a shared indicator is complete for every department at once).
    """
    plan = services.plan
    rows = await services.storage.plan_answer_rows(plan.id)
    liaisons = Counter(lia.department for lia in await services.storage.liaisons(plan.id))
    merged = merge_answers(rows)
    today = services.today()
    bounds = await office_bounds(services)
    assessment = county_assessment(
        services.framework,
        merged,
        plan=plan,
        units_for=lambda i: unit_ids(services, i),
        today=today,
        bounds=bounds,
    )
    progress = [
        department_progress(
            services.framework,
            dept,
            services.questions(dept),
            merged,
            liaisons=liaisons[dept],
            plan=plan,
            today=today,
            bounds=bounds,
        )
        for dept in departments_to_assess(services)
    ]
    progress.sort(key=lambda p: (-p.max, -p.questions, p.department))
    evidence = tuple(await services.storage.evidence(plan.id))
    return CountyView(assessment, tuple(progress), tuple(rows), merged, evidence)


async def unfinished_departments(services: Services) -> frozenset[str]:
    """Departments with at least one unanswered self-assessment question (cheap: no scoring)."""
    done = {row.fact_id for row in await services.storage.plan_answer_rows(services.plan.id)}
    out = set()
    for lia in await services.storage.liaisons(services.plan.id):
        if any(q.fact.id not in done for q in services.questions(lia.department)):
            out.add(lia.department)
    return frozenset(out)


# --- text ------------------------------------------------------------------------------------


def headline(view: CountyView) -> str:
    """估计全县得分 62.5/100分, or the tasks done for checklist systems."""
    return county_headline(view.assessment)


def bounds_line(view: CountyView) -> str | None:
    """功效系数法界值：官方2项、估算18项 — how much of the estimated score rests on estimated bounds."""
    used = view.assessment.bounds
    if not used:
        return None
    official = sum(1 for b in used if b.official)
    return f"功效系数法界值：官方{official}项、估算{len(used) - official}项（/bounds 查看、设定）"


def progress_line(p: DepartmentProgress, checklist: bool, evidence: tuple[int, int] | None = None) -> str:
    """· 市场监管局：指标12项，已答8项；完成67%（32/47题）；估分22.5/34分；联络员1人；材料3份（2项）."""
    points = (
        f"任务完成{p.tasks_done}/{p.tasks}项" if checklist else f"估分{num(p.score)}/{num(p.max)}分"
    )
    who = f"联络员{p.liaisons}人" if p.liaisons else "未绑定联络员"
    files = f"；材料{evidence[0]}份（{evidence[1]}项）" if evidence is not None else ""
    return (
        f"· {p.department}：指标{p.indicators}项，已答{p.answered_indicators}项；"
        f"完成{num(p.percent, 1)}%（{p.answered}/{p.questions}题）；{points}；{who}{files}"
    )


def evidence_headline(view: CountyView, indicators: int) -> str:
    """证实性材料：12份，覆盖8/43项指标."""
    files, covered = view.evidence_of()
    return f"证实性材料：{files}份，覆盖{covered}/{indicators}项指标"


def gap_lines(view: CountyView, limit: int) -> list[str]:
    """The county's largest gaps (who and what to do, most points first), then open tasks."""
    return report_gap_lines(view.assessment, limit, who=True)
