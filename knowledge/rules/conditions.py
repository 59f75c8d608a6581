"""Conditions (`when:`) in rules: what they are, their validation and their Chinese reading.

Their three-valued evaluation against answers is scoring's (scoring/evaluate.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from knowledge.errors import RuleError
from knowledge.fields import Node, is_number
from knowledge.rules.facts import NUMERIC_TYPES, Fact, Value, require_fact, rule_node

OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_OP_WORDS = {"==": "为", "!=": "不为", ">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}


@dataclass(frozen=True)
class FactIs:
    """A bool fact answered 是."""

    fact: str


@dataclass(frozen=True)
class Compare:
    """A fact compared with a value (numbers; == and != also for choice options and bools)."""

    fact: str
    op: str
    value: Value


@dataclass(frozen=True)
class OneOf:
    """A choice fact answered with one of the listed options."""

    fact: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class AllOf:
    """Every condition holds."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one condition holds."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """The condition does not hold."""

    condition: Condition


Condition = FactIs | Compare | OneOf | AllOf | AnyOf | Not


def parse_condition(raw: object, facts: Mapping[str, Fact], path: str) -> Condition:
    """Validate a `when:` condition against the declared facts."""
    if isinstance(raw, str):
        require_fact(facts, raw, path, ("bool",))
        return FactIs(raw)
    if not isinstance(raw, dict) or len(raw) == 0:
        raise RuleError(path, "条件应为事实编号或映射（fact/op/value、fact/in、all、any、not）")
    if "all" in raw or "any" in raw:
        key = "all" if "all" in raw else "any"
        node = rule_node(raw, path, (key,))
        parts = tuple(parse_condition(c, facts, p) for p, c in node.nonempty_items(key))
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if "not" in raw:
        node = rule_node(raw, path, ("not",))
        return Not(parse_condition(node.raw("not"), facts, node.at("not")))
    if "in" in raw:
        return _parse_one_of(rule_node(raw, path, ("fact", "in")), facts)
    return _parse_compare(rule_node(raw, path, ("fact", "op", "value")), facts)


def _parse_one_of(node: Node, facts: Mapping[str, Fact]) -> OneOf:
    fact = require_fact(facts, node.nonblank("fact"), node.at("fact"), ("choice",))
    options: list[str] = []
    for path, option in node.nonempty_items("in"):
        if option not in fact.options:
            raise RuleError(
                path, f"不是事实 {fact.id} 的选项：{option}（可选：{'、'.join(fact.options)}）"
            )
        options.append(option)
    return OneOf(fact.id, tuple(options))


def _parse_compare(node: Node, facts: Mapping[str, Fact]) -> Compare:
    fact = require_fact(
        facts, node.nonblank("fact"), node.at("fact"), ("bool", "choice", *NUMERIC_TYPES)
    )
    op = node.nonblank("op")
    if op not in OPS:
        raise node.error("op", f"应为 {' '.join(OPS)} 之一")
    if "value" not in node.data:
        raise node.error("value", "缺少字段")
    value = node.data["value"]
    if fact.numeric:
        if not is_number(value):
            raise node.error("value", "应为数字")
        return Compare(fact.id, op, float(value))
    if op not in ("==", "!="):
        raise node.error("op", f"{fact.type} 类型的事实只能用 == 或 !=")
    if fact.type == "bool" and not isinstance(value, bool):
        raise node.error("value", "应为 true 或 false")
    if fact.type == "choice" and value not in fact.options:
        raise node.error("value", f"不是事实 {fact.id} 的选项：{value}")
    return Compare(fact.id, op, value)


def facts_used(cond: Condition) -> tuple[str, ...]:
    """The fact ids a condition reads, in order, without repeats."""
    if isinstance(cond, FactIs | Compare | OneOf):
        return (cond.fact,)
    inner = (cond.condition,) if isinstance(cond, Not) else cond.conditions
    out: list[str] = []
    for c in inner:
        out.extend(f for f in facts_used(c) if f not in out)
    return tuple(out)


def describe_condition(cond: Condition, facts: Mapping[str, Fact]) -> str:
    """A short Chinese reading of the condition, for reasons."""
    if isinstance(cond, FactIs):
        return fact_name(facts, cond.fact)
    if isinstance(cond, Compare):
        unit = facts[cond.fact].shown_unit if cond.fact in facts else ""
        value = cond.value if isinstance(cond.value, str) else _plain(cond.value)
        return f"{fact_name(facts, cond.fact)}{_OP_WORDS[cond.op]}{value}{unit}"
    if isinstance(cond, OneOf):
        return "或".join(cond.options)
    if isinstance(cond, Not):
        return f"非（{describe_condition(cond.condition, facts)}）"
    glue = "且" if isinstance(cond, AllOf) else "或"
    return glue.join(describe_condition(c, facts) for c in cond.conditions)


def fact_name(facts: Mapping[str, Fact], fact_id: str) -> str:
    """A fact's short name for reasons: its help-free question without the trailing ？/。."""
    fact = facts.get(fact_id)
    if fact is None:
        return fact_id
    return fact.question.rstrip("？?。.：: ")


def _plain(value: bool | float | int) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    return f"{value:g}"


__all__ = [
    "AllOf",
    "AnyOf",
    "Compare",
    "Condition",
    "FactIs",
    "Not",
    "OneOf",
    "describe_condition",
    "fact_name",
    "facts_used",
    "parse_condition",
]
