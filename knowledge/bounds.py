"""The efficacy measures of a system (功效系数法 x满意 / x不允许) and the checks of bounds set for them.

A measure is one efficacy term: `17.b` (a part with one measure) or `10.a.2` (the 2nd term of a
weighted part). Whether its bounds may be negative follows from what it measures: a change or a
growth rate (a fact declared with a negative `min`, or with no lower limit) can fall below 0; a
share, a count or an amount cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knowledge.display import qty
from knowledge.rules import Bounds, EfficacyPart, EfficacyTerm, Fact, walk

if TYPE_CHECKING:
    from knowledge.model import Framework, Indicator


@dataclass(frozen=True)
class EfficacyMeasure:
    """One measure scored by 功效系数法: where it is, what it measures, its default bounds."""

    key: str  # "17.b", or "10.a.2" for the 2nd term of a weighted part
    indicator: str
    title: str  # the indicator's short label
    label: str  # the term's (or part's) label: 占比变动幅度
    direction: str  # higher | lower
    default: Bounds
    unit: str = ""
    lowest: float | None = None  # the smallest value x can take; None: no lower limit
    highest: float | None = None  # the largest; None: no upper limit

    @property
    def signed(self) -> bool:
        """True when x can be negative (a change or a growth rate): negative bounds allowed."""
        return self.lowest is None or self.lowest < 0

    @property
    def name(self) -> str:
        """第10项占比变动幅度."""
        return f"第{self.indicator}项{self.label}"


def efficacy_measures(framework: Framework) -> tuple[EfficacyMeasure, ...]:
    """Every efficacy measure of the system, in document order."""
    return tuple(m for ind in framework.indicators.values() for m in indicator_measures(ind))


def indicator_measures(indicator: Indicator) -> list[EfficacyMeasure]:
    """The efficacy measures of one indicator's rule, in rule order."""
    out: list[EfficacyMeasure] = []
    if indicator.rule is None:
        return out
    for part in walk(indicator.rule.parts):
        if isinstance(part, EfficacyPart):
            out.extend(term_measure(indicator, part, n) for n in range(len(part.terms)))
    return out


def term_measure(indicator: Indicator, part: EfficacyPart, index: int) -> EfficacyMeasure:
    """The measure of the index-th term (from 0) of an efficacy part of the indicator."""
    term = part.terms[index]
    facts = {fact.id: fact for fact in indicator.facts}
    key = f"{indicator.id}.{part.id}.{index + 1}" if part.weighted else f"{indicator.id}.{part.id}"
    lowest, highest = _range(term, facts)
    single = len(term.measure.terms) == 1 and term.measure.terms[0][1] == 1.0
    unit = facts[term.measure.terms[0][0]].shown_unit if single else ""
    return EfficacyMeasure(
        key=key,
        indicator=indicator.id,
        title=indicator.label,
        label=term.label or part.label or key,
        direction=term.direction,
        default=term.bounds,
        unit=unit,
        lowest=lowest,
        highest=highest,
    )


def _range(term: EfficacyTerm, facts: dict[str, Fact]) -> tuple[float | None, float | None]:
    """The smallest and largest x = Σ weight × fact, from the facts' declared limits."""
    low: float | None = 0.0
    high: float | None = 0.0
    for fact_id, weight in term.measure.terms:
        fact = facts[fact_id]
        lo, hi = (fact.lower, fact.upper) if weight >= 0 else (fact.upper, fact.lower)
        low = None if low is None or lo is None else low + weight * lo
        high = None if high is None or hi is None else high + weight * hi
    return low, high


def bounds_problem(measure: EfficacyMeasure, satisfied: float, allowed: float) -> str | None:
    """Why these 满意值/不允许值 cannot be this measure's bounds (Chinese), else None."""
    if satisfied == allowed:
        return "满意值和不允许值不能相同（两者之差是功效系数法的分母）"
    if measure.direction == "lower" and satisfied > allowed:
        return (
            f"{measure.name}越低越好：满意值应低于不允许值（x不大于满意值得满分、"
            f"不小于不允许值得60%），例如 满意 {qty(allowed, measure.unit)} 不允许 {qty(satisfied, measure.unit)}"
        )
    if measure.direction != "lower" and satisfied < allowed:
        return f"{measure.name}越高越好：满意值应高于不允许值"
    for word, value in (("满意值", satisfied), ("不允许值", allowed)):
        if value < 0 and not measure.signed:
            return (
                f"{measure.name}不会小于0，{word}不能为负数"
                "（只有变动幅度、增长率这类可为负的量才能取负值）"
            )
        if measure.lowest is not None and value < measure.lowest:
            return f"{measure.name}最低为{qty(measure.lowest, measure.unit)}，{word}不能更低"
        if measure.highest is not None and value > measure.highest:
            return f"{measure.name}最高为{qty(measure.highest, measure.unit)}，{word}不能更高"
    return None


def find_measures(measures: Sequence[EfficacyMeasure], key: str) -> list[EfficacyMeasure]:
    """The measures a key names: exactly (10.a.2), by part (10.a), or by indicator (10)."""
    exact = [m for m in measures if m.key == key]
    if exact:
        return exact
    return [m for m in measures if m.key.startswith(f"{key}.")]
