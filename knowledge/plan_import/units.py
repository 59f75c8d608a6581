"""A row's 牵头/配合/责任单位 cells → unit strings, each resolved through departments.yaml's aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.departments import DepartmentIndex

_SEPARATORS = re.compile(r"[、，,/／；;\n]+")
_ROLE_MARK = re.compile(r"^(牵头(单位|部门)?|配合(单位|部门)?|责任(单位|部门)?|协办(单位|部门)?)[:：]?")
_ROLE_NOTE = re.compile(r"[（(](牵头|配合|主责|协办)[）)]$")
_COUNTY_SUFFIX = re.compile(r"(自治县|县|区|市|旗)$")


@dataclass(frozen=True)
class Unit:
    """One unit as the table writes it, the spelling the plan keeps, and its departments (empty: unknown)."""

    text: str
    kept: str
    departments: tuple[str, ...]
    lead: bool


class UnitReader:
    """Splits unit cells and resolves each unit, allowing for the county's own name as a prefix."""

    def __init__(self, index: DepartmentIndex, county: str) -> None:
        self.index = index
        short = _COUNTY_SUFFIX.sub("", county)
        suffix = county[len(short):] or "县"
        # 高青县市场监管局 → 县市场监管局 (which the aliases know); 高青市场监管局 → 市场监管局
        self.prefixes = [(county, suffix), (short, "")] if short and short != county else [(county, "")]

    def units(self, lead: str, support: str, units: str) -> list[Unit]:
        """Every unit of a row: 牵头 first, then 配合, then a combined 责任单位 cell (its first unit leads)."""
        has_lead = bool(split(lead))
        out: list[Unit] = []
        for cell, role in ((lead, "lead"), (support, "support"), (units, "units")):
            for n, part in enumerate(split(cell)):
                mark = _ROLE_NOTE.search(part)
                marked = mark is not None and mark.group(1) in ("牵头", "主责")
                is_lead = role == "lead" or (role == "units" and not has_lead and (n == 0 or marked))
                for unit in self._read(_ROLE_NOTE.sub("", part), is_lead):
                    if all(u.text != unit.text for u in out):
                        out.append(unit)
        return out

    def _read(self, text: str, lead: bool) -> list[Unit]:
        """A unit, or the units of a cell that separates them with spaces only."""
        unit = self.resolve(text, lead)
        words = text.split()
        if unit.departments or len(words) < 2:
            return [unit]
        return [self.resolve(w, lead) for w in words]

    def resolve(self, text: str, lead: bool = False) -> Unit:
        """One unit: kept verbatim when the aliases know it, else without the county's name, else unknown."""
        found = self.index.resolve(text)
        if found:
            return Unit(text, text, found, lead)
        for prefix, replacement in self.prefixes:
            if text.startswith(prefix) and len(text) > len(prefix):
                kept = replacement + text[len(prefix):]
                found = self.index.resolve(kept)
                if found:
                    return Unit(text, kept, found, lead)
        return Unit(text, text, (), lead)


def split(cell: str) -> list[str]:
    """A unit cell split on 、，/ ; and line breaks, role labels (牵头：) removed."""
    parts = [_ROLE_MARK.sub("", p.strip()).strip() for p in _SEPARATORS.split(cell)]
    return [p for p in parts if p]
