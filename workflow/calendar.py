"""Counting days the way the rules count them, on the official Chinese calendar.

A term of N days does not count its start day (民事诉讼法 第八十五条). Working days are
Monday to Friday except statutory holidays, plus the make-up working days (调休) that the
State Council's yearly notice moves onto weekends. Years whose notice is not entered are
counted on plain weekends and the result is marked provisional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from .models import CalendarDay, CalendarYear, TimeUnit
from .refdata import cached

# A day-based term ends at the end of its last day, local time.
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Due:
    at: datetime
    provisional: bool


class WorkingCalendar:
    def __init__(self, exceptions: dict[date, bool], known_years: set[int]) -> None:
        self.exceptions = exceptions
        self.known_years = known_years

    def is_working(self, day: date) -> bool:
        return self.exceptions.get(day, day.weekday() < 5)

    def is_known(self, day: date) -> bool:
        return day.year in self.known_years

    def next_working_day(self, day: date) -> date:
        """The first working day on or after `day`."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, n: int) -> tuple[date, bool]:
        """The Nth working day after `start` (start not counted), and whether any day
        counted lies in a year whose holidays are not entered."""
        day, counted, provisional = start, 0, False
        while counted < n:
            day += timedelta(days=1)
            provisional |= not self.is_known(day)
            if self.is_working(day):
                counted += 1
        return day, provisional

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in (first, last]: what a pause from `first` to `last` took
        out of a working-day term."""
        return sum(self.is_working(first + timedelta(days=i)) for i in range(1, (last - first).days + 1))

    def add(self, start: datetime, n: int, unit: str, *, holiday_shift: bool = True) -> Due:
        """When a term of `n` units started at `start` ends."""
        if n <= 0:
            return Due(start, False)
        if unit == TimeUnit.HOURS:
            return Due(start + timedelta(hours=n), False)
        tz = ZoneInfo(settings.TIME_ZONE)
        start_day = timezone.localtime(start, tz).date()
        if unit == TimeUnit.WORKING_DAYS:
            day, provisional = self.add_working_days(start_day, n)
        elif unit == TimeUnit.CALENDAR_DAYS:
            day, provisional = start_day + timedelta(days=n), False
            if holiday_shift:
                provisional = not self.is_known(day)
                shifted = self.next_working_day(day)
                provisional |= shifted != day and not self.is_known(shifted)
                day = shifted
        else:
            raise ValueError(f"unknown time unit {unit!r}")
        return Due(datetime.combine(day, END_OF_DAY, tzinfo=tz), provisional)

    def elapsed(self, since: datetime, until: datetime, unit: str) -> int:
        """Whole units between two moments, as a pause excludes them from a term."""
        if until <= since:
            return 0
        if unit == TimeUnit.HOURS:
            return int((until - since).total_seconds() // 3600)
        tz = ZoneInfo(settings.TIME_ZONE)
        first, last = timezone.localtime(since, tz).date(), timezone.localtime(until, tz).date()
        if unit == TimeUnit.WORKING_DAYS:
            return self.working_days_between(first, last)
        return (last - first).days


def load_calendar() -> WorkingCalendar:
    return WorkingCalendar(
        dict(CalendarDay.objects.values_list("date", "working")),
        set(CalendarYear.objects.values_list("year", flat=True)),
    )


_calendar = cached(load_calendar)


def get_calendar() -> WorkingCalendar:
    return _calendar.get()


def invalidate_calendar() -> None:
    """Called after the calendar is edited, so this process counts with the new days."""
    _calendar.invalidate()
