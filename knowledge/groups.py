"""A plan's 领导小组 and 创建工作专班 as lists of people, to answer “专班里统计局的成员是谁”.

The plan files keep both bodies (`leading_group`, `task_force`) as verbatim lines “姓名    职务”;
this module reads them from the plan YAML itself (the knowledge model keeps only the leading group)
and finds the lines whose 职务 names a department.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.text import normalize

PLANS_DIR = Path(__file__).parent / "data" / "plans"
BODIES = (("leading_group", "领导小组"), ("task_force", "创建工作专班"))


@dataclass(frozen=True)
class Body:
    """One body of a plan (领导小组 or 专班): its name and its people, each “姓名 职务”."""

    key: str
    label: str
    name: str
    people: tuple[tuple[str, str], ...]  # (role in the body, "姓名 职务")

    def of_department(self, department: str, named: Callable[[str], list[str]]) -> list[tuple[str, str]]:
        """The people whose 职务 names the department (`named` lists the departments a text names)."""
        return [(role, person) for role, person in self.people if department in named(normalize(person))]


def load_bodies(directory: Path = PLANS_DIR) -> dict[str, list[Body]]:
    """Every plan's bodies by plan id; a plan without them has an empty list."""
    out: dict[str, list[Body]] = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and raw.get("id"):
            out[str(raw["id"])] = [b for key, label in BODIES if (b := _body(key, label, raw.get(key))) is not None]
    return out


def _body(key: str, label: str, raw: Any) -> Body | None:
    if not isinstance(raw, dict):
        return None
    people: list[tuple[str, str]] = []
    roles = (("leader", "组长" if key == "leading_group" else "召集人"), ("deputies", "副组长" if key == "leading_group" else "副召集人"), ("members", "成员"))
    for field, role in roles:
        value = raw.get(field) or []
        for line in [value] if isinstance(value, str) else value:
            people.append((role, " ".join(str(line).split())))
    return Body(key, label, normalize(str(raw.get("name") or label)), tuple(people)) if people else None
