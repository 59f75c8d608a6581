"""功效系数法: d = 60 + 40 × (x − x不允许) / (x满意 − x不允许), clipped to [60, 100]."""

from __future__ import annotations

from knowledge.rules.efficacy import Bounds
from scoring.errors import ScoringError


def coefficient(x: float, satisfied: float, allowed: float, direction: str = "higher") -> float:
    """The efficacy coefficient d of x, in [60, 100]; lower-is-better mirrors the scale."""
    problem = Bounds(satisfied, allowed).check(direction)
    if problem is not None:
        raise ScoringError(problem)
    d = 60.0 + 40.0 * (x - allowed) / (satisfied - allowed)
    return min(100.0, max(60.0, d))
