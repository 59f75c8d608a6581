"""The scoring engine: indicators and whole frameworks scored from answers, with reasons and gaps."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from knowledge.bounds import bounds_problem, term_measure
from knowledge.display import pts, round2
from knowledge.errors import RuleError
from knowledge.rules import EPS, Bounds, EfficacyPart, Fact, Rule, Value, walk
from scoring.answers import coerce
from scoring.bounds import bounds_in_use
from scoring.checklist import checklist_facts, checklist_report
from scoring.derived import derive
from scoring.errors import ScoringError
from scoring.evaluate import NA_TREATMENTS, Context, not_applicable, score_part
from scoring.results import (
    Assessment,
    DepartmentShare,
    Gap,
    IndicatorScore,
    PartScore,
    Subtotal,
)

if TYPE_CHECKING:
    from knowledge.model import Framework, Indicator, Plan

UnitsFor = Callable[[str], Sequence[str]]
SCORED_KINDS = ("indicator", "bonus")
_SPLIT = re.compile(r"[、，,；;\s]+")


def score_indicator(
    indicator: Indicator,
    answers: Mapping[str, object],
    bounds: Mapping[str, Bounds] | None = None,
    na_treatment: str = "full",
) -> IndicatorScore:
    """Score one indicator from answers keyed by fact id: parts, cap, reasons."""
    if na_treatment not in NA_TREATMENTS:
        raise ScoringError(f"合理缺项的处理方式应为 {' 或 '.join(NA_TREATMENTS)}")
    facts = {fact.id: fact for fact in indicator.facts}
    rule = indicator.rule
    if rule is None:
        return _unscored(indicator)
    typed = typed_answers(facts, answers)
    ctx = Context(
        facts=facts,
        answers=typed,
        bounds=_local_bounds(indicator.id, bounds or {}),
        kind=indicator.kind,
        na_treatment=na_treatment,
        derived=derive(facts, typed),
    )
    if rule.na_when and ctx.answers.get(rule.na_when) is True:
        parts = tuple(not_applicable(part, ctx) for part in rule.parts)
    else:
        parts = tuple(score_part(part, ctx) for part in rule.parts)
    return _total(indicator, rule, parts)


def typed_answers(facts: Mapping[str, Fact], answers: Mapping[str, object]) -> dict[str, Value]:
    """The answers as typed values (strings parsed), derived facts computed from the raw ones.

    A typed derived value is never used: the value comes from its inputs, or is absent.
    """
    typed: dict[str, Value] = {
        fact_id: coerce(fact, answers[fact_id])
        for fact_id, fact in facts.items()
        if answers.get(fact_id) is not None and not fact.is_derived
    }
    for fact_id, result in derive(facts, typed).items():
        if result.value is not None:
            typed[fact_id] = result.value
    return typed


def _local_bounds(indicator_id: str, bounds: Mapping[str, Bounds]) -> dict[str, Bounds]:
    prefix = f"{indicator_id}."
    return {key[len(prefix) :]: value for key, value in bounds.items() if key.startswith(prefix)}


def _unscored(indicator: Indicator) -> IndicatorScore:
    return IndicatorScore(
        framework=indicator.framework,
        indicator=indicator.id,
        title=indicator.label,
        kind=indicator.kind,
        level1=indicator.level1,
        level2=indicator.level2,
        score=0.0,
        max=0.0 if indicator.kind in ("veto", "rejection", "task") else indicator.points,
        note="尚无计分规则，暂按0分计" if indicator.points > 0 else "",
    )


def _total(indicator: Indicator, rule: Rule, parts: tuple[PartScore, ...]) -> IndicatorScore:
    raw = sum(part.score for part in parts)
    limit = 0.0 if rule.is_veto else min(rule.limit, sum(part.max for part in parts))
    cap_reason = ""
    if raw > limit + EPS and not rule.is_veto:
        cap_reason = f"各部分合计{pts(raw)}，累计不超过{pts(limit)}，按{pts(limit)}计"
        note = rule.cap_note.rstrip("。.")
        if note and note not in cap_reason:
            cap_reason += f"（{note}）"
    missing: list[str] = []
    for part in parts:
        missing.extend(f for f in part.missing if f not in missing)
    return IndicatorScore(
        framework=indicator.framework,
        indicator=indicator.id,
        title=indicator.label,
        kind=indicator.kind,
        level1=indicator.level1,
        level2=indicator.level2,
        score=round2(min(raw, limit)),
        max=round2(limit),
        parts=parts,
        cap_reason=cap_reason,
        estimated=any(part.estimated for part in parts),
        missing=tuple(missing),
        vetoed=any(part.vetoed for part in parts),
        na=bool(parts) and all(p.na for p in parts),
    )


# --- gaps -----------------------------------------------------------------------------------


def gaps_of(score: IndicatorScore, departments: Sequence[str] = ()) -> list[Gap]:
    """What each answered part can still win, limited by the group and indicator caps."""
    headroom = score.max - score.score
    out: list[Gap] = []
    for part in score.parts:
        out.extend(_part_gaps(score, part, headroom, tuple(departments)))
    return out


def _part_gaps(
    score: IndicatorScore, part: PartScore, headroom: float, departments: tuple[str, ...]
) -> list[Gap]:
    if part.na or part.unanswered or part.vetoed or part.method == "veto":
        return []
    room = min(part.lost, headroom)
    if part.children:
        return [g for c in part.children for g in _part_gaps(score, c, room, departments)]
    points = round2(room)
    if points <= 0:
        return []
    hint = f"，{part.hint}" if part.hint else ""
    return [
        Gap(
            framework=score.framework,
            indicator=score.indicator,
            title=score.title,
            part=part.id,
            label=part.label,
            points=points,
            action=f"{part.action}{hint}，可再得{pts(points)}",
            departments=departments,
            estimated=part.estimated,
        )
    ]


# --- frameworks -----------------------------------------------------------------------------


def framework_facts(framework: Framework) -> dict[str, Fact]:
    """Every fact a framework's answers may carry: declared facts and checklist entries."""
    facts = {fact.id: fact for ind in framework.indicators.values() for fact in ind.facts}
    if framework.scoring == "checklist":
        facts.update(checklist_facts(framework))
    return facts


def efficacy_bounds(
    framework: Framework, plan: Plan | None = None, bounds: Mapping[str, Bounds] | None = None
) -> dict[str, Bounds]:
    """Plan overrides (plan.efficacy, "17.b": {satisfied, allowed}) merged under explicit bounds."""
    merged: dict[str, Bounds] = {}
    for key, raw in (plan.efficacy if plan is not None else {}).items():
        merged[key] = Bounds(raw["satisfied"], raw["allowed"], stated=False, note="按方案设定")
    merged.update(bounds or {})
    for key, value in merged.items():
        _check_override(framework, key, value)
    return merged


def _check_override(framework: Framework, key: str, bounds: Bounds) -> None:
    ind_id, _, rest = key.partition(".")
    part_id, _, term = rest.partition(".")
    indicator = framework.indicators.get(ind_id)
    rule = indicator.rule if indicator is not None else None
    part = next((p for p in walk(rule.parts) if p.id == part_id), None) if rule else None
    if not isinstance(part, EfficacyPart):
        raise RuleError(f"efficacy.{key}", "没有这个功效系数部分（应为 指标.部分，如 17.b）")
    if part.weighted != bool(term) or (
        term and not (term.isdigit() and 1 <= int(term) <= len(part.terms))
    ):
        raise RuleError(
            f"efficacy.{key}",
            "加权的功效系数部分应写到第几项（如 10.a.1），其余写到部分（如 17.b）",
        )
    index = int(term) - 1 if term else 0
    measure = term_measure(indicator, part, index)  # type: ignore[arg-type]
    problem = bounds_problem(measure, bounds.satisfied, bounds.allowed)
    if problem:
        raise RuleError(f"efficacy.{key}", problem)


def score_framework(
    framework: Framework,
    answers: Mapping[str, object],
    *,
    plan: Plan | None = None,
    department: str | None = None,
    bounds: Mapping[str, Bounds] | None = None,
    units_for: UnitsFor | None = None,
    today: date | None = None,
    na_treatment: str = "full",
    exact: bool = False,
) -> Assessment:
    """Score a whole framework: totals, subtotals, veto status, pass line, ranked gaps.

    A department matches a unit it is part of (市场监管局 → 县市场监管局); with exact=True
    (units_for returns canonical department ids) it must equal one (统计局 is not 省统计局).
    """
    merged = efficacy_bounds(framework, plan, bounds)
    units = units_for or default_units(framework, plan)
    scores = [
        score_indicator(ind, answers, merged, na_treatment)
        for ind in framework.indicators.values()
        if ind.rule is not None or ind.kind in SCORED_KINDS
    ]
    vetoes = tuple(reason for s in scores if s.vetoed for reason in _veto_reasons(s))
    whole_max = round2(sum(s.max for s in scores if s.kind == "indicator"))
    share = None
    if department is not None:
        scores = [s for s in scores if _responsible(department, units(s.indicator), exact)]
        share = _share(department, scores, whole_max)
    result = _assessment(framework, scores, vetoes, units, share, answers, today, department, exact)
    return replace(result, bounds=bounds_in_use(framework, merged, (s.indicator for s in scores)))


def _veto_reasons(score: IndicatorScore) -> list[str]:
    return [part.reason for part in score.parts if part.vetoed]


def _assessment(
    framework: Framework,
    scores: list[IndicatorScore],
    vetoes: tuple[str, ...],
    units: UnitsFor,
    share: DepartmentShare | None,
    answers: Mapping[str, object],
    today: date | None,
    department: str | None,
    exact: bool = False,
) -> Assessment:
    main = [s for s in scores if s.kind == "indicator"]
    bonus = round2(sum(s.score for s in scores if s.kind == "bonus"))
    total = round2(sum(s.score for s in main) + bonus)
    gaps = [g for s in scores for g in gaps_of(s, tuple(units(s.indicator)))]
    order = {ind_id: i for i, ind_id in enumerate(framework.indicators)}
    gaps.sort(key=lambda g: (-g.points, order.get(g.indicator, 0)))
    checklist = None
    if framework.scoring == "checklist":
        keep = None if department is None else (lambda i: _responsible(department, units(i), exact))
        checklist = checklist_report(framework, answers, today, keep)
    passed = (
        None if framework.pass_line is None else (not vetoes and total >= framework.pass_line - EPS)
    )
    return Assessment(
        framework=framework.id,
        total=total,
        max=round2(sum(s.max for s in main)),
        indicators=tuple(scores),
        subtotals=tuple(subtotals(framework, scores)),
        bonus=bonus,
        pass_line=framework.pass_line,
        passed=passed,
        disqualified=bool(vetoes),
        vetoes=vetoes,
        gaps=tuple(gaps),
        missing=tuple(f for s in scores for f in s.missing),
        estimated=any(s.estimated for s in scores),
        department=share,
        checklist=checklist,
    )


def subtotals(framework: Framework, scores: Sequence[IndicatorScore]) -> list[Subtotal]:
    """Score and maximum per 一级, each followed by its 二级 headings that have indicators."""
    out: list[Subtotal] = []
    for level in framework.levels:
        members = [s for s in scores if s.level1 == level.name]
        if not members:
            continue
        out.append(_subtotal(level.name, None, members))
        for child in level.children:
            inside = [s for s in members if s.level2 == child.name]
            if inside:
                out.append(_subtotal(level.name, child.name, inside))
    return out


def _subtotal(level1: str, level2: str | None, members: list[IndicatorScore]) -> Subtotal:
    score = round2(sum(s.score for s in members))
    top = round2(sum(s.max for s in members if s.kind == "indicator"))
    return Subtotal(level1=level1, level2=level2, score=score, max=top)


def _share(department: str, scores: list[IndicatorScore], whole_max: float) -> DepartmentShare:
    top = round2(sum(s.max for s in scores if s.kind == "indicator"))
    return DepartmentShare(
        department=department,
        indicators=tuple(s.indicator for s in scores),
        score=round2(sum(s.score for s in scores if s.kind in SCORED_KINDS)),
        max=top,
        share=round(top / whole_max, 4) if whole_max else 0.0,
    )


# --- who is responsible -----------------------------------------------------------------------


def default_units(framework: Framework, plan: Plan | None) -> UnitsFor:
    """Units per indicator: the plan's responsible list, else the framework's own unit cells."""

    def units(indicator_id: str) -> list[str]:
        if plan is not None and not plan.responsible_from_framework:
            return list(plan.responsible.get(indicator_id, ()))
        indicator = framework.indicators.get(indicator_id)
        return indicator_units(indicator) if indicator is not None else []

    return units


def indicator_units(indicator: Indicator) -> list[str]:
    """Unit strings named in the framework itself: 牵头/配合单位, 责任单位 cells, 数据来源."""
    cells = [indicator.lead or "", indicator.support or ""]
    cells += [line.units for line in indicator.lines]
    if not indicator.county_supplied:
        cells.append(indicator.data_source or "")
    out: list[str] = []
    for cell in cells:
        out.extend(u for u in _SPLIT.split(cell) if u and u not in out)
    return out


def _responsible(department: str, units: Sequence[str], exact: bool = False) -> bool:
    if exact:
        return department in units
    return any(department == unit or department in unit for unit in units)
