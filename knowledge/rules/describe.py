"""A rule read back in Chinese, one line per part (for `kb show` and the bot's indicator view)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from knowledge.display import num, pts, qty
from knowledge.rules.conditions import describe_condition, fact_name
from knowledge.rules.facts import Fact
from knowledge.rules.parts import (
    BoolPart,
    CasesPart,
    ChoicePart,
    DeductPart,
    EfficacyPart,
    EfficacyTerm,
    GroupPart,
    Part,
    PerUnitPart,
    StepDownPart,
    TiersPart,
    VetoPart,
)

if TYPE_CHECKING:
    from knowledge.model import Indicator


def describe_rule(indicator: Indicator) -> list[dict[str, str]]:
    """[{id, text}] per part (sub-parts of a group follow it), then the cap and 合理缺项 lines."""
    rule = indicator.rule
    if rule is None:
        return []
    facts = {fact.id: fact for fact in indicator.facts}
    out: list[dict[str, str]] = []
    for part in rule.parts:
        out.extend(_lines(part, facts, indicator.kind))
    if rule.cap is not None:
        text = f"累计不超过{pts(rule.cap)}"
        note = rule.cap_note.rstrip("。.")
        out.append(
            {"id": "上限", "text": f"{text}（{note}）" if note and note not in text else text}
        )
    if rule.na_when:
        out.append({"id": "缺项", "text": f"{fact_name(facts, rule.na_when)}：是则按合理缺项处理"})
    return out


def describe_part(part: Part, facts: Mapping[str, Fact], kind: str = "indicator") -> str:
    """How one part scores, in one Chinese sentence."""
    text = f"{part.label}：{_how(part, facts, kind)}"
    if part.na_when:
        text += f"（{fact_name(facts, part.na_when)}为是时按合理缺项处理）"
    return text


def _lines(part: Part, facts: Mapping[str, Fact], kind: str) -> list[dict[str, str]]:
    out = [{"id": part.id, "text": describe_part(part, facts, kind)}]
    if isinstance(part, GroupPart):
        for child in part.parts:
            out.extend(_lines(child, facts, kind))
    return out


def _how(part: Part, facts: Mapping[str, Fact], kind: str) -> str:
    if isinstance(part, BoolPart):
        what = describe_condition(part.when, facts) if part.when else fact_name(facts, part.fact or "")
        return f"{what}，得{pts(part.points)}"
    if isinstance(part, ChoicePart):
        return "；".join(f"{option}{pts(score)}" for option, score in part.scores)
    if isinstance(part, TiersPart):
        unit = _unit(facts, part.fact)
        word = "不超过" if part.lower_is_better else "达到"
        return "；".join(f"{word}{qty(t.bound, unit)}得{pts(t.points)}" for t in part.tiers)
    if isinstance(part, PerUnitPart):
        unit = _unit(facts, part.fact) or "个"
        return f"每{unit}{pts(part.each)}，最高{pts(part.cap)}"
    if isinstance(part, DeductPart):
        items = "、".join(item.label for item in part.items)
        return f"{pts(part.points)}，缺少一项扣{pts(part.each)}，扣完为止（{items}）"
    if isinstance(part, CasesPart):
        return "；".join(
            f"{c.label or describe_condition(c.when, facts)}得{pts(c.points)}" for c in part.cases
        )
    if isinstance(part, EfficacyPart):
        head = f"按功效系数法计算，满分{pts(part.points)}"
        if not part.weighted:
            return f"{head}（{_term(part.terms[0], facts, False)}）"
        return f"{head}：" + "；".join(_term(t, facts, True) for t in part.terms)
    if isinstance(part, StepDownPart):
        unit = _unit(facts, part.fact)
        return (
            f"达到{qty(part.full_at, unit)}得{pts(part.points)}，每下降{qty(part.step, unit)}"
            f"扣{pts(part.each)}，扣完为止"
        )
    if isinstance(part, GroupPart):
        limit = f"，最高{pts(part.cap)}" if part.cap is not None else ""
        return f"以下各项合计{limit}"
    if isinstance(part, VetoPart):
        head = "不予受理" if kind == "rejection" else "一票否决"
        return f"{describe_condition(part.when, facts)}时{head}"
    return ""


def _term(term: EfficacyTerm, facts: Mapping[str, Fact], weighted: bool) -> str:
    single = len(term.measure.terms) == 1 and term.measure.terms[0][1] == 1.0
    unit = _unit(facts, term.measure.terms[0][0]) if single else ""
    name = term.label or ("、".join(fact_name(facts, f) for f in term.measure.facts()))
    bounds = f"x满意={qty(term.bounds.satisfied, unit)}、x不允许={qty(term.bounds.allowed, unit)}"
    estimate = "" if term.bounds.stated else "（估算）"
    gate = ""
    if term.gate is not None:
        word = "高于" if term.gate.lower_is_better else "低于"
        gate = f"，{word}{qty(term.gate.bound, unit)}不得分"
    if not weighted:
        return f"{bounds}{estimate}{gate}"
    return f"{name}（权重{num(term.weight)}，{bounds}{estimate}{gate}）"


def _unit(facts: Mapping[str, Fact], fact_id: str) -> str:
    fact = facts.get(fact_id)
    return fact.shown_unit if fact else ""
