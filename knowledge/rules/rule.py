"""Rules: an indicator's parts with its cap, validated from the YAML data of a knowledge file."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from knowledge.errors import RuleError
from knowledge.fields import Node, join
from knowledge.rules.conditions import parse_condition
from knowledge.rules.efficacy import DIRECTIONS, Bounds
from knowledge.rules.facts import NUMERIC_TYPES, Fact, require_fact, rule_node
from knowledge.rules.parts import (
    EPS,
    BoolPart,
    Case,
    CasesPart,
    ChoicePart,
    DeductItem,
    DeductPart,
    EfficacyPart,
    EfficacyTerm,
    Gate,
    GroupPart,
    Measure,
    Part,
    PerUnitPart,
    StepDownPart,
    Tier,
    TiersPart,
    VetoPart,
    walk,
)

RULE_KEYS = ("cap", "cap_note", "na_when", "parts")
COMMON_KEYS = ("id", "label", "action", "method", "na_when")


@dataclass(frozen=True)
class Rule:
    """An indicator's rule: the sum of its parts, capped at cap (default: the indicator's points)."""

    parts: tuple[Part, ...]
    points: float
    cap: float | None = None
    cap_note: str = ""
    na_when: str | None = None

    @property
    def is_veto(self) -> bool:
        """True when the rule only disqualifies (every part is a veto)."""
        return all(isinstance(part, VetoPart) for part in self.parts)

    @property
    def limit(self) -> float:
        """The most the indicator can score: cap when given, never above points."""
        return self.points if self.cap is None else min(self.cap, self.points)

    def max_points(self) -> float:
        """The indicator's maximum under this rule (0 for a veto rule)."""
        if self.is_veto:
            return 0.0
        return min(self.limit, sum(part.max_points for part in self.parts))

    def facts(self) -> tuple[str, ...]:
        """Every fact id the rule reads, na_when included."""
        out = [self.na_when] if self.na_when else []
        for part in walk(self.parts):
            extra = [part.na_when] if part.na_when else []
            out.extend(f for f in (*extra, *part.facts()) if f not in out)
        return tuple(out)

    def part(self, part_id: str) -> Part:
        """The part (at any depth) with this id; raises KeyError."""
        for part in walk(self.parts):
            if part.id == part_id:
                return part
        raise KeyError(part_id)


# --- parsing ------------------------------------------------------------------------------------


def parse_rule(raw: object, facts: Mapping[str, Fact], points: float, path: str) -> Rule:
    """Validate a rule against its indicator's facts and points; errors name the path."""
    node = rule_node(raw, path, RULE_KEYS)
    parts = tuple(parse_part(item, facts, p) for p, item in node.nonempty_items("parts"))
    _check_ids(parts, node.at("parts"))
    na_when = _na_when(node, facts)
    rule = Rule(
        parts=parts,
        points=points,
        cap=node.number("cap") if node.has("cap") else None,
        cap_note=node.nonblank("cap_note", ""),
        na_when=na_when,
    )
    _check_veto(rule, node.at("parts"))
    if not rule.is_veto:
        _check_points(rule, node)
    return rule


def parse_part(raw: object, facts: Mapping[str, Fact], path: str) -> Part:
    """Validate one part by its method."""
    if not isinstance(raw, dict):
        raise RuleError(path, "应为映射（键: 值）")
    method = raw.get("method")
    if method not in _PARSERS:
        known = "、".join(_PARSERS)
        raise RuleError(join(path, "method"), f"未知的计分方法 {method}（可用：{known}）")
    keys, parser = _PARSERS[method]
    node = rule_node(raw, path, COMMON_KEYS + keys)
    common: dict[str, Any] = {
        "id": _part_id(node),
        "label": node.nonblank("label"),
        "action": node.nonblank("action"),
        "na_when": _na_when(node, facts),
    }
    return parser(node, facts, common)


def _part_id(node: Node) -> str:
    value = node.raw("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise RuleError(node.at("id"), "应为非空文字")
    part_id = str(value).strip()
    if "." in part_id:
        raise RuleError(node.at("id"), "部分编号不能含“.”")
    return part_id


def _na_when(node: Node, facts: Mapping[str, Fact]) -> str | None:
    if not node.has("na_when"):
        return None
    return require_fact(facts, node.nonblank("na_when"), node.at("na_when"), ("bool",)).id


def _fact(
    node: Node, facts: Mapping[str, Fact], types: tuple[str, ...], key: str = "fact"
) -> str:
    return require_fact(facts, node.nonblank(key), node.at(key), types).id


def _bool(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> BoolPart:
    if node.has("fact") == node.has("when"):
        raise RuleError(node.at("fact"), "bool 部分需要 fact 或 when 二者之一")
    when = parse_condition(node.raw("when"), facts, node.at("when")) if node.has("when") else None
    fact = _fact(node, facts, ("bool",)) if node.has("fact") else None
    return BoolPart(**common, points=node.number("points"), fact=fact, when=when)


def _choice(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> ChoicePart:
    fact = require_fact(facts, node.nonblank("fact"), node.at("fact"), ("choice",))
    scores = node.raw("scores")
    if not isinstance(scores, dict) or not scores:
        raise RuleError(node.at("scores"), "应为映射（选项: 分值）")
    out: list[tuple[str, float]] = []
    for option in scores:
        path = join(node.at("scores"), str(option))
        if option not in fact.options:
            raise RuleError(path, f"不是事实 {fact.id} 的选项（可选：{'、'.join(fact.options)}）")
        out.append((option, rule_node({"v": scores[option]}, path, ("v",)).number("v")))
    return ChoicePart(**common, fact=fact.id, scores=tuple(out))


def _tiers(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> TiersPart:
    fact = _fact(node, facts, NUMERIC_TYPES)
    tiers: list[Tier] = []
    keys: set[str] = set()
    for path, raw in node.nonempty_items("tiers"):
        tier = rule_node(raw, path, ("min", "max", "points", "label"))
        if tier.has("min") == tier.has("max"):
            raise RuleError(path, "每档需要 min 或 max 二者之一")
        key = "min" if tier.has("min") else "max"
        keys.add(key)
        if len(keys) > 1:
            raise RuleError(node.at("tiers"), "各档应统一用 min（越高越好）或 max（越低越好）")
        tiers.append(Tier(tier.number(key, negative=True), tier.number("points")))
        _check_tier_order(tiers, key, path)
    return TiersPart(**common, fact=fact, tiers=tuple(tiers), lower_is_better=keys == {"max"})


def _check_tier_order(tiers: list[Tier], key: str, path: str) -> None:
    if len(tiers) < 2:
        return
    prev, last = tiers[-2], tiers[-1]
    descending = last.bound < prev.bound if key == "min" else last.bound > prev.bound
    if not descending:
        order = "从高到低" if key == "min" else "从低到高"
        raise RuleError(join(path, key), f"分档应按门槛{order}排列（最好的一档在前）")
    if last.points > prev.points:
        raise RuleError(join(path, "points"), "分档分值应从高到低排列")


def _per_unit(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> PerUnitPart:
    fact = _fact(node, facts, ("count",))
    each, cap = node.number("each"), node.number("cap")
    if each <= 0:
        raise RuleError(node.at("each"), "单项分值应大于0")
    if cap < each:
        raise RuleError(node.at("cap"), "上限低于单项分值")
    return PerUnitPart(**common, fact=fact, each=each, cap=cap)


def _deduct(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> DeductPart:
    items: list[DeductItem] = []
    for path, raw in node.nonempty_items("facts"):
        if isinstance(raw, str):
            fact = require_fact(facts, raw, path, ("bool",))
            items.append(DeductItem(fact.id, _short(fact.question)))
            continue
        item = rule_node(raw, path, ("fact", "label"))
        fact = require_fact(facts, item.nonblank("fact"), item.at("fact"), ("bool",))
        items.append(DeductItem(fact.id, item.nonblank("label", _short(fact.question))))
    if len({item.fact for item in items}) < len(items):
        raise RuleError(node.at("facts"), "同一事实重复列出")
    each, points = node.number("each"), node.number("points")
    if each <= 0:
        raise RuleError(node.at("each"), "每项扣分应大于0")
    return DeductPart(**common, items=tuple(items), each=each, points=points)


def _short(question: str) -> str:
    return question.rstrip("？?。.：: ")


def _cases(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> CasesPart:
    cases: list[Case] = []
    for path, raw in node.nonempty_items("cases"):
        case = rule_node(raw, path, ("when", "points", "label"))
        when = parse_condition(case.raw("when"), facts, case.at("when"))
        cases.append(Case(when, case.number("points"), case.nonblank("label", "")))
    return CasesPart(**common, cases=tuple(cases))


def _efficacy(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> EfficacyPart:
    points = node.number("points")
    direction = _direction(node, "higher")
    if node.has("measure") == node.has("terms"):
        raise RuleError(node.at("measure"), "efficacy 部分需要 measure 或 terms 二者之一")
    if node.has("measure"):
        term = _term(node, facts, 1.0, direction, None)
        return EfficacyPart(**common, points=points, terms=(term,))
    for key in ("bounds", "bounds_stated", "bounds_note"):
        if node.has(key):
            raise RuleError(node.at(key), "使用 terms 时，bounds 应写在各 term 中")
    gate = _gate(node, direction)
    terms = tuple(_term_node(p, raw, facts, direction, gate) for p, raw in node.nonempty_items("terms"))
    total = sum(term.weight for term in terms)
    if abs(total - 1.0) > 1e-6:
        raise RuleError(node.at("terms"), f"各项权重合计应为1（现为{total:g}）")
    return EfficacyPart(**common, points=points, terms=terms, weighted=True)


_TERM_KEYS = (
    "weight",
    "label",
    "measure",
    "bounds",
    "bounds_stated",
    "bounds_note",
    "gate",
    "direction",
)


def _term_node(
    path: str, raw: object, facts: Mapping[str, Fact], direction: str, gate: Gate | None
) -> EfficacyTerm:
    node = rule_node(raw, path, _TERM_KEYS)
    weight = node.number("weight")
    if weight <= 0:
        raise RuleError(node.at("weight"), "权重应大于0")
    return _term(node, facts, weight, _direction(node, direction), gate)


def _term(
    node: Node, facts: Mapping[str, Fact], weight: float, direction: str, gate: Gate | None
) -> EfficacyTerm:
    bounds_node = rule_node(node.raw("bounds"), node.at("bounds"), ("satisfied", "allowed"))
    bounds = Bounds(
        satisfied=bounds_node.number("satisfied", negative=True),
        allowed=bounds_node.number("allowed", negative=True),
        stated=node.flag("bounds_stated"),
    )
    problem = bounds.check(direction)
    if problem:
        raise RuleError(node.at("bounds"), problem)
    return EfficacyTerm(
        weight=weight,
        measure=_measure(node.raw("measure"), facts, node.at("measure")),
        bounds=bounds,
        direction=direction,
        gate=_gate(node, direction) or gate,
        label=node.nonblank("label", ""),
        bounds_note=node.nonblank("bounds_note", ""),
    )


def _measure(raw: object, facts: Mapping[str, Fact], path: str) -> Measure:
    if isinstance(raw, dict) and "sum" in raw:
        node = rule_node(raw, path, ("sum",))
        terms: list[tuple[str, float]] = []
        for p, item in node.nonempty_items("sum"):
            term = rule_node(item, p, ("fact", "weight"))
            fact = require_fact(facts, term.nonblank("fact"), term.at("fact"), NUMERIC_TYPES)
            terms.append((fact.id, term.number("weight", 1.0)))
        return Measure(tuple(terms))
    node = rule_node(raw, path, ("fact",))
    return Measure(
        ((require_fact(facts, node.nonblank("fact"), node.at("fact"), NUMERIC_TYPES).id, 1.0),)
    )


def _direction(node: Node, default: str) -> str:
    direction = node.nonblank("direction", default)
    if direction not in DIRECTIONS:
        raise RuleError(node.at("direction"), "应为 higher 或 lower")
    return direction


def _gate(node: Node, direction: str) -> Gate | None:
    if not node.has("gate"):
        return None
    key = "max" if direction == "lower" else "min"
    gate = rule_node(node.raw("gate"), node.at("gate"), (key,))
    return Gate(gate.number(key, negative=True), lower_is_better=direction == "lower")


def _step_down(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> StepDownPart:
    fact = _fact(node, facts, ("percent", "number"))
    step, each = node.number("step"), node.number("each")
    for key, value in (("step", step), ("each", each)):
        if value <= 0:
            raise RuleError(node.at(key), "应大于0")
    rounding = node.nonblank("rounding", "ceil")
    if rounding not in ("ceil", "floor"):
        raise RuleError(node.at("rounding"), "应为 ceil（不足一档按一档）或 floor")
    return StepDownPart(
        **common,
        fact=fact,
        points=node.number("points"),
        full_at=node.number("full_at", negative=True),
        step=step,
        each=each,
        rounding=rounding,
    )


def _group(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> GroupPart:
    parts = tuple(parse_part(item, facts, p) for p, item in node.nonempty_items("parts"))
    for i, part in enumerate(parts):
        if isinstance(part, VetoPart):
            raise RuleError(join(node.at("parts"), i), "group 中不能有 veto 部分")
    cap = None
    if node.has("cap"):
        value = node.raw("cap")
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise RuleError(node.at("cap"), "上限不能低于0")
        cap = node.number("cap")
    return GroupPart(**common, parts=parts, cap=cap)


def _veto(node: Node, facts: Mapping[str, Fact], common: dict[str, Any]) -> VetoPart:
    return VetoPart(**common, when=parse_condition(node.raw("when"), facts, node.at("when")))


_Parser = Callable[[Node, Mapping[str, Fact], dict[str, Any]], Part]
_EFFICACY_KEYS = (
    "points",
    "measure",
    "terms",
    "gate",
    "direction",
    "bounds",
    "bounds_stated",
    "bounds_note",
)
_PARSERS: dict[str, tuple[tuple[str, ...], _Parser]] = {
    "bool": (("fact", "when", "points"), _bool),
    "choice": (("fact", "scores"), _choice),
    "tiers": (("fact", "tiers"), _tiers),
    "per_unit": (("fact", "each", "cap"), _per_unit),
    "deduct": (("facts", "each", "points"), _deduct),
    "cases": (("cases",), _cases),
    "efficacy": (_EFFICACY_KEYS, _efficacy),
    "step_down": (("fact", "points", "full_at", "step", "each", "rounding"), _step_down),
    "group": (("parts", "cap"), _group),
    "veto": (("when",), _veto),
}


# --- whole-rule checks --------------------------------------------------------------------------


def _check_ids(parts: tuple[Part, ...], path: str) -> None:
    seen: set[str] = set()
    for part in walk(parts):
        if part.id in seen:
            raise RuleError(path, f"重复的部分编号 {part.id}")
        seen.add(part.id)


def _check_veto(rule: Rule, path: str) -> None:
    vetoes = [isinstance(part, VetoPart) for part in rule.parts]
    if any(vetoes) and not all(vetoes):
        index = vetoes.index(True)
        raise RuleError(join(path, index), "一票否决（veto）部分不能与计分部分写在同一规则中")
    if all(vetoes) and rule.cap is not None:
        raise RuleError(path, "一票否决规则不能写 cap")


def _check_points(rule: Rule, node: Node) -> None:
    points, total = rule.points, sum(part.max_points for part in rule.parts)
    if rule.cap is not None and rule.cap > points + EPS:
        raise RuleError(node.at("cap"), f"上限 {rule.cap:g} 高于指标分值 {points:g}")
    if rule.cap is not None and rule.cap < points - EPS:
        raise RuleError(node.at("cap"), f"上限 {rule.cap:g} 低于指标分值 {points:g}")
    if total < points - EPS:
        raise RuleError(
            node.at("parts"), f"各部分最高分合计达不到指标分值 {points:g}（合计 {total:g}）"
        )
    if total > points + EPS and rule.cap is None:
        raise RuleError(
            node.at("cap"), f"各部分最高分合计 {total:g} 超过指标分值 {points:g}，需写明 cap"
        )
    for i, part in enumerate(rule.parts):
        if part.max_points > points + EPS and not rule.cap_note:
            message = f"部分 {part.id} 最高 {part.max_points:g} 分，超过指标分值 {points:g}，需写明 cap_note"
            raise RuleError(join(node.at("parts"), i), message)
