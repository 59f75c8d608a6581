"""Derived values (ratio, share, change, growth) computed from the raw figures, and checked.

A derived fact is never asked: its value is computed from the two facts it names, and the
computation is shown (2.4元/人 = 120万元 ÷ 50万人). A typed derived value (an answers file, an older
stored answer) is compared with the computation: one that disagrees beyond the rounding of what
was typed is a Conflict, never silently taken; one whose inputs are missing is not taken either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from knowledge.display import num, qty
from knowledge.rules import Fact, Value
from scoring.answers import coerce
from scoring.errors import AmbiguousPercent, AnswerError

PLACES = 4  # a derived value is shown with up to 4 decimals
_SIGNS = {"ratio": "÷", "share": "÷", "growth": "÷", "change": "−"}


@dataclass(frozen=True)
class Derived:
    """One derived fact: its value (None when it cannot be computed), the computation, the gaps."""

    fact: str
    value: float | None
    text: str = ""  # "2.4元/人 = 120万元 ÷ 50万人"; the reason when value is None
    missing: tuple[str, ...] = ()  # the raw facts still to answer before it can be computed

    @property
    def known(self) -> bool:
        """True when the value could be computed."""
        return self.value is not None


@dataclass(frozen=True)
class Conflict:
    """A typed derived value the raw figures do not support (or cannot check)."""

    fact: str
    typed: float
    derived: Derived

    def message(self, facts: Mapping[str, Fact]) -> str:
        """Why the typed value is not taken, in one Chinese sentence."""
        fact = facts[self.fact]
        typed = qty(self.typed, fact.shown_unit)
        if not self.derived.known and self.derived.missing:
            names = "、".join(facts[f].question.rstrip("？?。") for f in self.derived.missing)
            return f"由原始数据计算，所填{typed}不采用：请填写{names}"
        if not self.derived.known:
            return f"所填{typed}不采用：{self.derived.text}"
        return f"所填{typed}与原始数据不符：{self.derived.text}，请核对原始数据"


def derive(facts: Mapping[str, Fact], answers: Mapping[str, Value]) -> dict[str, Derived]:
    """Every derived fact computed from the raw answers (typed derived values are ignored)."""
    out: dict[str, Derived] = {}
    for fact in facts.values():
        if fact.derived is not None and all(f in facts for f in fact.derived.of):
            out[fact.id] = _compute(fact, facts, answers, out)
    return out


def _compute(
    fact: Fact, facts: Mapping[str, Fact], answers: Mapping[str, Value], done: Mapping[str, Derived]
) -> Derived:
    rule = fact.derived
    if rule is None:
        return Derived(fact.id, None)
    values: list[float] = []
    missing: list[str] = []
    for name in rule.of:
        value = _input(name, answers, done)
        inner = done.get(name)
        if value is None and inner is not None and not inner.missing:
            return Derived(fact.id, None, inner.text)  # an input that cannot be computed (÷0)
        if value is None:
            gaps = inner.missing if inner is not None else (name,)
            missing.extend(f for f in gaps if f not in missing)
        else:
            values.append(value)
    if missing:
        names = "、".join(_name(facts[f]) for f in missing)
        return Derived(fact.id, None, f"缺少{names}，无法计算", tuple(missing))
    a, b = values
    if rule.kind != "change" and b == 0:
        return Derived(fact.id, None, f"{_name(facts[rule.of[1]])}为0，无法计算")
    value = _formula(rule.kind, a, b, rule.scale, fact.shown_unit)
    shown = [qty_of(facts[name], v) for name, v in zip(rule.of, values, strict=True)]
    return Derived(fact.id, value, _text(rule.kind, qty_of(fact, value), shown))


def _input(name: str, answers: Mapping[str, Value], done: Mapping[str, Derived]) -> float | None:
    if name in done:
        return done[name].value
    value = answers.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _formula(kind: str, a: float, b: float, scale: float, unit: str) -> float:
    if kind == "ratio":
        return a / b * scale
    if kind == "share":
        return a / b * (1000.0 if unit == "‰" else 100.0)
    if kind == "growth":
        return (a - b) / b * 100.0
    return a - b


def _text(kind: str, result: str, shown: list[str]) -> str:
    a, b = shown
    if kind == "growth":
        return f"{result} = （{a} − {b}）÷ {b}"
    return f"{result} = {a} {_SIGNS[kind]} {b}"


def qty_of(fact: Fact, value: float) -> str:
    """A value with its fact's unit, up to 4 decimals: 2.4元/人、0.05个百分点."""
    unit = "个百分点" if fact.shown_unit == "百分点" else fact.shown_unit
    return f"{num(value, PLACES)}{unit}"


def _name(fact: Fact) -> str:
    return fact.question.rstrip("？?。")


# --- typed derived values ---------------------------------------------------------------------


def conflicts(facts: Mapping[str, Fact], answers: Mapping[str, object]) -> list[Conflict]:
    """Typed derived values that disagree with (or cannot be checked against) the raw figures.

    `answers` may hold text or typed values; unreadable ones are left to the answer checks.
    """
    raw: dict[str, Value] = {}
    for fact_id, value in answers.items():
        fact = facts.get(fact_id)
        if fact is None or value is None or fact.is_derived:
            continue
        try:
            raw[fact_id] = coerce(fact, value)
        except AnswerError:
            continue
    computed = derive(facts, raw)
    out: list[Conflict] = []
    for fact_id, result in computed.items():
        readings = _readings(facts[fact_id], answers.get(fact_id))
        if readings and not (result.known and any(agrees(r, result.value) for r in readings)):
            out.append(Conflict(fact_id, readings[0], result))
    return out


def _readings(fact: Fact, value: object) -> list[float]:
    """The typed value's readings (both for an ambiguous 0.35 percent), none when unreadable."""
    if value is None:
        return []
    try:
        typed = coerce(fact, value)
    except AmbiguousPercent as problem:
        return list(problem.choices)
    except AnswerError:
        return []
    return [float(typed)] if isinstance(typed, int | float) and not isinstance(typed, bool) else []


def agrees(typed: float, computed: float | None) -> bool:
    """True when the typed value is the computed one rounded to the decimals typed (2.4 ≈ 2.38)."""
    if computed is None:
        return False
    exponent = Decimal(repr(float(typed))).normalize().as_tuple().exponent
    places = max(0, -int(exponent)) if isinstance(exponent, int) else 0
    return abs(typed - computed) <= 0.5 * 10.0**-places + 1e-9 * max(1.0, abs(computed))


# --- answering in the chat --------------------------------------------------------------------


def raw_inputs(facts: Mapping[str, Fact], fact_id: str) -> tuple[str, ...]:
    """The asked facts a derived fact is computed from, in order (its own id for a raw fact)."""
    fact = facts.get(fact_id)
    if fact is None or fact.derived is None:
        return (fact_id,)
    out: list[str] = []
    for name in fact.derived.of:
        out.extend(f for f in raw_inputs(facts, name) if f not in out)
    return tuple(out)


@dataclass(frozen=True)
class Recomputed:
    """After an answer: the derived values to store with it and the computations to show."""

    values: dict[str, Value]
    lines: tuple[str, ...]


def recompute(
    facts: Mapping[str, Fact], before: Mapping[str, Value], values: Mapping[str, Value]
) -> Recomputed:
    """The derived values an answer completes or changes (stored values that differ are replaced)."""
    raw = {k: v for k, v in {**before, **values}.items() if k in facts and not facts[k].is_derived}
    store: dict[str, Value] = {}
    lines: list[str] = []
    for fact_id, result in derive(facts, raw).items():
        if not set(raw_inputs(facts, fact_id)) & set(values):
            continue
        fact, old = facts[fact_id], before.get(fact_id)
        if result.value is None:
            if not result.missing:
                lines.append(f"{_name(fact)}：{result.text}")
            continue
        line = f"计算：{_name(fact)} {result.text}"
        if isinstance(old, int | float) and not isinstance(old, bool) and not agrees(float(old), result.value):
            line += f"（原填{qty_of(fact, float(old))}，已按原始数据更正）"
        lines.append(line)
        if old != result.value:
            store[fact_id] = result.value
    return Recomputed(store, tuple(lines))
