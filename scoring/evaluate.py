"""Score one part of a rule against typed answers: the points and the reason, in Chinese."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from knowledge.display import num, pts, qty, round2
from knowledge.rules import (
    EPS,
    OPS,
    AnyOf,
    BoolPart,
    Bounds,
    CasesPart,
    ChoicePart,
    Compare,
    Condition,
    DeductPart,
    EfficacyPart,
    EfficacyTerm,
    Fact,
    FactIs,
    GroupPart,
    Measure,
    Not,
    OneOf,
    Part,
    PerUnitPart,
    StepDownPart,
    Tier,
    TiersPart,
    Value,
    VetoPart,
    describe_condition,
    fact_name,
)
from scoring.derived import Derived
from scoring.efficacy import coefficient
from scoring.results import PartScore

NA_TREATMENTS = ("full", "exclude")


def holds(cond: Condition, answers: Mapping[str, Value]) -> bool | None:
    """True/False, or None when an unanswered fact leaves the outcome of a condition unknown."""
    if isinstance(cond, FactIs):
        value = answers.get(cond.fact)
        return None if value is None else value is True
    if isinstance(cond, Compare):
        value = answers.get(cond.fact)
        return None if value is None else OPS[cond.op](value, cond.value)  # type: ignore[arg-type]
    if isinstance(cond, OneOf):
        value = answers.get(cond.fact)
        return None if value is None else value in cond.options
    if isinstance(cond, Not):
        inner = holds(cond.condition, answers)
        return None if inner is None else not inner
    results = [holds(c, answers) for c in cond.conditions]
    decisive = isinstance(cond, AnyOf)
    if decisive in results:
        return decisive
    return None if None in results else not decisive


@dataclass(frozen=True)
class Context:
    """What a part is scored against: declared facts, typed answers, efficacy bounds overrides."""

    facts: Mapping[str, Fact]
    answers: Mapping[str, Value]
    bounds: Mapping[str, Bounds]  # keyed by part id, or "<part id>.<n>" for the n-th term
    kind: str = "indicator"
    na_treatment: str = "full"
    derived: Mapping[str, Derived] = field(default_factory=dict)

    def unit(self, fact_id: str) -> str:
        """The unit shown after a fact's value."""
        fact = self.facts.get(fact_id)
        return fact.shown_unit if fact else ""

    def number(self, fact_id: str) -> float:
        """A numeric answer (callers check presence first)."""
        return float(self.answers[fact_id])

    def shown(self, fact_id: str) -> str:
        """A numeric answer with its unit; a derived one with its computation (2.4元/人 = 120万元 ÷ 50万人)."""
        found = self.derived.get(fact_id)
        if found is not None and found.known:
            return found.text
        return qty(self.number(fact_id), self.unit(fact_id))

    def absent(self, fact_ids: tuple[str, ...]) -> tuple[str, ...]:
        """The facts to answer for these unanswered ones: a derived fact's missing raw inputs."""
        out: list[str] = []
        for fact_id in fact_ids:
            found = self.derived.get(fact_id)
            inner = found.missing if found is not None else (fact_id,)
            out.extend(f for f in inner if f not in out)
        return tuple(out)

    def why_absent(self, fact_ids: tuple[str, ...]) -> str:
        """Why derived values among these could not be computed (分母为0…), "" for none."""
        found = [self.derived[f] for f in fact_ids if f in self.derived]
        return "；".join(d.text for d in found if not d.known and not d.missing)


def score_part(part: Part, ctx: Context) -> PartScore:
    """The part's score and reason; 合理缺项, veto, 未填报 and groups handled here."""
    if part.na_when and ctx.answers.get(part.na_when) is True:
        return not_applicable(part, ctx)
    if isinstance(part, VetoPart):
        return _veto(part, ctx)
    if isinstance(part, GroupPart):
        return _group(part, ctx)
    needed = part.facts()
    absent = tuple(f for f in needed if f not in ctx.answers)
    missing = ctx.absent(absent)
    if needed and len(absent) == len(needed):
        return _unanswered(part, ctx, absent, missing)
    result = _EVALUATORS[part.method](part, ctx)
    if not missing:
        return result
    names = "、".join(fact_name(ctx.facts, f) for f in missing)
    return replace(
        result, missing=missing, reason=f"{result.reason}（未填报：{names}，按未达到计）"
    )


def _unanswered(
    part: Part, ctx: Context, absent: tuple[str, ...], missing: tuple[str, ...]
) -> PartScore:
    """Nothing to score: 未填报 (naming a derived value's missing inputs), or 无法计算."""
    why = ctx.why_absent(absent)
    if not missing:  # inputs answered but the value cannot be computed (a zero denominator)
        return _result(part, 0.0, f"{part.label}：{why}，不得分")
    named = [f for f in missing if f not in absent]
    need = f"（需填写：{'、'.join(fact_name(ctx.facts, f) for f in named)}）" if named else ""
    extra = f"；{why}" if why else ""
    return _result(
        part,
        0.0,
        f"{part.label}：未填报{need}{extra}，暂按0分计",
        missing=missing,
        unanswered=True,
    )


def not_applicable(part: Part, ctx: Context) -> PartScore:
    """合理缺项: full marks ('full') or out of the maximum ('exclude')."""
    if ctx.na_treatment == "exclude":
        return _result(part, 0.0, f"{part.label}：合理缺项，不计入总分", na=True, max_points=0.0)
    return _result(part, part.max_points, f"{part.label}：合理缺项，按满分计", na=True)


def _result(part: Part, score: float, reason: str, **extra: Any) -> PartScore:
    max_points = extra.pop("max_points", part.max_points)
    return PartScore(
        id=part.id,
        label=part.label,
        method=part.method,
        score=round2(score),
        max=round2(max_points),
        reason=reason,
        action=part.action,
        **extra,
    )


def _could(points: float) -> str:
    return f"（可得{pts(points)}）"


def _bool(part: BoolPart, ctx: Context) -> PartScore:
    if part.when is not None:
        ok = holds(part.when, ctx.answers) is True
        if ok:
            return _result(part, part.points, f"{part.label}：符合，得{pts(part.points)}")
        need = describe_condition(part.when, ctx.facts)
        return _result(part, 0.0, f"{part.label}：未达到（需{need}），不得分{_could(part.points)}")
    if ctx.answers.get(part.fact or "") is True:
        return _result(part, part.points, f"{part.label}：是，得{pts(part.points)}")
    return _result(part, 0.0, f"{part.label}：否，不得分{_could(part.points)}")


def _choice(part: ChoicePart, ctx: Context) -> PartScore:
    option = str(ctx.answers[part.fact])
    score = part.score_of(option)
    won = f"得{pts(score)}" if score > 0 else "不得分"
    better = f"（{part.best}可得{pts(part.max_points)}）" if score < part.max_points - EPS else ""
    return _result(part, score, f"{option}，{won}{better}")


def _tiers(part: TiersPart, ctx: Context) -> PartScore:
    x, unit = ctx.number(part.fact), ctx.unit(part.fact)
    index = next((i for i, tier in enumerate(part.tiers) if part.met(tier, x)), None)
    shown = f"{part.label}{ctx.shown(part.fact)}"
    if index is None:
        easiest = part.tiers[-1]
        reason = f"{shown}，未{_reach(part, easiest, unit)}，不得分（{_reach(part, easiest, unit)}可得{pts(easiest.points)}）"
        return _result(part, 0.0, reason)
    tier = part.tiers[index]
    hint = ""
    if index > 0:
        better = part.tiers[index - 1]
        hint = f"（{_reach(part, better, unit)}可得{pts(better.points)}）"
    won = f"得{pts(tier.points)}" if tier.points > 0 else "不得分"
    return _result(part, tier.points, f"{shown}，{won}{hint}")


def _reach(part: TiersPart, tier: Tier, unit: str) -> str:
    return f"{'不超过' if part.lower_is_better else '达到'}{qty(tier.bound, unit)}"


def _per_unit(part: PerUnitPart, ctx: Context) -> PartScore:
    n, unit = ctx.number(part.fact), ctx.unit(part.fact) or "个"
    raw = n * part.each
    shown = f"{part.label}{qty(n, unit)}，每{unit}{pts(part.each)}"
    if raw > part.cap + EPS:
        return _result(
            part, part.cap, f"{shown}，合计{pts(raw)}，最高{pts(part.cap)}，按{pts(part.cap)}计"
        )
    if raw <= 0:
        return _result(part, 0.0, f"{shown}，不得分（最高{pts(part.cap)}）")
    return _result(part, raw, f"{shown}，得{pts(raw)}（最高{pts(part.cap)}）")


def _deduct(part: DeductPart, ctx: Context) -> PartScore:
    lacking = [item.label for item in part.items if ctx.answers.get(item.fact) is not True]
    if not lacking:
        return _result(part, part.points, f"{part.label}：各项齐全，得{pts(part.points)}")
    cut = part.each * len(lacking)
    score = max(0.0, part.points - cut)
    names = "、".join(lacking)
    if score <= 0:
        return _result(part, 0.0, f"缺少{len(lacking)}项（{names}），扣完为止，得0分")
    return _result(part, score, f"缺少{len(lacking)}项（{names}），扣{pts(cut)}，得{pts(score)}")


def _cases(part: CasesPart, ctx: Context) -> PartScore:
    best = max(part.cases, key=lambda case: case.points)
    for case in part.cases:
        if holds(case.when, ctx.answers) is True:
            name = case.label or describe_condition(case.when, ctx.facts)
            more = (
                f"（{best.label}可得{pts(best.points)}）"
                if best.label
                else f"（最高可得{pts(best.points)}）"
            )
            hint = more if case.points < best.points - EPS else ""
            won = f"得{pts(case.points)}" if case.points > 0 else "不得分"
            return _result(part, case.points, f"{part.label}：{name}，{won}{hint}")
    need = best.label or describe_condition(best.when, ctx.facts)
    return _result(
        part, 0.0, f"{part.label}：不符合得分条件，不得分（{need}可得{pts(best.points)}）"
    )


def _efficacy(part: EfficacyPart, ctx: Context) -> PartScore:
    lines: list[str] = []
    used: list[tuple[str, Bounds]] = []
    hints: list[str] = []
    total_d = 0.0
    for n, term in enumerate(part.terms, 1):
        key = f"{part.id}.{n}" if part.weighted else part.id
        bounds = ctx.bounds.get(key, term.bounds)
        name = term.label or (f"第{n}项" if part.weighted else part.label)
        d, line = _term(term, bounds, name, ctx)
        total_d += term.weight * d
        lines.append(line)
        used.append((name if part.weighted else "", bounds))
        if d < 100 - EPS:  # advice names only what is still short of full marks
            hints.append(_hint(term, bounds, name, ctx))
    score = part.points * total_d / 100.0
    estimate = _estimate(used)
    if part.weighted:
        reason = f"{part.label}：{'；'.join(lines)}；加权d={total_d:.1f}，得{pts(score)}{estimate}"
    else:
        reason = f"{lines[0]}，得{pts(score)}{estimate}" if total_d else f"{lines[0]}{estimate}"
    estimated = not all(b.official for _, b in used)
    return _result(part, score, reason, estimated=estimated, hint="，".join(hints))


def _term(term: EfficacyTerm, bounds: Bounds, name: str, ctx: Context) -> tuple[float, str]:
    x = _measure(term.measure, ctx)
    unit = _measure_unit(term.measure, ctx)
    if x is None:
        why = ctx.why_absent(term.measure.facts())
        return 0.0, f"{name}：{why}，不得分" if why else f"{name}未填报"
    single = len(term.measure.terms) == 1 and term.measure.terms[0][1] == 1.0
    shown = f"{name}{ctx.shown(term.measure.terms[0][0]) if single else qty(x, unit)}"
    if term.gate is not None and not term.gate.passes(x):
        word = "高于" if term.gate.lower_is_better else "未达到"
        return 0.0, f"{shown}，{word}{qty(term.gate.bound, unit)}，不得分"
    d = coefficient(x, bounds.satisfied, bounds.allowed, term.direction)
    return d, f"{shown}，功效系数d={d:.1f}"


def _measure(measure: Measure, ctx: Context) -> float | None:
    present = [(f, w) for f, w in measure.terms if f in ctx.answers]
    if not present:
        return None
    return sum(ctx.number(f) * w for f, w in present)


def _measure_unit(measure: Measure, ctx: Context) -> str:
    if len(measure.terms) == 1 and measure.terms[0][1] == 1.0:
        return ctx.unit(measure.terms[0][0])
    return ""


def _estimate(used: list[tuple[str, Bounds]]) -> str:
    """（估算：x满意=…、x不允许=…[，界值为估计值]）, （官方界值：…） for the office's; both when mixed."""
    groups = []
    for official, head in ((True, "官方界值"), (False, "估算")):
        chosen = [(name, b) for name, b in used if b.official == official]
        if not chosen:
            continue
        values = "；".join(
            f"{name}x满意={num(b.satisfied, 4)}、x不允许={num(b.allowed, 4)}" for name, b in chosen
        )
        notes = list(dict.fromkeys(b.note or "界值为估计值" for _, b in chosen if not b.stated and not official))
        groups.append(f"{head}：{values}{''.join('，' + note for note in notes)}")
    return f"（{'；'.join(groups)}）"


def _hint(term: EfficacyTerm, bounds: Bounds, name: str, ctx: Context) -> str:
    verb = "降到" if term.direction == "lower" else "达到"
    return f"{name}要{verb}{qty(bounds.satisfied, _measure_unit(term.measure, ctx))}"


def _step_down(part: StepDownPart, ctx: Context) -> PartScore:
    x, unit = ctx.number(part.fact), ctx.unit(part.fact)
    shown = f"{part.label}{ctx.shown(part.fact)}"
    if x >= part.full_at - EPS:
        return _result(
            part, part.points, f"{shown}，达到{qty(part.full_at, unit)}，得{pts(part.points)}"
        )
    ratio = round((part.full_at - x) / part.step, 9)
    steps = math.ceil(ratio) if part.rounding == "ceil" else math.floor(ratio)
    cut = steps * part.each
    score = max(0.0, part.points - cut)
    rule = f"每下降{qty(part.step, unit)}扣{pts(part.each)}"
    end = f"扣{pts(cut)}，得{pts(score)}" if score > 0 else "扣完为止，得0分"
    return _result(
        part, score, f"{shown}，低于{qty(part.full_at, unit)}，{rule}，按{steps}档计，{end}"
    )


def _group(part: GroupPart, ctx: Context) -> PartScore:
    children = tuple(score_part(child, ctx) for child in part.parts)
    raw = sum(child.score for child in children)
    full = sum(child.max for child in children)
    cap = full if part.cap is None else min(part.cap, full)
    missing = tuple(f for child in children for f in child.missing)
    unanswered = all(child.unanswered or child.na for child in children) and any(
        c.unanswered for c in children
    )
    if raw > cap + EPS:
        reason = f"{part.label}：小计{pts(raw)}，最高{pts(cap)}，按{pts(cap)}计"
    else:
        reason = f"{part.label}：小计{pts(raw)}（最高{pts(cap)}）"
    return _result(
        part,
        min(raw, cap),
        reason,
        max_points=cap,
        children=children,
        missing=missing,
        unanswered=unanswered,
        estimated=any(c.estimated for c in children),
        na=all(c.na for c in children),
    )


def _veto(part: VetoPart, ctx: Context) -> PartScore:
    outcome = holds(part.when, ctx.answers)
    if outcome is True:
        head = "不予受理" if ctx.kind == "rejection" else "一票否决"
        return _result(part, 0.0, f"{head}：{part.label}，取消申报资格", vetoed=True)
    missing = tuple(f for f in part.facts() if f not in ctx.answers)
    if outcome is None:
        return _result(part, 0.0, f"{part.label}：未填报", missing=missing, unanswered=True)
    return _result(part, 0.0, f"{part.label}：否")


_EVALUATORS: dict[str, Callable[[Any, Context], PartScore]] = {
    "bool": _bool,
    "choice": _choice,
    "tiers": _tiers,
    "per_unit": _per_unit,
    "deduct": _deduct,
    "cases": _cases,
    "efficacy": _efficacy,
    "step_down": _step_down,
}
