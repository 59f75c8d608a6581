"""Who answers what: find the department a liaison names, and the indicators it self-assesses."""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from knowledge.departments import DepartmentIndex, clean
from knowledge.model import Department, Indicator
from knowledge.responsibility import Responsibility

OFFICE = "质量强县办"  # the leading group's office: also answers indicators only groups are named for
_FILLER = re.compile(r"(的|联络员|负责人|同志|工作人员|人员|这边|那边)+$")
_TRIM = " 。.!！~～,，;；:：、\"'“”"
MIN_FUZZY = 80


def find_departments(index: DepartmentIndex, text: str) -> tuple[str, ...]:
    """Department ids the words name: an alias, aliases inside the text, or close spellings."""
    name = _FILLER.sub("", clean(text).strip(_TRIM)).strip(_TRIM)
    if len(name) < 2:
        return ()
    found = index.resolve(name)
    if found:
        return found
    aliases = index.aliases()
    return (
        _contained(aliases, name)
        or _named(index, name)
        or _partial(aliases, name)
        or _close(aliases, name)
    )


def _contained(aliases: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """Aliases written inside the text (我们市场监管局 → 市场监管局), longest only."""
    inside = [key for key in aliases if len(key) >= 3 and key in name]
    longest = [k for k in inside if not any(k != other and k in other for other in inside)]
    return _owners(aliases, longest)


def _named(index: DepartmentIndex, name: str) -> tuple[str, ...]:
    """Departments whose id or full name contains the text (财政 → 财政局)."""
    return tuple(d.id for d in index.departments.values() if name in d.id or name in d.name)


def _partial(aliases: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """Aliases the text is part of (监管 → 市场监管局)."""
    return _owners(aliases, [key for key in aliases if name in key])


def _close(aliases: dict[str, list[str]], name: str) -> tuple[str, ...]:
    """Close spellings (市场监督局 → 市场监管局)."""
    hits = process.extract(name, list(aliases), scorer=fuzz.ratio, limit=5, score_cutoff=MIN_FUZZY)
    return _owners(aliases, [key for key, _, _ in hits])


def _owners(aliases: dict[str, list[str]], keys: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for key in keys:
        found.extend(d for d in aliases[key] if d not in found)
    return tuple(found)


def bind_problem(department: Department) -> str | None:
    """Why a liaison cannot bind to this department (None when they can)."""
    if department.kind == "province":
        return f"“{department.name}”是省直部门，由省里评分，不在本县自评范围。"
    if department.kind == "group" and department.id != OFFICE:
        return f"“{department.name}”是多个单位的统称，请绑定你所在的具体部门。"
    return None


def answerable(resp: Responsibility, department: str) -> list[Indicator]:
    """The indicators a department self-assesses: its own, and for the office the group-only ones."""
    mine = {ind.id for ind in resp.indicators_of(department)}
    if department == OFFICE:
        mine |= {ind.id for ind in resp.framework.indicators.values() if _groups_only(resp, ind)}
    return [ind for ind in resp.framework.indicators.values() if ind.id in mine]


def _groups_only(resp: Responsibility, indicator: Indicator) -> bool:
    ids = resp.departments(indicator)
    kinds = {resp.kb.departments[d].kind for d in ids if d in resp.kb.departments}
    return bool(ids) and kinds == {"group"}
