"""Working time in the county's time zone: Chinese working days (holidays, 调休) and office hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

MAX_CLOSED_DAYS = 60  # no run of holidays is longer; a guard against a broken calendar


@dataclass(frozen=True)
class WorkingTime:
    """Office hours [start, end) on working days, as `chinesecalendar` knows them."""

    tz: ZoneInfo
    start_hour: int = 9
    end_hour: int = 18

    def is_workday(self, day: date) -> bool:
        """A working day: holidays are not, adjusted weekend working days (调休) are.

        Outside the years the calendar covers, Monday to Friday.
        """
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

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
