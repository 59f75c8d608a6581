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
FACT_KEYS = (
    "id",
    "type",
    "question",
    "options",
    "unit",
    "min",
    "max",
    "question_verbatim",
    "help",
    "derived",
)
_FACT_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# A derived fact is computed from two earlier facts of its indicator, never asked:
# ratio a ÷ b × scale · share a ÷ b × 100 (% or ‰: × 1000) · change a − b · growth (a − b) ÷ b × 100
DERIVED_KINDS = ("ratio", "share", "change", "growth")
DERIVED_KEYS = ("kind", "of", "scale")


@dataclass(frozen=True)
class Derivation:
    """How a derived fact is computed: the formula kind over two named facts (a, b)."""

    kind: str
    of: tuple[str, str]
    scale: float = 1.0


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
    derived: Derivation | None = None

    @property
    def is_derived(self) -> bool:
        """True when the value is computed from other facts, not asked."""
        return self.derived is not None

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
        if fact.derived is not None:
            check_derivation(fact, {f.id: f for f in facts}, join(join(path, i), "derived"))
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
        derived=_derivation(node, kind),
    )


def _derivation(node: Node, kind: str) -> Derivation | None:
    derived = node.child("derived", DERIVED_KEYS)
    if derived is None:
        return None
    if kind not in ("percent", "number", "amount"):
        raise node.error("type", "计算得出的事实应为 percent、number 或 amount 类型")
    formula = derived.nonblank("kind")
    if formula not in DERIVED_KINDS:
        raise derived.error("kind", f"应为 {'、'.join(DERIVED_KINDS)} 之一")
    names = derived.texts("of")
    if len(names) != 2:
        raise derived.error("of", "应列出两个事实编号 [a, b]")
    if names[0] == names[1]:
        raise derived.error_at(join(derived.at("of"), 1), "两个事实不能相同")
    if derived.has("scale") and formula != "ratio":
        raise derived.error("scale", "只有 ratio 可以写 scale（share 按 % 或 ‰ 换算）")
    scale = derived.number("scale", 1.0)
    if scale <= 0:
        raise derived.error("scale", "应大于0")
    return Derivation(formula, (names[0], names[1]), scale)


def check_derivation(fact: Fact, earlier: Mapping[str, Fact], path: str) -> None:
    """A derived fact's inputs are earlier numeric facts whose units fit the formula."""
    rule = fact.derived
    if rule is None:
        return
    inputs: list[Fact] = []
    for i, name in enumerate(rule.of):
        where = join(join(path, "of"), i)
        if name not in earlier:
            raise RuleError(where, f"未声明的事实 {name}（应在本事实之前声明）")
        if earlier[name].type not in NUMERIC_TYPES:
            raise RuleError(where, f"事实 {name} 应为数值类型（实际为 {earlier[name].type}）")
        inputs.append(earlier[name])
    a, b = inputs
    if rule.kind != "ratio" and a.shown_unit != b.shown_unit:
        units = f"{a.shown_unit or '无单位'}、{b.shown_unit or '无单位'}"
        raise RuleError(join(path, "of"), f"{rule.kind} 的两项单位应相同（现为{units}）")
    want = _derived_unit(rule.kind, a)
    if want is not None and fact.shown_unit not in want:
        raise RuleError(join(path, "kind"), f"{rule.kind} 得出的单位应为 {'或'.join(want)}（现为{fact.shown_unit or '无单位'}）")
    if rule.kind == "ratio" and not fact.unit:
        raise RuleError(join(path, "kind"), "ratio 得出的事实需写明 unit（如 元/人）")


def _derived_unit(kind: str, a: Fact) -> tuple[str, ...] | None:
    """The units a formula's result may have (None: any)."""
    if kind == "share":
        return ("%", "‰")
    if kind == "growth":
        return ("%",)
    if kind == "change":
        return ("百分点",) if a.shown_unit == "%" else (a.shown_unit,)
    return None


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
