"""Deadline counting on the official calendar (docs/workflow.md: Deadlines).

Dates of 2025 and 2026 are the State Council's arrangements as transcribed by the
`chinesecalendar` package, which the data migration seeds into the test database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from workflow.calendar import get_calendar, invalidate_calendar
from workflow.holidays import seed_official_calendar
from workflow.models import CalendarDay, CalendarYear, RuleProfile, TimeUnit

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def end_of(y: int, m: int, d: int) -> datetime:
    return at(y, m, d, 23, 59, 59)


def working(start: date, n: int) -> datetime:
    return get_calendar().add(at(start.year, start.month, start.day), n, TimeUnit.WORKING_DAYS).at


def calendar_days(start: date, n: int, *, holiday_shift: bool = True) -> datetime:
    return get_calendar().add(
        at(start.year, start.month, start.day), n, TimeUnit.CALENDAR_DAYS, holiday_shift=holiday_shift
    ).at


def due_date(*args: str) -> str:
    out = StringIO()
    call_command("due_date", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def fresh_calendar(db: None) -> Iterator[None]:
    # The calendar is cached per process; each test sees its own database state and
    # leaves no cached rows behind for the next one.
    invalidate_calendar()
    yield
    invalidate_calendar()


# --- the seeded table -------------------------------------------------------------


def test_seeded_calendar_matches_chinesecalendar_for_every_day_of_2025_and_2026() -> None:
    calendar = get_calendar()
    day = date(2025, 1, 1)
    while day.year <= 2026:
        assert calendar.is_working(day) == chinese_calendar.is_workday(day), day
        assert calendar.is_known(day)
        day += timedelta(days=1)


def test_seeded_years_are_2004_to_2026() -> None:
    assert list(CalendarYear.objects.values_list("year", flat=True)) == list(range(2004, 2027))


def test_seeded_days_carry_chinese_names_and_mark_make_up_days() -> None:
    names = dict(CalendarDay.objects.filter(date__year=2026).values_list("date", "name"))
    assert names[date(2026, 2, 14)] == "春节调休"
    assert names[date(2026, 2, 16)] == "春节"
    assert names[date(2026, 4, 6)] == "清明节"
    assert names[date(2026, 6, 19)] == "端午节"
    assert names[date(2026, 9, 25)] == "中秋节"
    assert names[date(2026, 10, 10)] == "国庆节调休"
    # Only exceptions to Monday-to-Friday work are stored: a holiday Sunday is not.
    assert date(2026, 2, 15) not in names
    assert CalendarDay.objects.get(date=date(2025, 10, 6)).name == "中秋节"


def test_seeding_again_changes_nothing() -> None:
    before = CalendarDay.objects.count()
    assert seed_official_calendar() == (23, before)
    assert CalendarDay.objects.count() == before


def test_seeding_stops_at_the_last_year_the_package_knows() -> None:
    years, _ = seed_official_calendar(2025, 2030)
    assert years == 2
    assert not CalendarYear.objects.filter(year__gte=2027).exists()


# --- working days -----------------------------------------------------------------


def test_working_days_skip_spring_festival_2025_and_count_make_up_sunday() -> None:
    # Fri 1/24 → Sun 1/26 (调休) 1, Mon 1/27 2, 1/28–2/4 off, Wed 2/5 3.
    assert working(date(2025, 1, 24), 3) == end_of(2025, 2, 5)


def test_working_days_count_make_up_saturday_after_spring_festival_2025() -> None:
    # Wed 2/5 → Thu 2/6, Fri 2/7, Sat 2/8 (调休).
    assert working(date(2025, 2, 5), 3) == end_of(2025, 2, 8)


def test_working_days_skip_spring_festival_2026() -> None:
    # Fri 2/13 → Sat 2/14 (调休) 1, 2/15–2/23 off, Tue 2/24 … Fri 2/27 5.
    assert working(date(2026, 2, 13), 1) == end_of(2026, 2, 14)
    assert working(date(2026, 2, 13), 5) == end_of(2026, 2, 27)


def test_working_days_count_make_up_saturday_after_spring_festival_2026() -> None:
    # Tue 2/24 → 2/25, 2/26, 2/27, Sat 2/28 (调休).
    assert working(date(2026, 2, 24), 4) == end_of(2026, 2, 28)


def test_working_days_skip_national_day_2025() -> None:
    # Fri 9/26 → Sat 9/27 off, Sun 9/28 (调休) 1, Mon 9/29 2.
    assert working(date(2025, 9, 26), 2) == end_of(2025, 9, 29)
    # Tue 9/30 → 10/1–10/8 off, Thu 10/9 1, Fri 10/10 2, Sat 10/11 (调休) 3.
    assert working(date(2025, 9, 30), 1) == end_of(2025, 10, 9)
    assert working(date(2025, 9, 30), 3) == end_of(2025, 10, 11)


def test_working_days_skip_national_day_2026() -> None:
    # Fri 9/18 → Sat 9/19 off, Sun 9/20 (调休).
    assert working(date(2026, 9, 18), 1) == end_of(2026, 9, 20)
    # Wed 9/30 → 10/1–10/7 off, Thu 10/8 1, Fri 10/9 2, Sat 10/10 (调休) 3.
    assert working(date(2026, 9, 30), 3) == end_of(2026, 10, 10)


def test_working_days_start_from_the_local_day_of_the_start_moment() -> None:
    # 20:00 UTC on 2/13 is already 04:00 on Sat 2/14 in Shanghai: 2/14 is the start
    # day and is not counted, so 2/24, 2/25, 2/26, 2/27, Sat 2/28 (调休).
    start = datetime(2026, 2, 13, 20, 0, tzinfo=ZoneInfo("UTC"))
    due = get_calendar().add(start, 5, TimeUnit.WORKING_DAYS)
    assert due.at == end_of(2026, 2, 28)
    assert not due.provisional


# --- calendar days ----------------------------------------------------------------


def test_calendar_days_ending_in_spring_festival_2026_move_to_first_working_day() -> None:
    # 2/10 + 7 = Tue 2/17, inside 2/15–2/23; the first working day after is Tue 2/24.
    assert calendar_days(date(2026, 2, 10), 7) == end_of(2026, 2, 24)


def test_calendar_days_ending_in_national_day_2025_move_to_first_working_day() -> None:
    # 9/24 + 7 = Wed 10/1, inside 10/1–10/8; the first working day after is Thu 10/9.
    assert calendar_days(date(2025, 9, 24), 7) == end_of(2025, 10, 9)


def test_calendar_days_without_holiday_shift_end_inside_the_holiday() -> None:
    assert calendar_days(date(2026, 2, 10), 7, holiday_shift=False) == end_of(2026, 2, 17)
    assert calendar_days(date(2025, 9, 24), 7, holiday_shift=False) == end_of(2025, 10, 1)


def test_calendar_days_ending_on_a_make_up_saturday_stay_there() -> None:
    # 2/7 + 7 = Sat 2/14, a 调休 working day.
    assert calendar_days(date(2026, 2, 7), 7) == end_of(2026, 2, 14)


def test_calendar_days_ending_on_a_plain_saturday_move_to_monday() -> None:
    # 2/28 + 7 = Sat 3/7 → Mon 3/9.
    assert calendar_days(date(2026, 2, 28), 7) == end_of(2026, 3, 9)


# --- hours ------------------------------------------------------------------------


def test_hours_ignore_the_calendar() -> None:
    calendar = get_calendar()
    start = at(2026, 2, 16, 10, 0)  # 春节
    assert calendar.add(start, 2, TimeUnit.HOURS).at == at(2026, 2, 16, 12, 0)
    assert calendar.add(start, 30, TimeUnit.HOURS).at == at(2026, 2, 17, 16, 0)
    assert calendar.add(start, 2, TimeUnit.HOURS, holiday_shift=False).at == at(2026, 2, 16, 12, 0)
    assert not calendar.add(at(2026, 12, 31, 23, 0), 2, TimeUnit.HOURS).provisional


# --- years not yet entered --------------------------------------------------------


def test_unknown_year_counts_plain_weekends_and_is_provisional() -> None:
    # Wed 2026-12-30 → Thu 12/31 1, Fri 2027-01-01 2 (a plain Friday while 2027 is
    # not entered), Mon 1/4 3.
    due = get_calendar().add(at(2026, 12, 30), 3, TimeUnit.WORKING_DAYS)
    assert due.at == end_of(2027, 1, 4)
    assert due.provisional


def test_unknown_year_calendar_days_are_provisional() -> None:
    # 2027-01-20 + 10 = Sat 1/30 → Mon 2/1 on plain weekends.
    due = get_calendar().add(at(2027, 1, 20), 10, TimeUnit.CALENDAR_DAYS)
    assert due.at == end_of(2027, 2, 1)
    assert due.provisional


def test_known_year_is_not_provisional() -> None:
    assert not get_calendar().add(at(2026, 2, 13), 5, TimeUnit.WORKING_DAYS).provisional
    assert not get_calendar().add(at(2026, 2, 10), 7, TimeUnit.CALENDAR_DAYS).provisional


def test_entering_a_year_changes_the_due_date_and_ends_provisional() -> None:
    start = at(2026, 12, 30)
    before = get_calendar().add(start, 3, TimeUnit.WORKING_DAYS)
    assert (before.at, before.provisional) == (end_of(2027, 1, 4), True)

    # An administrator enters 2027 (here only 元旦 on Fri 1/1; illustrative values).
    CalendarYear.objects.create(year=2027)
    CalendarDay.objects.create(date=date(2027, 1, 1), working=False, name="元旦")
    # Until the cache is dropped this process still counts with the old calendar.
    assert get_calendar().add(start, 3, TimeUnit.WORKING_DAYS) == before
    invalidate_calendar()

    # Thu 12/31 1, Fri 1/1 off, Mon 1/4 2, Tue 1/5 3.
    after = get_calendar().add(start, 3, TimeUnit.WORKING_DAYS)
    assert (after.at, after.provisional) == (end_of(2027, 1, 5), False)
    assert due_date("2026-12-30", "3", "--unit", "working") == "2027-01-05 23:59:59 +08:00\n"


# --- elapsed ----------------------------------------------------------------------


def test_elapsed_working_days_across_spring_festival_2026() -> None:
    calendar = get_calendar()
    since, until = at(2026, 2, 13, 9), at(2026, 2, 25, 9)
    # (2/13, 2/25]: Sat 2/14 (调休), Tue 2/24, Wed 2/25.
    assert calendar.elapsed(since, until, TimeUnit.WORKING_DAYS) == 3
    assert calendar.elapsed(since, until, TimeUnit.CALENDAR_DAYS) == 12
    assert calendar.elapsed(since, until, TimeUnit.HOURS) == 288


def test_elapsed_working_days_across_national_day_2025() -> None:
    # (9/30, 10/9]: 10/1–10/8 off, Thu 10/9.
    assert get_calendar().elapsed(at(2025, 9, 30, 15), at(2025, 10, 9, 10), TimeUnit.WORKING_DAYS) == 1


# --- the due_date command ---------------------------------------------------------


def test_due_date_command_prints_working_day_due_date() -> None:
    assert due_date("2026-02-13", "5", "--unit", "working") == "2026-02-27 23:59:59 +08:00\n"


def test_due_date_command_marks_provisional_year() -> None:
    assert (
        due_date("2026-12-30", "3", "--unit", "working")
        == "2027-01-04 23:59:59 +08:00 (provisional: 2027 holidays not entered)\n"
    )


def test_due_date_command_shifts_calendar_days_unless_told_not_to() -> None:
    assert due_date("2026-02-10", "7", "--unit", "calendar") == "2026-02-24 23:59:59 +08:00\n"
    assert due_date("2026-02-10", "7", "--unit", "calendar", "--no-shift") == "2026-02-17 23:59:59 +08:00\n"


def test_due_date_command_prints_exact_time_for_hours() -> None:
    assert due_date("2026-02-16T10:15", "2", "--unit", "hours") == "2026-02-16 12:15:00 +08:00\n"
    # A start with an offset is shown in Shanghai time.
    assert due_date("2026-02-16T02:15:00+00:00", "2", "--unit", "hours") == "2026-02-16 12:15:00 +08:00\n"


def test_due_date_command_accepts_an_existing_profile() -> None:
    RuleProfile.objects.create(code="zj", name="浙江")
    assert due_date("2026-02-13", "5", "--unit", "working", "--profile", "zj") == "2026-02-27 23:59:59 +08:00\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2026-02-30", "5", "--unit", "working"], "ISO date or datetime"),
        (["tomorrow", "5", "--unit", "working"], "ISO date or datetime"),
        (["2026-02-13", "-1", "--unit", "working"], "must not be negative"),
        (["2026-02-13", "five", "--unit", "working"], "invalid int value"),
        (["2026-02-13", "5", "--unit", "weeks"], "invalid choice"),
        (["2026-02-13", "5"], "--unit"),
        (["2026-02-13", "5", "--unit", "working", "--profile", "nope"], "unknown profile 'nope'"),
    ],
)
def test_due_date_command_rejects_bad_input(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        due_date(*args)
