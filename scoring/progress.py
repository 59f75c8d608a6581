"""The office's view: each department's completion and points, and the county's estimated score.

The county is scored on every department's stored answers together. Where two departments answered
the same fact (an indicator both are named for), the most recent answer counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from knowledge.rules import Bounds, Value
from scoring.engine import UnitsFor, score_framework
from scoring.questionnaire import Question, department_assessment, usable_answers
from scoring.results import Assessment, JsonResult

if TYPE_CHECKING:
    from knowledge.model import Framework, Plan


class AnswerRow(Protocol):
    """What merging needs of a stored answer."""

    @property
    def fact_id(self) -> str: ...
    @property
    def value(self) -> Value: ...
    @property
    def updated_at(self) -> str: ...


@dataclass(frozen=True)
class DepartmentProgress(JsonResult):
    """One department's self-assessment: how much is answered and what it scores so far."""

    department: str
    liaisons: int
    indicators: int  # indicators it self-assesses
    answered_indicators: int  # of those, every question answered
    questions: int
    answered: int  # questions answered
    score: float  # estimated points (unanswered count 0)
    max: float
    tasks_done: int = 0  # checklist systems: tasks reported done
    tasks: int = 0

    @property
    def percent(self) -> float:
        """Questions answered, 0–100 (100 when there is nothing to answer)."""
        return round(100.0 * self.answered / self.questions, 1) if self.questions else 100.0

    @property
    def finished(self) -> bool:
        """Every question answered."""
        return self.answered >= self.questions


def merge_answers(rows: Iterable[AnswerRow]) -> dict[str, Value]:
    """All departments' answers as one set: the most recently updated answer to a fact wins."""
    latest: dict[str, tuple[str, Value]] = {}
    for row in rows:
        seen = latest.get(row.fact_id)
        if seen is None or row.updated_at >= seen[0]:
            latest[row.fact_id] = (row.updated_at, row.value)
    return {fact_id: value for fact_id, (_, value) in latest.items()}


def county_assessment(
    framework: Framework,
    answers: Mapping[str, object],
    *,
    plan: Plan | None,
    units_for: UnitsFor,
    today: date | None = None,
    bounds: Mapping[str, Bounds] | None = None,
) -> Assessment:
    """The whole county scored from the merged answers (the same call as `qcbot score`)."""
    return score_framework(
        framework, usable_answers(framework, answers), plan=plan, units_for=units_for,
        today=today, exact=True, bounds=bounds,
    )


def department_progress(
    framework: Framework,
    department: str,
    questions: Sequence[Question],
    answers: Mapping[str, object],
    *,
    liaisons: int = 0,
    plan: Plan | None = None,
    today: date | None = None,
    bounds: Mapping[str, Bounds] | None = None,
) -> DepartmentProgress:
    """Completion and estimated points of one department from its own answers."""
    ids = list(dict.fromkeys(q.indicator.id for q in questions))
    answered = {q.fact.id for q in questions if answers.get(q.fact.id) is not None}
    complete = [
        i for i in ids if all(q.fact.id in answered for q in questions if q.indicator.id == i)
    ]
    result = department_assessment(
        framework, answers, department, ids, plan=plan, today=today, bounds=bounds
    )
    share = result.department
    report = result.checklist
    return DepartmentProgress(
        department=department,
        liaisons=liaisons,
        indicators=len(ids),
        answered_indicators=len(complete),
        questions=len(questions),
        answered=len(answered),
        score=share.score if share is not None else 0.0,
        max=share.max if share is not None else 0.0,
        tasks_done=report.done if report is not None else 0,
        tasks=report.total if report is not None else 0,
    )
