"""功效系数法 bounds: x满意 and x不允许 of an efficacy measure, checked against its direction.

The coefficient itself, d = 60 + 40 × (x − x不允许) / (x满意 − x不允许), is computed by scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = ("higher", "lower")


@dataclass(frozen=True)
class Bounds:
    """x满意 (satisfied) and x不允许 (allowed) for one efficacy measure."""

    satisfied: float
    allowed: float
    stated: bool = False  # True when the evaluation document itself states them
    note: str = ""
    official: bool = False  # set by the county's office (/bounds, qcbot score --bounds FILE)
    set_by: str = ""  # who set official bounds
    set_at: str = ""  # when (ISO UTC), "" for a file

    def check(self, direction: str = "higher") -> str | None:
        """A Chinese problem description when the bounds don't fit the direction, else None."""
        if direction not in DIRECTIONS:
            return "方向应为 higher 或 lower"
        if direction == "higher" and self.satisfied <= self.allowed:
            return "x满意应高于x不允许（越高越好）"
        if direction == "lower" and self.satisfied >= self.allowed:
            return "x满意应低于x不允许（越低越好）"
        return None
