"""Resolve the many spellings of a department to its canonical id."""

from __future__ import annotations

import re
from collections.abc import Mapping

from knowledge.model import Department

_PLACE = re.compile(r"^(济南市|济南|淄博市|临淄区|临淄|平阴县|平阴|民权县|民权|商丘市|县|区|市)+")
_NOTE = re.compile(r"[（(][^）)]*[）)]$|等+$")
_SEPARATORS = re.compile(r"[、，,；;]+")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """A unit string without whitespace or a trailing parenthetical note."""
    return _NOTE.sub("", _SPACE.sub("", text))


class DepartmentIndex:
    """Alias table over departments.yaml: a unit string → canonical department ids."""

    def __init__(self, departments: Mapping[str, Department]) -> None:
        self.departments = departments
        self._owners: dict[str, list[str]] = {}
        for dept in departments.values():
            for alias in (dept.id, dept.name, *dept.aliases):
                key = clean(alias)
                for form in {key, _PLACE.sub("", key)}:
                    owners = self._owners.setdefault(form, [])
                    if form and dept.id not in owners:
                        owners.append(dept.id)

    def resolve(self, unit: str) -> tuple[str, ...]:
        """Canonical ids for one unit string; empty when unknown."""
        key = clean(unit)
        for form in (key, _PLACE.sub("", key)):
            if form in self._owners:
                return tuple(self._owners[form])
        return ()

    def resolve_cell(self, cell: str) -> tuple[str, ...]:
        """Canonical ids for a table cell that may list several units."""
        found: list[str] = []
        for unit in split_units(cell):
            ids = self.resolve(unit) or tuple(
                d for part in _SPACE.split(unit.strip()) for d in self.resolve(part)
            )
            found.extend(d for d in ids if d not in found)
        return tuple(found)

    def aliases(self) -> dict[str, list[str]]:
        """Every known spelling (without whitespace) with the departments it names."""
        return self._owners


def split_units(cell: str) -> list[str]:
    """Split a 责任单位 cell into unit strings (on 、，；)."""
    return [part.strip() for part in _SEPARATORS.split(cell) if part.strip()]
