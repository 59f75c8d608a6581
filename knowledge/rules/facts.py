"""Facts: the typed questions an indicator's rule needs answered, and the values that answer them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.errors import RuleError
from knowledge.fields import Node, join

Value = bool | int | float | str  # a typed answer to a fact (dates are ISO strings)

FACT_TYPES = ("bool", "count", "percent", "number", "amount", "choice", "date", "text")
NUMERIC_TYPES = ("count", "percent", "number", "amount")
FACT_KEYS = ("id", "type", "question", "options", "unit", "min", "max", "question_verbatim", "help")
_FACT_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Fact:
    """One question about the county, answered by a liaison and read by rules."""

    id: str
    type: str
    question: str
    options: tuple[str, ...] = ()
    unit: str = ""
    min: float | None = None
    max: float | None = None
    question_verbatim: bool = False
    help: str = ""

    @property
    def numeric(self) -> bool:
        """True for count, percent, number and amount facts."""
        return self.type in NUMERIC_TYPES

    @property
    def shown_unit(self) -> str:
        """The unit printed after a value: the declared unit, % for percent facts."""
        return self.unit or ("%" if self.type == "percent" else "")

    @property
    def lower(self) -> float | None:
        """The smallest allowed value: min, else 0 for counts, amounts and percentages."""
        if self.min is not None:
            return self.min
        return 0.0 if self.type in ("count", "amount", "percent") else None

    @property
    def upper(self) -> float | None:
        """The largest allowed value: max, else 100 for plain percentages (1000 for ‰)."""
        if self.max is not None:
            return self.max
        if self.type == "percent":
            return 1000.0 if self.unit == "‰" else 100.0
        return None


def rule_node(data: object, path: str, allowed: tuple[str, ...]) -> Node:
    """A mapping of the rules language read with the one reader, raising RuleError."""
    return Node("", path, data, allowed, error=RuleError)


def parse_facts(raw: object, path: str) -> tuple[Fact, ...]:
    """Validate an indicator's facts list; errors name the path (e.g. facts[2].type)."""
    if not isinstance(raw, list):
        raise RuleError(path, "应为列表")
    facts: list[Fact] = []
    for i, item in enumerate(raw):
        fact = parse_fact(item, join(path, i))
        if any(f.id == fact.id for f in facts):
            raise RuleError(join(join(path, i), "id"), f"重复的事实 {fact.id}")
        facts.append(fact)
    return tuple(facts)


def parse_fact(raw: object, path: str) -> Fact:
    """Validate one fact declaration."""
    node = rule_node(raw, path, FACT_KEYS)
    fact_id = node.nonblank("id")
    if not _FACT_ID.match(fact_id):
        raise node.error("id", "编号只能用小写字母、数字和下划线，且以字母开头")
    kind = node.nonblank("type")
    if kind not in FACT_TYPES:
        raise node.error("type", f"应为 {'、'.join(FACT_TYPES)} 之一")
    low, high = _range(node, kind)
    return Fact(
        id=fact_id,
        type=kind,
        question=node.nonblank("question"),
        options=_options(node, kind),
        unit=node.nonblank("unit", ""),
        min=low,
        max=high,
        question_verbatim=node.flag("question_verbatim"),
        help=node.nonblank("help", ""),
    )


def _options(node: Node, kind: str) -> tuple[str, ...]:
    if kind != "choice":
        if node.has("options"):
            raise node.error("options", "只有 choice 类型的事实可以列选项")
        return ()
    options: list[str] = []
    for path, option in node.nonempty_items("options"):
        if not isinstance(option, str) or not option.strip():
            raise RuleError(path, "应为非空文字")
        if option.strip() in options:
            raise RuleError(path, f"重复的选项 {option}")
        options.append(option.strip())
    if len(options) < 2:
        raise node.error("options", "至少需要两个选项")
    return tuple(options)


def _range(node: Node, kind: str) -> tuple[float | None, float | None]:
    if kind not in NUMERIC_TYPES:
        for key in ("min", "max"):
            if node.has(key):
                raise node.error(key, "只有数值类型的事实可以写取值范围")
        return None, None
    low, high = node.opt_number("min", negative=True), node.opt_number("max", negative=True)
    if low is not None and high is not None and low > high:
        raise node.error("max", "上限低于下限")
    return low, high


def require_fact(
    facts: Mapping[str, Fact], fact_id: object, path: str, types: tuple[str, ...]
) -> Fact:
    """The declared fact of one of the given types, else a RuleError at path."""
    if not isinstance(fact_id, str) or fact_id not in facts:
        raise RuleError(path, f"未声明的事实 {fact_id}")
    fact = facts[fact_id]
    if fact.type not in types:
        raise RuleError(path, f"事实 {fact_id} 应为 {'/'.join(types)} 类型（实际为 {fact.type}）")
    return fact
