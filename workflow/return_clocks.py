"""The clock of each village's monthly screening return (排查表), and its sweep.

The return for month M is due by the rule of kind screening_return: N days after M's last
day, the 25th of M+1 by default, moved off a rest day like any calendar-day term; it is
accepted late until the end of M+1 (or its due time, if later), when the month closes.
Each village and month has a ReturnDeadline, swept like a case's deadline (yellow card at
the warning, red card at the due time; the village's reporters and the township's
officers hear of each, once). Clocks open when a village files (screening.returns), and
for the month now due in every township that has begun filing returns: a township is not
alerted for the months before it used the system.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Membership, OrgUnit, Role, ScreeningReturn
from cases.periods import local_midnight, month_period, next_month, parse_month
from notifications.models import Notification

from . import deadlines
from .calendar import END_OF_DAY, get_calendar
from .models import DeadlineKind, DeadlineRule, ReturnDeadline, Step

LEVELS = {Step.WARNING: Notification.Level.WARNING, Step.OVERDUE: Notification.Level.OVERDUE}


# ---------------------------------------------------------------------------------------
# The clock of a return.


def return_rule(village: OrgUnit) -> DeadlineRule | None:
    """The screening_return rule of the village's profile."""
    return deadlines.unit_rule(village, DeadlineKind.SCREENING_RETURN)


def return_clock(village: OrgUnit, month: date) -> ReturnDeadline | None:
    """An unsaved clock for the village's return for `month`, or None without a rule."""
    rule = return_rule(village)
    if rule is None:
        return None
    calendar = get_calendar()
    period = month_period(month)
    tz = ZoneInfo(settings.TIME_ZONE)
    # Counted from the month's last day (not counted itself): 25 days → the 25th.
    started = datetime.combine(period.last, END_OF_DAY, tzinfo=tz)
    due = calendar.add(started, rule.duration, rule.unit, holiday_shift=rule.holiday_shift)
    warn = calendar.add(started, max(rule.duration - rule.warning_lead, 0), rule.unit, holiday_shift=False)
    closes = max(local_midnight(next_month(next_month(period.first))), due.at + timedelta(seconds=1))
    warn_at = min(warn.at, due.at)
    return ReturnDeadline(
        village=village, month=period.first, rule=rule, legal_basis=rule.legal_basis, due_at=due.at,
        warn_at=warn_at, closes_at=closes, provisional=due.provisional, next_action_at=warn_at,
    )


def open_return_deadlines(month: date, villages: list[OrgUnit]) -> int:
    """Open the clocks of these villages' returns for `month` that are not open yet;
    safe to run twice or from two sweepers (the unique constraint keeps one)."""
    month = parse_month(month)
    have = set(ReturnDeadline.objects.filter(month=month, village__in=villages).values_list("village_id", flat=True))
    clocks = [c for v in villages if v.pk not in have for c in [return_clock(v, month)] if c is not None]
    ReturnDeadline.objects.bulk_create(clocks, ignore_conflicts=True)
    return len(clocks)


def due_month(now: datetime) -> date:
    """The month whose return is being collected now: the one before this."""
    today = timezone.localtime(now, ZoneInfo(settings.TIME_ZONE)).date()
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)


def open_due_returns(now: datetime) -> int:
    """Open the clocks of the month now due for every village of a township that has
    begun filing returns (any return for that month or before)."""
    month = due_month(now)
    townships = ScreeningReturn.objects.filter(month__lte=month).values("village__parent_id")
    missing = (
        OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE, parent_id__in=townships)
        .exclude(return_deadlines__month=month)
    )
    villages = list(missing)
    return open_return_deadlines(month, villages) if villages else 0


# ---------------------------------------------------------------------------------------
# What the sweep (workflow.sweep, one loop over every kind of clock) needs of returns.


def work_queue(now: datetime, batch: int) -> Any:
    """The return clocks whose next step has come, claimed as the case deadlines are: a
    second sweeper skips these rows, and the marks commit with the notifications."""
    return (
        ReturnDeadline.objects.filter(met_at__isnull=True, next_action_at__isnull=False, next_action_at__lte=now)
        .order_by("next_action_at")
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("village")[:batch]
    )


def notifications(taken: list[tuple[ReturnDeadline, str]], now: datetime) -> list[Notification]:
    """The village's reporters and its township's officers, one row each."""
    villages = {c.village_id for c, _ in taken}
    townships = {c.village.parent_id for c, _ in taken}
    members: dict[int, set[int]] = defaultdict(set)
    rows = Membership.objects.filter(
        Q(unit_id__in=villages, role=Role.REPORTER) | Q(unit_id__in=townships, role=Role.OFFICER),
        user__is_active=True,
    ).values_list("unit_id", "user_id")
    for unit_id, user_id in rows:
        members[unit_id].add(user_id)
    tz = ZoneInfo(settings.TIME_ZONE)
    out = []
    for clock, step in taken:
        params = {"village": clock.village.name, "month": f"{clock.month:%Y-%m}",
                  "due": timezone.localtime(clock.due_at, tz).strftime("%Y-%m-%d %H:%M")}
        if step == Step.WARNING:
            text = _("Yellow card: the screening return of %(village)s for %(month)s is due %(due)s.") % params
        else:
            text = _("Red card: the screening return of %(village)s for %(month)s was due %(due)s and has not "
                     "been filed.") % params
        users = members[clock.village_id] | members[clock.village.parent_id]
        out += [Notification(user_id=u, kind=f"return_{step}", level=LEVELS[step], text=text, created_at=now,
                             return_deadline=clock) for u in sorted(users)]
    return out
