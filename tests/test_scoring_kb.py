"""The engine on the real knowledge files: best answers earn the full totals, caps and vetoes hold."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

loader = pytest.importorskip("knowledge.loader", reason="knowledge/loader.py not written yet")

from knowledge.model import Framework, KnowledgeBase  # noqa: E402
from knowledge.rules import VetoPart, walk  # noqa: E402
from scoring.engine import framework_facts, score_framework, score_indicator  # noqa: E402
from scoring.samples import answer_template, best_answers, satisfy  # noqa: E402

FULL_MARKS = {"shandong": 100, "hunan": 1060}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return loader.load_knowledge()


def points_frameworks(kb: KnowledgeBase) -> list[Framework]:
    return [fw for fw in kb.frameworks.values() if fw.scoring == "points"]


@pytest.mark.parametrize(("fw_id", "total"), sorted(FULL_MARKS.items()))
def test_best_answers_earn_full_marks(kb: KnowledgeBase, fw_id: str, total: float) -> None:
    fw = kb.framework(fw_id)
    result = score_framework(fw, best_answers(fw))
    assert (result.total, result.max) == (total, total)
    assert not result.disqualified and not result.gaps and not result.missing
    assert result.passed is not False
    short = [s.indicator for s in result.indicators if s.score != s.max]
    assert short == []


def test_best_answers_with_each_plan(kb: KnowledgeBase) -> None:
    for plan in kb.plans.values():
        fw = kb.framework(plan.framework)
        result = score_framework(fw, best_answers(fw, plan=plan), plan=plan)
        if fw.id in FULL_MARKS:
            assert result.total == FULL_MARKS[fw.id], plan.id


def test_empty_answers_score_zero(kb: KnowledgeBase) -> None:
    for fw in kb.frameworks.values():
        result = score_framework(fw, {})
        assert result.total == 0 and not result.disqualified, fw.id
        assert not result.gaps
        if fw.scoring == "points":
            assert set(result.missing) <= set(framework_facts(fw))


def test_every_declared_fact_is_in_the_template(kb: KnowledgeBase) -> None:
    for fw in kb.frameworks.values():
        template = answer_template(fw)
        for ind in fw.indicators.values():
            if ind.rule is not None:
                assert set(ind.rule.facts()) <= set(template), ind.id


@pytest.mark.parametrize("ind_id", ["44", "45"])
def test_hunan_44_45_never_exceed_15(kb: KnowledgeBase, ind_id: str) -> None:
    hunan = kb.framework("hunan")
    ind = hunan.indicator(ind_id)
    assert ind.points == 15 and ind.rule is not None and ind.rule.cap_note
    choices = [f.options if f.type == "choice" else (True, False) for f in ind.facts]
    capped = 0
    for combo in itertools.product(*choices):
        result = score_indicator(ind, {f.id: v for f, v in zip(ind.facts, combo, strict=True)})
        assert 0 <= result.score <= 15
        if sum(p.score for p in result.parts) > 15:
            capped += 1
            assert result.score == 15
            assert "累计不超过15分，按15分计" in result.reason
            assert ind.rule.cap_note.rstrip("。") in result.reason
    assert capped


def test_any_veto_disqualifies(kb: KnowledgeBase) -> None:
    for fw in points_frameworks(kb):
        best = best_answers(fw)
        vetoes = [
            (ind, p)
            for ind in fw.indicators.values()
            if ind.rule
            for p in walk(ind.rule.parts)
            if isinstance(p, VetoPart)
        ]
        assert vetoes, fw.id
        for ind, veto in vetoes:
            facts = {f.id: f for f in ind.facts}
            for fact_id in veto.facts():
                if facts[fact_id].type != "bool":
                    continue
                answers: dict[str, Any] = {**best, fact_id: True}
                result = score_framework(fw, answers)
                assert result.disqualified, (fw.id, fact_id)
                assert result.total == FULL_MARKS.get(fw.id, result.total)
                assert all("取消申报资格" in reason for reason in result.vetoes)
                assert result.passed in (None, False)
            triggered = score_framework(fw, {**best, **satisfy(veto.when, True, facts)})
            assert triggered.disqualified


def test_checklists_complete_with_best_answers(kb: KnowledgeBase) -> None:
    for fw in kb.frameworks.values():
        if fw.scoring != "checklist":
            continue
        result = score_framework(fw, best_answers(fw), today=date(2030, 1, 1))
        assert result.checklist is not None and result.checklist.total > 0
        assert result.checklist.done == result.checklist.total
        assert not result.checklist.overdue
        empty = score_framework(fw, {}, today=date(2030, 1, 1))
        assert empty.checklist is not None and empty.checklist.done == 0
        due = [
            e.key
            for e in empty.checklist.entries
            if e.deadline is not None and e.deadline < date(2030, 1, 1)
        ]
        assert [e.key for e in empty.checklist.overdue] == due


def test_department_shares_add_up(kb: KnowledgeBase) -> None:
    from knowledge.responsibility import Responsibility

    plan = kb.plan("linzi")
    fw = kb.framework(plan.framework)
    responsible = Responsibility(kb, plan)

    def units(ind_id: str) -> tuple[str, ...]:
        return responsible.departments(fw.indicators[ind_id])

    best = best_answers(fw)
    whole = score_framework(fw, best, plan=plan, units_for=units)
    for dept in responsible.by_department:
        mine = score_framework(fw, best, plan=plan, units_for=units, department=dept)
        assert mine.department is not None
        assert mine.department.score == mine.department.max
        assert 0 <= mine.department.share <= 1
        assert {s.indicator for s in mine.indicators} <= {s.indicator for s in whole.indicators}


def _random_answers(fw: Framework) -> st.SearchStrategy[dict[str, Any]]:
    strategies: dict[str, st.SearchStrategy[Any]] = {}
    for fact in framework_facts(fw).values():
        if fact.type == "bool":
            strategies[fact.id] = st.booleans()
        elif fact.type == "choice":
            strategies[fact.id] = st.sampled_from(fact.options)
        elif fact.type == "count":
            strategies[fact.id] = st.integers(0, 50)
        elif fact.numeric:
            low = fact.lower if fact.lower is not None else -1000
            high = fact.upper if fact.upper is not None else 100_000
            strategies[fact.id] = st.floats(low, high, allow_nan=False)
    return st.fixed_dictionaries({}, optional=strategies)


@pytest.mark.parametrize("fw_id", sorted(FULL_MARKS))
def test_random_answers_stay_within_points(kb: KnowledgeBase, fw_id: str) -> None:
    fw = kb.framework(fw_id)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_random_answers(fw))
    def check(answers: dict[str, Any]) -> None:
        result = score_framework(fw, answers)
        assert 0 <= result.total <= FULL_MARKS[fw_id]
        for score in result.indicators:
            ind = fw.indicators[score.indicator]
            assert 0 <= score.score <= max(ind.points, 0)
        assert sum(g.points for g in result.gaps if g.indicator == "44") <= 15

    check()
