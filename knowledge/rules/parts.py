"""The parts of a rule, one frozen dataclass per scoring method (see knowledge/SCHEMA.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from knowledge.rules.conditions import Condition, facts_used
from knowledge.rules.efficacy import Bounds

EPS = 1e-9


@dataclass(frozen=True, kw_only=True)
class PartBase:
    """What every part has: an id unique in the rule, a label, the action that earns its points."""

    method: ClassVar[str] = ""
    id: str
    label: str
    action: str
    na_when: str | None = None

    @property
    def max_points(self) -> float:
        """The most this part can score."""
        return 0.0

    def facts(self) -> tuple[str, ...]:
        """The fact ids this part reads (not counting na_when)."""
        return ()


@dataclass(frozen=True, kw_only=True)
class BoolPart(PartBase):
    """points when the bool fact is 是 (or the condition holds), else 0."""

    method: ClassVar[str] = "bool"
    points: float
    fact: str | None = None
    when: Condition | None = None

    @property
    def max_points(self) -> float:
        return self.points

    def facts(self) -> tuple[str, ...]:
        if self.when is not None:
            return facts_used(self.when)
        return (self.fact,) if self.fact else ()


@dataclass(frozen=True, kw_only=True)
class ChoicePart(PartBase):
    """The chosen option's points (options not listed score 0)."""

    method: ClassVar[str] = "choice"
    fact: str
    scores: tuple[tuple[str, float], ...]

    @property
    def max_points(self) -> float:
        return max(points for _, points in self.scores)

    def facts(self) -> tuple[str, ...]:
        return (self.fact,)

    def score_of(self, option: str) -> float:
        """Points for one option."""
        return dict(self.scores).get(option, 0.0)

    @property
    def best(self) -> str:
        """The option with the most points (the first one on ties)."""
        return max(self.scores, key=lambda item: item[1])[0]


@dataclass(frozen=True)
class Tier:
    """A threshold and the points for reaching it."""

    bound: float
    points: float


@dataclass(frozen=True, kw_only=True)
class TiersPart(PartBase):
    """The first tier met (x ≥ min, or x ≤ max when lower is better), else 0."""

    method: ClassVar[str] = "tiers"
    fact: str
    tiers: tuple[Tier, ...]
    lower_is_better: bool = False

    @property
    def max_points(self) -> float:
        return self.tiers[0].points

    def facts(self) -> tuple[str, ...]:
        return (self.fact,)

    def met(self, tier: Tier, x: float) -> bool:
        """True when x reaches the tier."""
        return x <= tier.bound + EPS if self.lower_is_better else x >= tier.bound - EPS


@dataclass(frozen=True, kw_only=True)
class PerUnitPart(PartBase):
    """each × count, at most cap."""

    method: ClassVar[str] = "per_unit"
    fact: str
    each: float
    cap: float

    @property
    def max_points(self) -> float:
        return self.cap

    def facts(self) -> tuple[str, ...]:
        return (self.fact,)


@dataclass(frozen=True)
class DeductItem:
    """One required item of a deduct part: a bool fact and the item's short name."""

    fact: str
    label: str


@dataclass(frozen=True, kw_only=True)
class DeductPart(PartBase):
    """points − each × items missing, floored at 0."""

    method: ClassVar[str] = "deduct"
    items: tuple[DeductItem, ...]
    each: float
    points: float

    @property
    def max_points(self) -> float:
        return self.points

    def facts(self) -> tuple[str, ...]:
        return tuple(item.fact for item in self.items)


@dataclass(frozen=True)
class Case:
    """A condition and the points when it is the first to hold."""

    when: Condition
    points: float
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class CasesPart(PartBase):
    """The first case whose condition holds, else 0."""

    method: ClassVar[str] = "cases"
    cases: tuple[Case, ...]

    @property
    def max_points(self) -> float:
        return max(case.points for case in self.cases)

    def facts(self) -> tuple[str, ...]:
        out: list[str] = []
        for case in self.cases:
            out.extend(f for f in facts_used(case.when) if f not in out)
        return tuple(out)


@dataclass(frozen=True)
class Measure:
    """x of an efficacy term: Σ weight × fact value (one fact with weight 1 in the simple form)."""

    terms: tuple[tuple[str, float], ...]

    def facts(self) -> tuple[str, ...]:
        """The fact ids summed."""
        return tuple(fact for fact, _ in self.terms)


@dataclass(frozen=True)
class Gate:
    """Below min (or above max when lower is better) the term scores 0."""

    bound: float
    lower_is_better: bool = False

    def passes(self, x: float) -> bool:
        """True when x gets through the gate."""
        return x <= self.bound + EPS if self.lower_is_better else x >= self.bound - EPS


@dataclass(frozen=True)
class EfficacyTerm:
    """One measure scored by 功效系数法, with its weight in the part."""

    weight: float
    measure: Measure
    bounds: Bounds
    direction: str = "higher"
    gate: Gate | None = None
    label: str = ""
    bounds_note: str = ""  # why these bounds (shown on request, not in every reason)


@dataclass(frozen=True, kw_only=True)
class EfficacyPart(PartBase):
    """points × Σ(weight × d) / 100 (a single term of weight 1 in the `measure` form)."""

    method: ClassVar[str] = "efficacy"
    points: float
    terms: tuple[EfficacyTerm, ...]
    weighted: bool = False  # True for the `terms` form

    @property
    def max_points(self) -> float:
        return self.points

    def facts(self) -> tuple[str, ...]:
        out: list[str] = []
        for term in self.terms:
            out.extend(f for f in term.measure.facts() if f not in out)
        return tuple(out)


@dataclass(frozen=True, kw_only=True)
class StepDownPart(PartBase):
    """Full points at ≥ full_at, minus each per step below (steps rounded up), floored at 0."""

    method: ClassVar[str] = "step_down"
    fact: str
    points: float
    full_at: float
    step: float
    each: float
    rounding: str = "ceil"  # ceil | floor

    @property
    def max_points(self) -> float:
        return self.points

    def facts(self) -> tuple[str, ...]:
        return (self.fact,)


@dataclass(frozen=True, kw_only=True)
class GroupPart(PartBase):
    """The sum of sub-parts, at most cap."""

    method: ClassVar[str] = "group"
    parts: tuple[Part, ...]
    cap: float | None = None

    @property
    def raw_max(self) -> float:
        """Σ of the sub-parts' maxima before the group cap."""
        return sum(part.max_points for part in self.parts)

    @property
    def max_points(self) -> float:
        return self.raw_max if self.cap is None else min(self.cap, self.raw_max)

    def facts(self) -> tuple[str, ...]:
        out: list[str] = []
        for part in self.parts:
            out.extend(f for f in part.facts() if f not in out)
        return tuple(out)


@dataclass(frozen=True, kw_only=True)
class VetoPart(PartBase):
    """Disqualifies the whole evaluation when the condition holds (一票否决 / 不予受理)."""

    method: ClassVar[str] = "veto"
    when: Condition

    def facts(self) -> tuple[str, ...]:
        return facts_used(self.when)


Part = (
    BoolPart
    | ChoicePart
    | TiersPart
    | PerUnitPart
    | DeductPart
    | CasesPart
    | EfficacyPart
    | StepDownPart
    | GroupPart
    | VetoPart
)


def walk(parts: tuple[Part, ...]) -> Iterator[Part]:
    """Every part, groups before their sub-parts, in document order."""
    for part in parts:
        yield part
        if isinstance(part, GroupPart):
            yield from walk(part.parts)
