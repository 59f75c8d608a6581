"""The campaign's dates: a plan's deadlines, phase ends and Jinan task 完成时限, rolled to a year.

Rolling (Config.campaign_year): the plans were issued for earlier campaigns (Pingyin 2022, Minquan
2020–2022, Jinan 2018–2020). Every date a plan gives — deadlines, phase ends, task 完成时限 — is
shifted by the same whole number of years, chosen so that the plan's *latest* date falls in the
campaign year; the order and spacing of the dates are kept. 29 February becomes 28 February in a
year without it. Dates the office sets in chat are never rolled.

Also here: reading the office's "/deadline 2026-12-15 提交自评材料 统计局 财政局" (pure).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from knowledge.departments import DepartmentIndex
from knowledge.errors import DeadlineError
from knowledge.model import Deadline, Framework, Plan
from knowledge.responsibility import Responsibility

WEEKDAYS = "一二三四五六日"
_FULL = re.compile(r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?$")
_SHORT = re.compile(r"^(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?$")
_LIST = re.compile(r"[、，,；;]+")
MAX_TEXT = 200


# --- the plan's dates --------------------------------------------------------------------------


def plan_deadlines(plan: Plan, responsibility: Responsibility) -> list[Deadline]:
    """The plan's deadlines, phase ends no deadline already covers, and task 完成时限 by day."""
    found = list(plan.deadlines)
    dated = {d.date for d in found}
    for phase in plan.phases:
        if phase.end is not None and phase.end not in dated:
            text = f"{phase.name}结束" + (f"（{phase.period}）" if phase.period else "")
            found.append(Deadline(f"phase:{phase.name}", phase.end, text, None, source="phase"))
            dated.add(phase.end)
    found += task_deadlines(responsibility.framework, responsibility)
    return sorted(found, key=lambda d: (d.date, d.id))


def task_deadlines(framework: Framework, responsibility: Responsibility) -> list[Deadline]:
    """One deadline per day on which tasks are due (Jinan 完成时限), naming their departments."""
    by_day: dict[date, list[str]] = {}
    for indicator in framework.indicators.values():
        when = indicator.editorial.deadline_date
        if when is not None:
            by_day.setdefault(when, []).append(indicator.id)
    out = []
    for day, ids in sorted(by_day.items()):
        departments: list[str] = []
        for ind_id in ids:
            found = responsibility.departments(framework.indicators[ind_id])
            departments.extend(d for d in found if d not in departments)
        text = f"完成时限为{day.year}年{day.month}月的{len(ids)}项任务"
        out.append(
            Deadline(f"tasks:{day.isoformat()}", day, text, tuple(departments), "task", tasks=tuple(ids))
        )
    return out


def roll_years(dates: Iterable[date], campaign_year: int | None) -> int:
    """Whole years to add so that the latest date falls in the campaign year (0 without one)."""
    latest = max(dates, default=None)
    if campaign_year is None or latest is None:
        return 0
    return campaign_year - latest.year


def shift(day: date, years: int) -> date:
    """The same day `years` later (29 February → 28 February when the year has none)."""
    if years == 0:
        return day
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def rolled(deadlines: Sequence[Deadline], campaign_year: int | None) -> list[Deadline]:
    """The deadlines moved to the campaign year by the rule above (the original date kept)."""
    years = roll_years((d.date for d in deadlines), campaign_year)
    if years == 0:
        return list(deadlines)
    return [replace(d, date=shift(d.date, years), original=d.original or d.date) for d in deadlines]


def upcoming(deadlines: Iterable[Deadline], today: date) -> list[Deadline]:
    """Deadlines on or after today, soonest first."""
    return sorted((d for d in deadlines if d.date >= today), key=lambda d: (d.date, d.id))


def concerns(deadline: Deadline, department: str) -> bool:
    """True when the deadline is for this department (or for every department)."""
    return deadline.departments is None or department in deadline.departments


def day_text(day: date) -> str:
    """2026-12-15（周二）."""
    return f"{day.isoformat()}（周{WEEKDAYS[day.weekday()]}）"


# --- the office's /deadline ------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRequest:
    """A deadline the office sets in chat: the day, what is due, for whom (None = everyone)."""

    date: date
    text: str
    departments: tuple[str, ...] | None


def parse_day(text: str, today: date) -> date | None:
    """2026-12-15, 2026/12/15, 2026年12月15日; 12月15日 is the next such day from today."""
    word = text.strip()
    full = _FULL.match(word)
    try:
        if full:
            return date(int(full["y"]), int(full["m"]), int(full["d"]))
        short = _SHORT.match(word)
        if short:
            day = date(today.year, int(short["m"]), int(short["d"]))
            return day if day >= today else date(today.year + 1, day.month, day.day)
    except ValueError:
        raise DeadlineError(f"日期“{word}”不存在。") from None
    return None


def parse_deadline(args: str, index: DepartmentIndex, today: date) -> DeadlineRequest:
    """"2026-12-15 提交自评材料 统计局 财政局": the day, the text, trailing departments."""
    words = args.split()
    if len(words) < 2:
        raise DeadlineError("格式：/deadline 日期 事项 [部门…]，例如：/deadline 2026-12-15 提交自评材料 统计局")
    day = parse_day(words[0], today)
    if day is None:
        raise DeadlineError(f"“{words[0][:20]}”不是日期，请写成 2026-12-15 或 12月15日。")
    if day < today:
        raise DeadlineError(f"{day.isoformat()} 已经过去了，请设置今天或以后的日期。")
    rest = words[1:]
    departments: list[str] = []
    while len(rest) > 1:
        found = _departments(rest[-1], index)
        if found is None:
            break
        departments = [*found, *(d for d in departments if d not in found)]
        rest = rest[:-1]
    text = " ".join(rest)[:MAX_TEXT]
    return DeadlineRequest(day, text, tuple(departments) or None)


def _departments(word: str, index: DepartmentIndex) -> list[str] | None:
    """The departments a word names through the aliases (统计局、财政局), or None if any is unknown."""
    out: list[str] = []
    for part in (p for p in _LIST.split(word) if p):
        found = index.resolve(part)
        if not found:
            return None
        if len(found) > 1:
            names = "、".join(found)
            raise DeadlineError(f"“{part}”可指多个部门：{names}，请写得更具体。")
        out.extend(d for d in found if d not in out)
    return out or None
