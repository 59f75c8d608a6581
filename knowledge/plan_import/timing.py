"""A task row's 完成时限 cell → the day it is due, and the plan's deadlines: one per day, naming its departments.

A cell names a day when it gives a year: 2022年12月底前 and 2022年12月 → 2022-12-31, 2022年7月26日前
→ 2022-07-26, 2022.6 → 2022-06-30, 2022年上半年 → 2022-06-30, 2022年底 → 2022-12-31; of a range
(2022年6月至12月) the end. 长期坚持, 定期, 每年…, a month without a year: no day (listed, not written).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from knowledge.model import Deadline

_RECURRING = re.compile(r"长期|持续|定期|每年|每季|每月|每半年|常态|经常|随时|适时")
_YEAR = r"(?P<y>20\d\d)"
_FORMS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        _YEAR + r"\s*[年./-]\s*(?P<m>\d{1,2})\s*[月./-]\s*(?P<d>\d{1,2})(?!\d)",
        _YEAR + r"\s*[年./-]\s*(?P<m>\d{1,2})(?![\d.])\s*月?",
        _YEAR + r"\s*年?\s*(?P<half>上半年|年中|前半年)",
        _YEAR + r"\s*年",
    )
)
_RANGE_END = re.compile(r"(至|到|—|－|~|～|-)\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*[日号])?")
MAX_TASKS_NAMED = 12  # indicator numbers named in one deadline's text, then 等


def due_day(cell: str) -> date | None:
    """The day a 完成时限 cell names, or None (recurring, no year, or no such day)."""
    text = unicodedata.normalize("NFKC", cell).strip()
    if not text or _RECURRING.search(text):
        return None
    for form in _FORMS:
        found = list(form.finditer(text))
        if not found:
            continue
        match = found[-1]  # of a range, the end
        parts = match.groupdict()
        year = int(parts["y"])
        month, day = _month_day(parts, text[match.end():])
        try:
            if day is None:
                return date(year, month, calendar.monthrange(year, month)[1])
            return date(year, month, day)
        except (ValueError, calendar.IllegalMonthError):
            return None
    return None


def _month_day(parts: dict[str, str | None], rest: str) -> tuple[int, int | None]:
    """Month and day of a match (a range's end month when one follows: 2022年6月至12月)."""
    end = _RANGE_END.match(rest.strip())
    if end is not None:
        return int(end["m"]), int(end["d"]) if end["d"] else None
    if parts.get("half"):
        return 6, 30
    month, day = parts.get("m"), parts.get("d")
    if month is None:
        return 12, 31
    return int(month), int(day) if day else None


@dataclass(frozen=True)
class DueRow:
    """What a row contributes to a deadline: its cell, label, indicator (None: unplaced) and departments."""

    cell: str
    label: str
    indicator: str | None
    departments: tuple[str, ...]


def deadlines(rows: Iterable[DueRow]) -> tuple[list[Deadline], dict[str, list[str]]]:
    """One deadline per day the rows are due (departments: every department they name); and the undated cells."""
    by_day: dict[date, list[DueRow]] = {}
    undated: dict[str, list[str]] = {}
    for row in rows:
        if not row.cell.strip():
            continue
        day = due_day(row.cell)
        if day is None:
            undated.setdefault(row.cell.strip(), []).append(row.label)
        else:
            by_day.setdefault(day, []).append(row)
    out = [_deadline(day, due) for day, due in sorted(by_day.items())]
    return out, undated


def _deadline(day: date, rows: Sequence[DueRow]) -> Deadline:
    cells = list(dict.fromkeys(r.cell.strip() for r in rows))
    ids = sorted({r.indicator for r in rows if r.indicator is not None}, key=lambda i: (len(i), i))
    named = "、".join(ids[:MAX_TASKS_NAMED]) + ("等" if len(ids) > MAX_TASKS_NAMED else "")
    text = f"任务分解表中完成时限为{'、'.join(cells)}的{len(rows)}行任务" + (f"（指标第{named}项）" if named else "")
    departments: list[str] = []
    for r in rows:
        departments.extend(d for d in r.departments if d not in departments)
    return Deadline(f"tasks-{day.isoformat()}", day, text, tuple(departments) or None, source="task")
