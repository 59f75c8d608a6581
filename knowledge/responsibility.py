"""Who is responsible for what in a plan: unit strings and canonical departments."""

from __future__ import annotations

from functools import cached_property

from knowledge.departments import DepartmentIndex, split_units
from knowledge.model import Framework, Indicator, KnowledgeBase, Plan


class Responsibility:
    """The responsible units of one plan, resolved to departments."""

    def __init__(self, kb: KnowledgeBase, plan: Plan, index: DepartmentIndex | None = None) -> None:
        self.kb = kb
        self.plan = plan
        self.framework: Framework = kb.frameworks[plan.framework]
        self.index = index if index is not None else DepartmentIndex(kb.departments)  # share one across plans

    def units(self, indicator: Indicator) -> list[str]:
        """The plan's verbatim unit strings for an indicator (lead first for Jinan tasks)."""
        if not self.plan.responsible_from_framework:
            return list(self.plan.responsible.get(indicator.id, ()))
        cells = [indicator.lead or "", indicator.support or ""]
        cells += [line.units for line in indicator.lines]
        units: list[str] = []
        for cell in cells:
            units.extend(u for u in split_units(cell) if u not in units)
        return units

    def departments(self, indicator: Indicator) -> tuple[str, ...]:
        """Canonical department ids responsible for an indicator in this plan."""
        found: list[str] = []
        for unit in self.units(indicator):
            found.extend(d for d in self.index.resolve_cell(unit) if d not in found)
        return tuple(found)

    @cached_property
    def by_department(self) -> dict[str, list[str]]:
        """Department id → indicator ids it is named for, in document order."""
        out: dict[str, list[str]] = {}
        for ind in self.framework.indicators.values():
            for dept in self.departments(ind):
                out.setdefault(dept, []).append(ind.id)
        return out

    def indicators_of(self, dept_id: str) -> list[Indicator]:
        """The indicators a department is named for in this plan."""
        return [self.framework.indicators[i] for i in self.by_department.get(dept_id, [])]

    def covered(self, indicator: Indicator) -> bool:
        """True when the plan names someone for this indicator."""
        return bool(self.units(indicator))
