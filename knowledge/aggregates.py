"""Questions answered by computing over the indicators: totals, extremes and filtered lists."""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge.model import Framework, Indicator, Plan

_POINTS_FILTER = re.compile(r"(?:满分|分值)?\s*(\d+(?:\.\d+)?)\s*分的")
_DATE = re.compile(r"\d{4}年\d{1,2}月?")
_SYNONYMS = {"已经完成": "已完成", "长期": "长期工作", "每年": "每年开展"}


def county_supplied(fw: Framework, plan: Plan) -> list[Indicator]:
    """Indicators whose data the county supplies: a plan's own table where it has one."""
    if plan.rows and plan.framework == fw.id:
        covered = {r.indicator for r in plan.rows}
        return [i for i in fw.scored_indicators if i.id in covered]
    return [i for i in fw.scored_indicators if i.county_supplied]


def provincial(fw: Framework, plan: Plan) -> list[Indicator]:
    """Indicators scored directly by provincial departments (the plan's reading where it has one)."""
    county = {i.id for i in county_supplied(fw, plan)}
    return [i for i in fw.scored_indicators if i.id not in county and i.county_supplied is not None]


def with_points(fw: Framework, text: str) -> list[Indicator] | None:
    """满分10分的有哪几项 → the indicators worth exactly that many points."""
    match = _POINTS_FILTER.search(text)
    if match is None:
        return None
    value = float(match.group(1))
    return [i for i in fw.scored_indicators if abs(i.points - value) < 1e-9]


def with_deadline(fw: Framework, text: str) -> tuple[str, list[Indicator]] | None:
    """哪些任务是2019年3月完成 / 写长期工作的是哪几项 → tasks with that 完成时限."""
    for wrong, right in _SYNONYMS.items():
        if wrong in text and right not in text:
            text = text.replace(wrong, right)
    values = sorted({i.deadline for i in fw.indicators.values() if i.deadline and len(i.deadline) >= 2}, key=len, reverse=True)
    wanted = [v for v in values if v in text]
    date = _DATE.search(text)
    if not wanted and date is None:
        return None
    value = wanted[0] if wanted else date.group(0)  # type: ignore[union-attr]
    return value, [i for i in fw.indicators.values() if i.deadline and i.deadline.startswith(value)]


def extreme(fw: Framework, highest: bool) -> list[Indicator]:
    """The indicators with the highest (or lowest) points."""
    scored = fw.scored_indicators
    if not scored:
        return []
    target = (max if highest else min)(i.points for i in scored)
    return [i for i in scored if i.points == target]


def mentioning(fw: Framework, phrases: Sequence[str]) -> tuple[str, list[Indicator]] | None:
    """Indicators whose title or criteria mention a phrase (用功效系数法的有哪些)."""
    for phrase in phrases:
        found = [i for i in fw.indicators.values() if phrase in i.criteria or phrase in i.title]
        if len(found) >= 2:
            return phrase, found
    return None
