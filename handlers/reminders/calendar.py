"""Working time in the county's time zone: Chinese working days (holidays, 调休) and office hours.

Which days are working days, in this order:

1. the office's own entries (`/holiday` in chat, then the `QCBOT_HOLIDAYS_FILE`): 休 = closed,
   班 = an adjusted working day (调休补班);
2. `chinesecalendar`, for the years its installed version has data for (checked at run time);
3. otherwise Monday to Friday — such a day is *uncovered* and every text that names it says so
   (`UNCOVERED_NOTE`). A year for which the office entered anything counts as covered by the office.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

MAX_CLOSED_DAYS = 60  # no run of holidays is longer; a guard against a broken calendar
MAX_RANGE_DAYS = 60
OFF, ON = "休", "班"
UNCOVERED_NOTE = "（节假日数据未覆盖该日期，按周一至周五计算）"
_KIND_WORDS = {OFF: OFF, "假": OFF, "放假": OFF, "休息": OFF, "holiday": OFF, "off": OFF,
               ON: ON, "补班": ON, "上班": ON, "workday": ON, "work": ON}
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")

log = logging.getLogger("qcbot.reminders")


class HolidayError(ValueError):
    """A holiday entry (in chat or in the file) that cannot be read; the message says why, in Chinese."""


@dataclass(frozen=True)
class OfficeDay:
    """One day the office declared: closed (休) or an adjusted working day (班)."""

    day: date
    kind: str  # 休 | 班
    name: str = ""


@dataclass
class OfficeCalendar:
    """The office's declared days: from the file (fixed at start) and from chat (reloaded)."""

    from_file: dict[date, OfficeDay] = field(default_factory=dict)
    from_chat: dict[date, OfficeDay] = field(default_factory=dict)

    def replace_chat(self, days: Iterable[OfficeDay]) -> None:
        """Take the days entered in chat (the newest entry for a day wins)."""
        self.from_chat = {d.day: d for d in days}

    def get(self, day: date) -> OfficeDay | None:
        """The office's entry for a day (chat over file), if any."""
        return self.from_chat.get(day) or self.from_file.get(day)

    def years(self) -> set[int]:
        """Years the office has entered days for."""
        return {d.year for d in (*self.from_file, *self.from_chat)}


_covered_years: dict[int, bool] = {}
_warned_years: set[int] = set()


def library_covers(year: int) -> bool:
    """True when the installed `chinesecalendar` has holiday data for the year (probed once)."""
    if year not in _covered_years:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            _covered_years[year] = True
        except NotImplementedError:
            _covered_years[year] = False
    return _covered_years[year]


def library_range() -> tuple[int, int]:
    """The first and last year `chinesecalendar` knows (probed around today)."""
    this = date.today().year
    covered = [y for y in range(2000, this + 10) if library_covers(y)]
    return (covered[0], covered[-1]) if covered else (this, this - 1)


@dataclass(frozen=True)
class WorkingTime:
    """Office hours [start, end) on working days: the office's days, `chinesecalendar`, else Mon–Fri."""

    tz: ZoneInfo
    start_hour: int = 9
    end_hour: int = 18
    office: OfficeCalendar = field(default_factory=OfficeCalendar, compare=False)

    def covered(self, day: date) -> bool:
        """True when the office or `chinesecalendar` says whether the day is a working day."""
        if self.office.get(day) is not None or day.year in self.office.years():
            return True
        return library_covers(day.year)

    def is_workday(self, day: date) -> bool:
        """A working day: holidays are not, adjusted weekend working days (调休) are.

        An uncovered day (see the module docstring) is a working day Monday to Friday, and a
        warning is logged once per year.
        """
        entry = self.office.get(day)
        if entry is not None:
            return entry.kind == ON
        if library_covers(day.year):
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self.office.years() and day.year not in _warned_years:
            _warned_years.add(day.year)
            first, last = library_range()
            log.warning(
                "chinesecalendar has no holidays for %d (installed data: %d–%d); counting Monday to"
                " Friday until the office adds them (/holiday or QCBOT_HOLIDAYS_FILE)", day.year, first, last,
            )
        return day.weekday() < 5

    def note(self, *days: date) -> str:
        """UNCOVERED_NOTE when any of the days is uncovered, else ""."""
        return UNCOVERED_NOTE if any(not self.covered(d) for d in days) else ""

    def local(self, moment: datetime) -> datetime:
        """The moment in the county's time zone."""
        return moment.astimezone(self.tz)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A local wall-clock time on a day."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def is_open(self, moment: datetime) -> bool:
        """True on a working day within office hours."""
        local = self.local(moment)
        return self.is_workday(local.date()) and self.start_hour <= local.hour < self.end_hour

    def last_workday(self, day: date) -> date | None:
        """The day itself when it is a working day, else the last working day before it."""
        for _ in range(MAX_CLOSED_DAYS):
            if self.is_workday(day):
                return day
            day -= timedelta(days=1)
        return None

    def next_open(self, moment: datetime) -> datetime:
        """The moment itself when the office is open, else when it next opens."""
        local = self.local(moment)
        day = local.date()
        if self.is_workday(day):
            if local.hour < self.start_hour:
                return self.at(day, self.start_hour)
            if local.hour < self.end_hour:
                return local
        for _ in range(MAX_CLOSED_DAYS):
            day += timedelta(days=1)
            if self.is_workday(day):
                return self.at(day, self.start_hour)
        return self.at(day, self.start_hour)


# --- the office's entries: "/holiday 2027-10-01 2027-10-07 国庆", "/holiday 补班 2027-10-09", files


@dataclass(frozen=True)
class HolidayRequest:
    """Days the office declares in chat: first to last, closed or working, with a name."""

    first: date
    last: date
    kind: str
    name: str

    def days(self) -> list[OfficeDay]:
        """One entry per day of the range."""
        count = (self.last - self.first).days + 1
        return [OfficeDay(self.first + timedelta(days=i), self.kind, self.name) for i in range(count)]


def parse_holiday(args: str) -> HolidayRequest:
    """"2027-10-01 2027-10-07 国庆" (休), "补班 2027-10-09", "2027-10-09 补班 国庆调休"."""
    words = args.split()
    kind = OFF
    rest: list[str] = []
    for word in words:
        if word in _KIND_WORDS and len(rest) <= 2 and all(_DATE.match(w) for w in rest):
            kind = _KIND_WORDS[word]
        else:
            rest.append(word)
    dates = [w for w in rest[:2] if _DATE.match(w)]
    if not dates:
        raise HolidayError(
            "格式：/holiday 2027-10-01 2027-10-07 国庆（放假）或 /holiday 补班 2027-10-09（调休上班）"
        )
    first, last = _date(dates[0]), _date(dates[-1])
    if last < first:
        raise HolidayError(f"结束日期 {last.isoformat()} 早于开始日期 {first.isoformat()}。")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise HolidayError(f"一次最多设置{MAX_RANGE_DAYS}天。")
    name = " ".join(rest[len(dates):])[:40]
    return HolidayRequest(first, last, kind, name)


def _date(text: str) -> date:
    try:
        return date.fromisoformat("-".join(p.zfill(2) for p in text.split("-")))
    except ValueError:
        raise HolidayError(f"日期“{text[:20]}”不存在。") from None


def read_holiday_file(path: str | Path) -> list[OfficeDay]:
    """The office's days from a YAML list or a CSV (date, kind 休/班, name); HolidayError names the row."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HolidayError(f"无法读取节假日文件 {source}：{exc.strerror or exc}") from None
    rows = _csv_rows(text) if source.suffix.lower() == ".csv" else _yaml_rows(text, source)
    out = []
    for number, row in rows:
        where = f"{source.name} 第{number}条"
        day = _file_date(row.get("date"), where)
        kind = _KIND_WORDS.get(str(row.get("kind") or "").strip())
        if kind is None:
            raise HolidayError(f"{where}：kind 应为 休 或 班，而不是 {row.get('kind')!r}")
        out.append(OfficeDay(day, kind, str(row.get("name") or "").strip()[:40]))
    return out


def _csv_rows(text: str) -> list[tuple[int, Mapping[str, object]]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if rows and rows[0] and rows[0][0].strip().lower() == "date":
        rows = rows[1:]
    return [(n, dict(zip(("date", "kind", "name"), (c.strip() for c in r), strict=False)))
            for n, r in enumerate(rows, 1)]


def _yaml_rows(text: str, source: Path) -> list[tuple[int, Mapping[str, object]]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HolidayError(f"节假日文件 {source.name} 不是有效的 YAML：{str(exc)[:120]}") from None
    if isinstance(data, dict):
        data = data.get("holidays")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise HolidayError(f"节假日文件 {source.name} 应为列表：- {{date: 2027-10-01, kind: 休, name: 国庆}}")
    return list(enumerate(data, 1))


def _file_date(raw: object, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise HolidayError(f"{where}：日期 {raw!r} 应写成 2027-10-01") from None
