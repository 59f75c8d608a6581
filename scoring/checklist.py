"""Checklist systems (Henan items, Jinan tasks): completion per task, per item, overall, overdue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from knowledge.rules import Fact
from scoring.answers import coerce
from scoring.results import ChecklistEntry, ChecklistItem, ChecklistReport

if TYPE_CHECKING:
    from knowledge.model import Framework, Indicator

UNSCORED_KINDS = ("bonus", "veto", "rejection")


def entries_of(indicator: Indicator) -> list[tuple[str, str, str]]:
    """(key, task text, units) per task: "<id>.<n>" over the item's tasks, or "<id>" for one task."""
    tasks: list[tuple[str, str]] = []
    listed = any(line.tasks for line in indicator.lines)  # an empty 工作任务 cell is no task then
    for line in indicator.lines:
        own = line.tasks or (() if listed else (line.content,))
        tasks.extend((task, line.units) for task in own)
    if not tasks:
        units = "、".join(u for u in (indicator.lead, indicator.support) if u)
        return [(indicator.id, indicator.title, units)]
    return [(f"{indicator.id}.{n}", text, units) for n, (text, units) in enumerate(tasks, 1)]


def checklist_indicators(framework: Framework) -> list[Indicator]:
    """The framework's checklist entries' indicators (not the bonus or veto items)."""
    return [ind for ind in framework.indicators.values() if ind.kind not in UNSCORED_KINDS]


def checklist_facts(framework: Framework) -> dict[str, Fact]:
    """Implicit facts: "<key>" (bool, done) and "<key>.date" (date done) per checklist entry."""
    facts: dict[str, Fact] = {}
    for ind in checklist_indicators(framework):
        for key, text, _ in entries_of(ind):
            facts[key] = Fact(id=key, type="bool", question=f"{text}——是否已完成？")
            facts[f"{key}.date"] = Fact(id=f"{key}.date", type="date", question="完成日期")
    return facts


def checklist_report(
    framework: Framework,
    answers: Mapping[str, object],
    today: date | None = None,
    keep: Callable[[str], bool] | None = None,
) -> ChecklistReport:
    """Completion of every entry (overdue when the deadline is before today and not done)."""
    facts = checklist_facts(framework)
    entries: list[ChecklistEntry] = []
    items: list[ChecklistItem] = []
    for ind in checklist_indicators(framework):
        if keep is not None and not keep(ind.id):
            continue
        mine = [
            _entry(ind, key, text, units, facts, answers, today)
            for key, text, units in entries_of(ind)
        ]
        entries.extend(mine)
        items.append(ChecklistItem(ind.id, ind.label, sum(e.done is True for e in mine), len(mine)))
    done = sum(e.done is True for e in entries)
    percent = round(100.0 * done / len(entries), 1) if entries else 0.0
    overdue = tuple(e for e in entries if e.overdue)
    return ChecklistReport(tuple(entries), tuple(items), done, len(entries), percent, overdue)


def _entry(
    ind: Indicator,
    key: str,
    text: str,
    units: str,
    facts: Mapping[str, Fact],
    answers: Mapping[str, object],
    today: date | None,
) -> ChecklistEntry:
    raw_done, raw_date = answers.get(key), answers.get(f"{key}.date")
    done = None if raw_done is None else bool(coerce(facts[key], raw_done))
    when = None if raw_date is None else str(coerce(facts[f"{key}.date"], raw_date))
    if done is None and when is not None:
        done = True  # a completion date alone means done
    deadline = ind.editorial.deadline_date
    overdue = bool(deadline and today and deadline < today and done is not True)
    late = bool(deadline and when and done and when > deadline.isoformat()[: len(when)])
    return ChecklistEntry(key, ind.id, text, units, done, when, deadline, overdue, late)
