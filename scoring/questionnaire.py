"""A department's self-assessment: the questions to ask, how an answer is read, and its score."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from knowledge.rules import Bounds, Fact, Value
from scoring.answers import not_future, parse_answer
from scoring.checklist import UNSCORED_KINDS, checklist_facts, entries_of
from scoring.engine import framework_facts, score_framework
from scoring.errors import AnswerError
from scoring.results import Assessment

if TYPE_CHECKING:
    from knowledge.model import Framework, Indicator, Plan

FEW_OPTIONS = 6  # answers with at most this many options are offered as buttons
BOOL_OPTIONS = ("是", "否")


@dataclass(frozen=True)
class Question:
    """One question of a self-assessment: a fact of an indicator (a task, for checklists)."""

    number: int  # 1-based position in the department's questionnaire
    indicator: Indicator
    fact: Fact
    done_date: Fact | None = None  # checklist tasks: a completion date also answers "done"

    @property
    def options(self) -> tuple[str, ...]:
        """The answers offered as buttons: 是/否, or a choice's options when there are few."""
        if self.fact.type == "bool":
            return BOOL_OPTIONS
        if self.fact.type == "choice" and len(self.fact.options) <= FEW_OPTIONS:
            return self.fact.options
        return ()


def questions_for(framework: Framework, indicators: Sequence[Indicator]) -> tuple[Question, ...]:
    """The questions for these indicators in document order: checklist tasks, then declared facts.

    Derived facts (ratio, share, change, growth) are computed from the others, never asked.
    """
    implicit = checklist_facts(framework) if framework.scoring == "checklist" else {}
    pairs: list[tuple[Indicator, Fact, Fact | None]] = []
    for ind in indicators:
        if implicit and ind.kind not in UNSCORED_KINDS:
            for key, _, _ in entries_of(ind):
                pairs.append((ind, implicit[key], implicit[f"{key}.date"]))
        pairs.extend((ind, fact, None) for fact in ind.facts if not fact.is_derived)
    return tuple(Question(n, ind, fact, when) for n, (ind, fact, when) in enumerate(pairs, 1))


def read_answer(question: Question, text: str, today: date | None = None) -> dict[str, Value]:
    """The values a natural answer gives (fact id → value); raises AnswerError with an example.

    A checklist task also takes its completion date, which must not be after `today`.
    """
    try:
        return {question.fact.id: parse_answer(question.fact, text)}
    except AnswerError as problem:
        if question.done_date is None:
            raise
        try:
            when = parse_answer(question.done_date, text)
        except AnswerError:
            raise problem from None
        if isinstance(when, str):
            not_future(question.done_date, when, today or date.today())
        return {question.fact.id: True, question.done_date.id: when}


def department_assessment(
    framework: Framework,
    answers: Mapping[str, object],
    department: str,
    indicators: Collection[str],
    *,
    plan: Plan | None = None,
    today: date | None = None,
    bounds: Mapping[str, Bounds] | None = None,
) -> Assessment:
    """Score the framework for one department: only its indicators, its share, its gaps."""
    usable = usable_answers(framework, answers)
    mine = set(indicators)
    return score_framework(
        framework,
        usable,
        plan=plan,
        department=department,
        units_for=lambda ind_id: [department] if ind_id in mine else [],
        today=today,
        bounds=bounds,
    )


def usable_answers(framework: Framework, answers: Mapping[str, object]) -> dict[str, Value]:
    """Stored answers still valid for the framework's facts (others are dropped, not fatal)."""
    facts = framework_facts(framework)
    out: dict[str, Value] = {}
    for fact_id, value in answers.items():
        fact = facts.get(fact_id)
        if fact is None or value is None:
            continue
        try:
            out[fact_id] = parse_answer(fact, value)
        except AnswerError:
            continue
    return out
