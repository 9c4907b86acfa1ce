"""Reporting periods: a month ("2026-03"), a half-year ("2026-H1", the twice-yearly
assessment) or a year ("2026"), in local time. Ledgers, meetings and the assessment
count what happened from the first moment of the period up to, not including, the
first moment of the next."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-H([12]))?$")


class BadPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    first: date  # first day
    last: date  # last day
    label: str

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return local_midnight(date.fromordinal(self.last.toordinal() + 1))

    @property
    def is_month(self) -> bool:
        return len(self.label) == 7 and self.label[4] == "-" and self.label[5] != "H"

    @property
    def year_start(self) -> datetime:
        return local_midnight(date(self.first.year, 1, 1))

    def months(self) -> list[date]:
        """The first day of each month in the period."""
        out, day = [], self.first
        while day <= self.last:
            out.append(day)
            day = next_month(day)
        return out


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def last_month() -> date:
    """The first day of last month, in local time: the month the township's pages and the
    API open on when none is asked for."""
    first = timezone.localdate().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def month_period(month: date) -> Period:
    first = date(month.year, month.month, 1)
    return Period(first, date.fromordinal(next_month(first).toordinal() - 1), f"{first:%Y-%m}")


def parse_period(text: str) -> Period:
    """"YYYY-MM", "YYYY-H1"/"YYYY-H2" or "YYYY"; anything else raises BadPeriod."""
    match = PERIOD.match((text or "").strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise BadPeriod(_("A period is written YYYY-MM (a month), YYYY-H1 or YYYY-H2 (a half-year) or YYYY "
                          "(a year), not “%(text)s”.") % {"text": text})
    year = int(match.group(1))
    if match.group(2):
        return month_period(date(year, int(match.group(2)), 1))
    if match.group(3):
        half = int(match.group(3))
        first, last = (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))
        return Period(first, last, f"{year}-H{half}")
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


def parse_month(value: date | str) -> date:
    """The first day of the month `value` names ("2026-03" or any date in it)."""
    if isinstance(value, date):
        return date(value.year, value.month, 1)
    period = parse_period(value)
    if not period.is_month:
        raise BadPeriod(_("Give a month as YYYY-MM, not “%(text)s”.") % {"text": value})
    return period.first
