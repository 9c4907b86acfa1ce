"""The official holiday calendar, seeded from the `chinesecalendar` package.

Working days follow the State Council's yearly notice on holiday arrangements
(国务院办公厅关于部分节假日安排的通知), make-up working days (调休) included (docs/workflow.md: Deadlines).
The package transcribes those notices from 2004 on, so its years are seeded rather than
typed in; later years are entered by an administrator. Only exceptions to Monday-to-Friday
work are stored, under their Chinese names, which is what CalendarDay holds.

The model classes are parameters so the data migration can pass its historical models.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import chinese_calendar
from chinese_calendar import Holiday
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model

# The names the notices use; the package's own Chinese names are shortened (清明, 端午, 中秋).
HOLIDAY_NAMES: dict[str, str] = {
    Holiday.new_years_day.value: "元旦",
    Holiday.spring_festival.value: "春节",
    Holiday.tomb_sweeping_day.value: "清明节",
    Holiday.labour_day.value: "劳动节",
    Holiday.dragon_boat_festival.value: "端午节",
    Holiday.mid_autumn_festival.value: "中秋节",
    Holiday.national_day.value: "国庆节",
}
MAKE_UP_SUFFIX = "调休"


def package_years() -> tuple[int, int]:
    """The first and last year the installed package has notices for."""
    return min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year


def chinese_name(english: str) -> str:
    return HOLIDAY_NAMES.get(english) or Holiday(english).chinese


def official_exceptions(year: int) -> Iterator[tuple[date, bool, str]]:
    """(date, working, name) for each day of `year` that differs from Monday-to-Friday work."""
    day = date(year, 1, 1)
    while day.year == year:
        working = chinese_calendar.is_workday(day)
        if working != (day.weekday() < 5):
            _, english = chinese_calendar.get_holiday_detail(day)
            name = chinese_name(english)
            yield day, working, name + MAKE_UP_SUFFIX if working else name
        day += timedelta(days=1)


def seed_official_calendar(
    first: int = 2004,
    last: int = 2026,
    *,
    day_model: type[Model] | None = None,
    year_model: type[Model] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[int, int]:
    """Enter the years `first`..`last` that the package knows, overwriting rows for the
    same dates (so it can run again), and return (years, days) written."""
    if day_model is None or year_model is None:
        from .models import CalendarDay, CalendarYear

        day_model, year_model = day_model or CalendarDay, year_model or CalendarYear
    known_first, known_last = package_years()
    years = range(max(first, known_first), min(last, known_last) + 1)
    days = [
        day_model(date=day, working=working, name=name)
        for year in years
        for day, working, name in official_exceptions(year)
    ]
    day_model.objects.using(using).bulk_create(
        days, update_conflicts=True, unique_fields=["date"], update_fields=["working", "name"]
    )
    note = f"chinesecalendar {chinese_calendar.__version__}"
    year_model.objects.using(using).bulk_create(
        [year_model(year=year, note=note) for year in years],
        update_conflicts=True,
        unique_fields=["year"],
        update_fields=["note"],
    )
    return len(years), len(days)
