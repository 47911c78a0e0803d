"""Working time on the French calendar: the arithmetic behind every SLA clock.

Pure Python (no ORM): a :class:`BusinessCalendar` is a team's opening hours on working days in
Europe/Paris, working days being Monday to Friday except French public holidays (from the
`holidays` package, metropolitan France).

Conventions, chosen to match what a viewer and a team lead would count by hand:

* A start outside opening hours counts from the next opening (a Saturday message counts from
  Monday 09:00; a message at 19:00 from the next working morning).
* *N working days* keep the time of day: a message on Friday at 17:00 with two working days
  is due on Tuesday at 17:00 (Wednesday if Monday is Easter Monday).
* *N working hours* consume opening hours only, across evenings, weekends and holidays.
* *Calendar* deadlines (the GDPR's "one month") ignore the calendar: 15 March → 15 April, the
  31st of a month clamped to the last day of a shorter month.

All results are aware datetimes in Europe/Paris; callers store them (Django keeps UTC).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_OPENS = time(9, 0)
DEFAULT_CLOSES = time(18, 0)


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year).keys())


def is_public_holiday(day: date) -> bool:
    return day in _french_holidays(day.year)


def is_working_day(day: date) -> bool:
    """Monday to Friday, except French public holidays."""
    return day.weekday() < 5 and not is_public_holiday(day)


def add_calendar_months(start: datetime, months: int) -> datetime:
    """``start`` plus whole months on the wall clock (the day clamped to the month's end)."""
    local = start.astimezone(PARIS)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return datetime.combine(date(year, month, day), local.timetz().replace(tzinfo=None), PARIS)


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours on working days; one per team (``Team.opens_at`` / ``closes_at``)."""

    opens_at: time = DEFAULT_OPENS
    closes_at: time = DEFAULT_CLOSES

    def __post_init__(self) -> None:
        if self.closes_at <= self.opens_at:
            raise ValueError("a team must close after it opens")

    @property
    def day_seconds(self) -> float:
        """Length of one working day, in seconds."""
        return (
            datetime.combine(date.min, self.closes_at) - datetime.combine(date.min, self.opens_at)
        ).total_seconds()

    def _opening(self, day: date) -> datetime:
        return datetime.combine(day, self.opens_at, PARIS)

    def _closing(self, day: date) -> datetime:
        return datetime.combine(day, self.closes_at, PARIS)

    @staticmethod
    def next_working_day(day: date) -> date:
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
        return day

    def align(self, moment: datetime) -> datetime:
        """The first working instant at or after ``moment`` (unchanged when within hours)."""
        local = moment.astimezone(PARIS)
        day = local.date()
        if is_working_day(day):
            if local < self._opening(day):
                return self._opening(day)
            if local < self._closing(day):
                return local
        return self._opening(self.next_working_day(day))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``days`` working days after ``start``, keeping its (aligned) time of day."""
        if days < 0:
            raise ValueError("days must not be negative")
        aligned = self.align(start)
        day = aligned.date()
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, aligned.timetz().replace(tzinfo=None), PARIS)

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """``start`` plus ``seconds`` of opening hours."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        current = self.align(start)
        remaining = float(seconds)
        while True:
            left_today = (self._closing(current.date()) - current).total_seconds()
            if remaining <= left_today:
                return current + timedelta(seconds=remaining)
            remaining -= left_today
            current = self._opening(self.next_working_day(current.date()))

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        return self.add_working_seconds(start, hours * 3600)

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Opening-hour seconds in [start, end); negative when ``end`` is before ``start``."""
        if end < start:
            return -self.working_seconds_between(end, start)
        start, end = start.astimezone(PARIS), end.astimezone(PARIS)
        total = 0.0
        day = start.date()
        last = end.date()
        # Whole weeks in the middle would be a shortcut; spans here are weeks, not years.
        while day <= last:
            if is_working_day(day):
                lo = max(start, self._opening(day))
                hi = min(end, self._closing(day))
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total
