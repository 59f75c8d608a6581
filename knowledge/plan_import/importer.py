"""A county's task table → its rows placed on the framework's indicators, with their departments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from knowledge.departments import DepartmentIndex
from knowledge.library import Library
from knowledge.model import Deadline, Framework, Indicator
from knowledge.plan_import.columns import TaskRow, task_rows
from knowledge.plan_import.errors import TableError
from knowledge.plan_import.placing import Placement, Placer
from knowledge.plan_import.tables import read_grids
from knowledge.plan_import.timing import DueRow, deadlines
from knowledge.plan_import.units import Unit, UnitReader

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_COUNTY_SUFFIX = re.compile(r"(自治县|县|区|市|旗)$")


@dataclass(frozen=True)
class ImportedRow:
    """One row of the table: where it was placed and its units."""

    placement: Placement
    units: tuple[Unit, ...]

    @property
    def row(self) -> TaskRow:
        """The table row."""
        return self.placement.row

    @property
    def written(self) -> bool:
        """True when the row goes into the plan file."""
        return self.placement.indicator is not None


@dataclass(frozen=True)
class PlanImport:
    """Everything an import found: the placed rows, what it could not place, and what nobody covers."""

    plan_id: str
    framework: Framework
    county: str
    source: str
    title: str
    rows: tuple[ImportedRow, ...]

    @cached_property
    def by_indicator(self) -> dict[str, list[ImportedRow]]:
        """Indicator id → the written rows placed on it, in table order."""
        out: dict[str, list[ImportedRow]] = {}
        for r in self.rows:
            if r.placement.indicator is not None:
                out.setdefault(r.placement.indicator.id, []).append(r)
        return out

    @property
    def unplaced(self) -> list[ImportedRow]:
        """Rows left out of the plan: no indicator could be trusted."""
        return [r for r in self.rows if not r.written]

    @property
    def review(self) -> list[ImportedRow]:
        """Rows written, but with a confidence the office should check."""
        return [r for r in self.rows if r.placement.needs_review]

    @property
    def duplicates(self) -> dict[str, list[ImportedRow]]:
        """Indicators two or more rows with different tasks were placed on (lines of one merged task are one)."""
        return {k: v for k, v in self.by_indicator.items() if len({r.row.title for r in v}) > 1}

    @property
    def uncovered(self) -> list[Indicator]:
        """Indicators of the framework that no written row covers."""
        return [i for i in self.framework.indicators.values() if i.id not in self.by_indicator]

    @cached_property
    def due(self) -> tuple[list[Deadline], dict[str, list[str]]]:
        """The plan's deadlines from the 完成时限 column (one per day), and the cells that name no day."""
        return deadlines(
            DueRow(r.row.deadline, r.row.label, r.placement.indicator.id if r.placement.indicator else None,
                   tuple(d for u in r.units for d in u.departments))
            for r in self.rows
        )

    @property
    def unknown_units(self) -> dict[str, list[ImportedRow]]:
        """Unit strings the department aliases do not know, with the rows naming them."""
        out: dict[str, list[ImportedRow]] = {}
        for r in self.rows:
            for unit in r.units:
                if not unit.departments:
                    out.setdefault(unit.text, []).append(r)
        return out


def import_table(
    path: Path, library: Library, framework: str, county: str, plan_id: str | None = None, plan: str | None = None
) -> PlanImport:
    """Read a county's 任务分解表 and place every row on `framework`'s indicators."""
    fw = library.kb.framework(framework)
    county = county.strip()
    if not county:
        raise TableError("请用 --county 给出县（市、区）名称，例如 --county 高青县")
    plan_id = plan_id or default_plan_id(county)
    if not _ID.fullmatch(plan_id):
        raise TableError(f"方案编号“{plan_id}”无效：只能用小写字母、数字和下划线，且以字母开头（用 --id 指定）")
    rows, title = task_rows(read_grids(path), path.name)
    scope_plan = plan or next((p.id for p in library.kb.plans.values() if p.framework == fw.id), None)
    placer = Placer(library, fw, scope_plan or next(iter(library.kb.plans)))
    reader = UnitReader(DepartmentIndex(library.kb.departments), county)
    imported = tuple(ImportedRow(placer.place(r), tuple(reader.units(r.lead, r.support, r.units))) for r in rows)
    return PlanImport(plan_id, fw, county, path.name, title, imported)


def default_plan_id(county: str) -> str:
    """The county's name in pinyin without its 县/区/市: 高青县 → gaoqing."""
    from pypinyin import lazy_pinyin

    short = _COUNTY_SUFFIX.sub("", county) or county
    letters = "".join(lazy_pinyin(short)).lower()
    return re.sub(r"[^a-z0-9_]", "", letters) or "county"
