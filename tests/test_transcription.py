"""The knowledge files are a faithful transcription of the seed documents."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from knowledge.model import Framework, KnowledgeBase, Plan
from knowledge.responsibility import Responsibility
from tests.helpers import SEEDS_DIR, seed_text

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    return _WS.sub("", text)


def framework_fields(fw: Framework) -> Iterator[tuple[str, str]]:
    """(path, text) for every verbatim field of a framework."""
    yield "name", fw.name
    for i, level in enumerate(fw.levels):
        yield f"levels[{i}].name", level.name
        for j, child in enumerate(level.children):
            yield f"levels[{i}].children[{j}].name", child.name
    for clause in fw.clauses.values():
        yield f"clauses[{clause.id}].title", clause.title
        for k, line in enumerate(clause.text.splitlines()):
            yield f"clauses[{clause.id}].text[{k}]", line
    for ind in fw.indicators.values():
        where = f"indicators[{ind.id}]"
        yield f"{where}.title", ind.title
        for k, line in enumerate(ind.criteria.splitlines()):
            yield f"{where}.criteria[{k}]", line
        for name in ("data_source", "acceptance", "lead", "support", "deadline", "level1", "level2"):
            value = getattr(ind, name)
            if value:
                yield f"{where}.{name}", value
        for k, line in enumerate(ind.lines):
            yield f"{where}.lines[{k}].content", line.content
            yield f"{where}.lines[{k}].units", line.units
            for t, task in enumerate(line.tasks):
                yield f"{where}.lines[{k}].tasks[{t}]", task
    for target in fw.targets:
        yield f"targets[{target.table}].table", target.table
        yield f"targets[{target.table}][{target.no}]", target.text


def plan_fields(plan: Plan) -> Iterator[tuple[str, str]]:
    """(path, text) for every verbatim field of a plan."""
    for name in ("name", "county", "issuer", "doc_no", "date_text", "slogan"):
        value = getattr(plan, name)
        if value:
            yield name, value
    for i, goal in enumerate(plan.goals):
        yield f"goals[{i}]", goal
    group = plan.leading_group
    if group:
        for name in ("name", "leader", "office"):
            if getattr(group, name):
                yield f"leading_group.{name}", getattr(group, name)
        for i, member in enumerate((*group.deputies, *group.members)):
            yield f"leading_group.people[{i}]", member
    for i, phase in enumerate(plan.phases):
        for name in ("name", "period", "text"):
            for k, line in enumerate(getattr(phase, name).splitlines()):
                yield f"phases[{i}].{name}[{k}]", line
    for deadline in plan.deadlines:
        yield f"deadlines[{deadline.id}].text", deadline.text
    for ind_id, units in plan.responsible.items():
        for unit in units:
            yield f"responsible.{ind_id}", unit
    for row in plan.rows:
        for unit in row.responsible:
            yield f"rows[{row.row}].responsible", unit
        if row.level2:
            yield f"rows[{row.row}].level2", row.level2


def missing(fields: Iterator[tuple[str, str]], seed: str) -> list[str]:
    body = squash(seed)
    return [f"{path}: {text[:40]}" for path, text in fields if squash(text) not in body]


def test_seeds_are_present() -> None:
    assert SEEDS_DIR.is_dir(), f"找不到源文件目录 {SEEDS_DIR}"


@pytest.mark.parametrize("fw_id", ["shandong", "hunan", "henan", "jinan"])
def test_framework_fields_are_verbatim(kb: KnowledgeBase, fw_id: str) -> None:
    fw = kb.frameworks[fw_id]
    assert missing(framework_fields(fw), seed_text(fw.source)) == []


@pytest.mark.parametrize("plan_id", ["linzi", "pingyin", "minquan", "jinan"])
def test_plan_fields_are_verbatim(kb: KnowledgeBase, plan_id: str) -> None:
    plan = kb.plans[plan_id]
    assert missing(plan_fields(plan), seed_text(plan.source)) == []


def test_application_form_questions_are_verbatim(kb: KnowledgeBase) -> None:
    form = seed_text("000")
    questions = (
        (f"{fw.id}.{ind.id}.{fact.id}", fact.question)
        for fw in kb.frameworks.values()
        for ind in fw.indicators.values()
        for fact in ind.facts
        if fact.question_verbatim
    )
    assert missing(questions, form) == []


def test_glossary_verbatim_definitions(kb: KnowledgeBase) -> None:
    bad = [
        t.term
        for t in kb.glossary
        if t.verbatim and squash(t.definition) not in squash(seed_text(t.source or ""))
    ]
    assert bad == []


def test_shandong_structure(kb: KnowledgeBase) -> None:
    fw = kb.frameworks["shandong"]
    scored = [i for i in fw.indicators.values() if i.kind == "indicator"]
    assert [i.id for i in scored] == [str(n) for n in range(1, 44)]
    assert fw.indicators["0"].kind == "veto"
    assert len(fw.levels) == 4
    assert sum(len(lv.children) for lv in fw.levels) == 15
    assert [lv.points for lv in fw.levels] == [12, 15, 31, 42]
    assert sum(i.points for i in scored) == fw.total_points == 100
    for level in fw.levels:
        for child in level.children:
            assert child.points == sum(i.points for i in scored if i.level2 == child.name), child.name


def test_shandong_county_and_provincial_split(kb: KnowledgeBase) -> None:
    scored = kb.frameworks["shandong"].scored_indicators
    provincial = [i for i in scored if not i.county_supplied]
    assert all(i.data_source for i in scored)
    assert (len(provincial), sum(i.points for i in provincial)) == (15, 34)


def test_pingyin_rows(kb: KnowledgeBase) -> None:
    plan = kb.plans["pingyin"]
    assert len(plan.rows) == 27
    assert sum(r.points for r in plan.rows) == 64
    assert plan.row_to_indicator("16") == "17"
    fw = kb.frameworks["shandong"]
    outside = [i for i in fw.scored_indicators if i.id not in {r.indicator for r in plan.rows}]
    assert (len(outside), sum(i.points for i in outside)) == (16, 36)
    for row in plan.rows:
        assert row.points == fw.indicators[row.indicator].points, row.row


def test_hunan_structure(kb: KnowledgeBase) -> None:
    fw = kb.frameworks["hunan"]
    rows = [i for i in fw.indicators.values() if i.kind == "indicator"]
    assert [i.id for i in rows] == [str(n) for n in range(1, 51)]
    assert sum(i.points for i in rows) == fw.total_points == 1060
    assert fw.pass_line == 800
    assert fw.indicators["0"].kind == "rejection"
    assert [fw.indicators[i].points for i in ("48", "49", "50")] == [20, 20, 20]
    assert all(i.clause for i in rows)


def test_henan_and_jinan_counts(kb: KnowledgeBase) -> None:
    henan = kb.frameworks["henan"]
    assert [i.id for i in henan.indicators.values()] == [str(n) for n in range(1, 22)]
    assert henan.indicators["21"].kind == "bonus" and henan.indicators["21"].points > 0
    jinan = kb.frameworks["jinan"]
    assert [i.id for i in jinan.indicators.values()] == [str(n) for n in range(1, 133)]
    assert all(t.lead for t in jinan.indicators.values())
    # tasks 7 and 81 are shifted rows whose 完成时限 cell is empty in the seed
    assert [t.id for t in jinan.indicators.values() if not t.deadline] == ["7", "81"]


def test_every_indicator_has_criteria(kb: KnowledgeBase) -> None:
    empty = [f"{fw.id}.{i.id}" for fw in kb.frameworks.values() for i in fw.indicators.values() if not i.criteria.strip()]
    assert empty == []


@pytest.mark.parametrize("plan_id", ["linzi", "pingyin", "minquan", "jinan"])
def test_covered_indicators_have_departments(kb: KnowledgeBase, plan_id: str) -> None:
    plan = kb.plans[plan_id]
    resp = Responsibility(kb, plan)
    fw = kb.frameworks[plan.framework]
    covered = {r.indicator for r in plan.rows} if plan.rows else set(fw.indicators)
    lacking = [i for i in sorted(covered, key=int) if not resp.departments(fw.indicators[i])]
    assert lacking == []


def test_scored_indicators_have_rules(kb: KnowledgeBase) -> None:
    lacking = [
        f"{fw.id}.{i.id}"
        for fw in kb.frameworks.values()
        for i in fw.indicators.values()
        if (i.scored or i.kind in ("veto", "rejection")) and i.rule is None
    ]
    assert lacking == []
