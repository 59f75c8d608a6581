"""Sample answers built from the rules themselves: the best possible county, and blank templates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from knowledge.rules import (
    AllOf,
    BoolPart,
    Bounds,
    CasesPart,
    ChoicePart,
    Compare,
    Condition,
    DeductPart,
    EfficacyPart,
    Fact,
    FactIs,
    GroupPart,
    Not,
    OneOf,
    Part,
    PerUnitPart,
    StepDownPart,
    TiersPart,
    Value,
    VetoPart,
)
from scoring.checklist import checklist_facts
from scoring.engine import efficacy_bounds, framework_facts, score_indicator

if TYPE_CHECKING:
    from knowledge.model import Framework, Indicator, Plan

_NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}


def answer_template(framework: Framework) -> dict[str, None]:
    """Every fact id of the framework with no answer yet (for a fill-in template)."""
    return dict.fromkeys(framework_facts(framework))


def best_answers(
    framework: Framework, *, plan: Plan | None = None, bounds: Mapping[str, Bounds] | None = None
) -> dict[str, Value]:
    """Answers that earn every point: best options, enough counts, efficacy at x满意, no veto."""
    merged = efficacy_bounds(framework, plan, bounds)
    out: dict[str, Value] = {}
    for ind in framework.indicators.values():
        if ind.rule is None:
            continue
        facts = {fact.id: fact for fact in ind.facts}
        local = {k.split(".", 1)[1]: v for k, v in merged.items() if k.split(".", 1)[0] == ind.id}
        if ind.rule.na_when:
            out.setdefault(ind.rule.na_when, False)
        for part in ind.rule.parts:
            _best_part(part, facts, local, out)
        _raw_figures(facts, out)
        _fill(ind, merged, out)
    if framework.scoring == "checklist":
        out.update(
            {key: True for key, fact in checklist_facts(framework).items() if fact.type == "bool"}
        )
    return out


def _raw_figures(facts: Mapping[str, Fact], out: dict[str, Value]) -> None:
    """Replace wanted derived values by raw figures that give (at least) them; latest first."""
    for fact in reversed(list(facts.values())):
        rule = fact.derived
        target = out.pop(fact.id, None) if rule is not None else None
        if rule is None or isinstance(target, bool) or not isinstance(target, int | float):
            continue
        a, b = (facts[name] for name in rule.of)
        base = out.get(b.id)
        if rule.kind == "change":
            first = out.get(a.id)
            if isinstance(first, int | float):
                out.setdefault(b.id, float(first) - target)
            else:
                out.setdefault(b.id, 0.0)
                out[a.id] = float(out[b.id]) + target
            continue
        if rule.kind == "growth" and isinstance(out.get(a.id), int | float):
            out.setdefault(b.id, _fit(b, float(out[a.id]) / (1 + target / 100), up=False))
            continue
        if not isinstance(base, int | float) or base == 0:
            base = out[b.id] = 10000 if rule.kind == "share" else 100
        per = {"ratio": 1 / rule.scale, "share": 1 / (1000 if fact.shown_unit == "‰" else 100)}
        value = base * (1 + target / 100) if rule.kind == "growth" else base * target * per[rule.kind]
        out[a.id] = _fit(a, value, up=True)


def _fill(ind: Indicator, bounds: Mapping[str, Bounds], out: dict[str, Value]) -> None:
    """Answer the rule's remaining facts too, with values that keep the indicator's score."""
    rule = ind.rule
    if rule is None:
        return
    target = score_indicator(ind, out, bounds).score
    facts = {fact.id: fact for fact in ind.facts}
    for fact_id in rule.facts():
        if fact_id in out or facts[fact_id].is_derived:
            continue
        for candidate in _candidates(facts[fact_id]):
            if score_indicator(ind, {**out, fact_id: candidate}, bounds).score >= target:
                out[fact_id] = candidate
                break


def _candidates(fact: Fact) -> tuple[Value, ...]:
    if fact.type == "bool":
        return (True, False)
    if fact.type == "choice":
        return fact.options
    if fact.numeric:
        return (
            fact.upper if fact.upper is not None else 100,
            fact.lower if fact.lower is not None else 0,
        )
    return ()


def _best_part(
    part: Part, facts: Mapping[str, Fact], bounds: Mapping[str, Bounds], out: dict[str, Value]
) -> None:
    if part.na_when:
        out.setdefault(part.na_when, False)
    if isinstance(part, BoolPart):
        _merge(out, {part.fact: True} if part.fact else satisfy(part.when, True, facts))  # type: ignore[arg-type]
    elif isinstance(part, ChoicePart):
        out.setdefault(part.fact, part.best)
    elif isinstance(part, TiersPart):
        out.setdefault(
            part.fact, _fit(facts[part.fact], part.tiers[0].bound, up=not part.lower_is_better)
        )
    elif isinstance(part, PerUnitPart):
        out.setdefault(part.fact, math.ceil(part.cap / part.each - 1e-9))
    elif isinstance(part, DeductPart):
        _merge(out, {item.fact: True for item in part.items})
    elif isinstance(part, CasesPart):
        best = max(part.cases, key=lambda case: case.points)
        _merge(out, satisfy(best.when, True, facts))
    elif isinstance(part, EfficacyPart):
        _best_efficacy(part, facts, bounds, out)
    elif isinstance(part, StepDownPart):
        out.setdefault(part.fact, part.full_at)
    elif isinstance(part, GroupPart):
        for child in part.parts:
            _best_part(child, facts, bounds, out)
    elif isinstance(part, VetoPart):
        _merge(out, satisfy(part.when, False, facts))


def _best_efficacy(
    part: EfficacyPart,
    facts: Mapping[str, Fact],
    bounds: Mapping[str, Bounds],
    out: dict[str, Value],
) -> None:
    for n, term in enumerate(part.terms, 1):
        key = f"{part.id}.{n}" if part.weighted else part.id
        target = bounds.get(key, term.bounds).satisfied
        (first, weight), *others = term.measure.terms
        out.setdefault(first, _fit(facts[first], target / weight, up=term.direction == "higher"))
        for fact_id, _ in others:
            out.setdefault(fact_id, 0)


def _fit(fact: Fact, value: float, *, up: bool) -> float | int:
    """The value, rounded to a whole number (in the good direction) for count facts."""
    if fact.type != "count":
        return value
    return math.ceil(value - 1e-9) if up else math.floor(value + 1e-9)


def _merge(out: dict[str, Value], values: Mapping[str, Value]) -> None:
    for key, value in values.items():
        out.setdefault(key, value)


def satisfy(cond: Condition, want: bool, facts: Mapping[str, Fact]) -> dict[str, Value]:
    """Answers that make the condition hold (want=True) or fail (want=False)."""
    if isinstance(cond, FactIs):
        return {cond.fact: want}
    if isinstance(cond, Not):
        return satisfy(cond.condition, not want, facts)
    if isinstance(cond, OneOf):
        return _one_of(cond, want, facts[cond.fact])
    if isinstance(cond, Compare):
        op = cond.op if want else _NEGATED[cond.op]
        return {cond.fact: _compare_value(facts[cond.fact], op, cond.value)}
    if isinstance(cond, AllOf) == want:
        out: dict[str, Value] = {}
        for inner in cond.conditions:
            _merge(out, satisfy(inner, want, facts))
        return out
    return satisfy(cond.conditions[0], want, facts)


def _one_of(cond: OneOf, want: bool, fact: Fact) -> dict[str, Value]:
    if want:
        return {cond.fact: cond.options[0]}
    others = [option for option in fact.options if option not in cond.options]
    return {cond.fact: others[0]} if others else {}


def _compare_value(fact: Fact, op: str, value: Value) -> Value:
    if isinstance(value, bool):
        return value if op == "==" else not value
    if isinstance(value, str):
        if op == "==":
            return value
        return next(option for option in fact.options if option != value)
    step = 1.0 if fact.type == "count" else 0.1
    shifted = {
        ">=": value,
        "==": value,
        "<=": value,
        ">": value + step,
        "<": value - step,
        "!=": value + step,
    }[op]
    return int(shifted) if fact.type == "count" else shifted
