"""When a township's monthly 矛盾纠纷排查情况表 is due upward (报送), and its clock.

The table for month M is due by the rule of kind monthly_report: N calendar days after M's
last day (the 5th of the month after by default, a local rule; docs/reporting.md), counted
on the working-day calendar like a village's return (workflow.return_clocks) and moved off
a rest day. `report_due` is the one place that computes it.

Each township and month has a ReportDeadline opened from it, swept like a village's
return: yellow card at the warning (the rule's warning_lead before), red card at the due
time; the township's officers and supervisors hear of each, once, and the county's
officers of the red card too. Clocks open for the month now due in every township that has
begun using the system — any case registered in it, or any table submitted, in that month
or before — so a township is not alerted for the months before it used the system; and
when a township submits (reports.submission.freeze_monthly), which stops its clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Membership, MonthlyReport, OrgUnit, Role
from cases.periods import month_period, parse_month
from notifications.models import Notification

from . import deadlines
from .calendar import END_OF_DAY, get_calendar
from .models import CaseTally, DeadlineKind, DeadlineRule, ReportDeadline, Step
from .return_clocks import due_month

LEVELS = {Step.WARNING: Notification.Level.WARNING, Step.OVERDUE: Notification.Level.OVERDUE}


@dataclass(frozen=True)
class ReportDue:
    due_at: datetime
    warn_at: datetime
    provisional: bool
    legal_basis: str
    rule: DeadlineRule


def report_rule(unit: OrgUnit) -> DeadlineRule | None:
    """The monthly_report rule of the unit's profile."""
    return deadlines.unit_rule(unit, DeadlineKind.MONTHLY_REPORT)


def report_due(unit: OrgUnit, month: date) -> ReportDue | None:
    """When `unit`'s table for `month` is due, and when it is warned, or None without a rule."""
    rule = report_rule(unit)
    if rule is None:
        return None
    period = month_period(month)
    calendar = get_calendar()
    # Counted from the month's last day (not counted itself): 5 days → the 5th.
    started = datetime.combine(period.last, END_OF_DAY, tzinfo=ZoneInfo(settings.TIME_ZONE))
    due = calendar.add(started, rule.duration, rule.unit, holiday_shift=rule.holiday_shift)
    # The warning as a return's: warning_lead before the term's end, not moved off a rest
    # day (the sweep holds a card that falls outside office hours), never after the due time.
    warn = calendar.add(started, max(rule.duration - rule.warning_lead, 0), rule.unit, holiday_shift=False)
    return ReportDue(due.at, min(warn.at, due.at), due.provisional, rule.legal_basis, rule)


# ---------------------------------------------------------------------------------------
# The clock of a township's table.


def report_clock(township: OrgUnit, month: date) -> ReportDeadline | None:
    """An unsaved clock for the township's table for `month`, or None without a rule."""
    due = report_due(township, month)
    if due is None:
        return None
    return ReportDeadline(
        unit=township, month=month_period(month).first, rule=due.rule, legal_basis=due.legal_basis,
        due_at=due.due_at, warn_at=due.warn_at, provisional=due.provisional, next_action_at=due.warn_at,
    )


def open_report_deadlines(month: date, townships: list[OrgUnit]) -> int:
    """Open the clocks of these townships' tables for `month` that are not open yet; safe
    to run twice or from two sweepers (the unique constraint keeps one)."""
    month = parse_month(month)
    have = set(ReportDeadline.objects.filter(month=month, unit__in=townships).values_list("unit_id", flat=True))
    clocks = [c for t in townships if t.pk not in have for c in [report_clock(t, month)] if c is not None]
    ReportDeadline.objects.bulk_create(clocks, ignore_conflicts=True)
    return len(clocks)


def begun_townships(month: date) -> Any:
    """The townships that had begun using the system by the end of `month`: a table
    submitted for it or before, or a case registered in it or before — in one of the
    township's villages, or by the township or a unit beneath it. Read from the rollup
    (CaseTally), so a sweep does not visit the cases."""
    tallies = CaseTally.objects.filter(month__lte=month, n__gt=0)
    beneath = OrgUnit.objects.filter(Q(pk__in=tallies.values("village_id"))
                                     | Q(pk__in=tallies.values("registered_unit_id")))
    return OrgUnit.objects.filter(level=OrgUnit.Level.TOWNSHIP).filter(
        Q(pk__in=MonthlyReport.objects.filter(month__lte=month).values("unit_id"))
        | Q(pk__in=tallies.values("registered_unit_id"))
        | Q(pk__in=beneath.values("parent_id")))


def open_due_reports(now: datetime) -> int:
    """Open the clocks of the month now due for every township that has begun (the
    sweep's first work on this kind: a single query while every township that has begun has
    its clock)."""
    month = due_month(now)
    townships = list(begun_townships(month).exclude(report_deadlines__month=month))
    return open_report_deadlines(month, townships) if townships else 0


def stop_report_clock(township: OrgUnit, month: date, at: datetime) -> ReportDeadline | None:
    """The township's clock for `month`, opened if missing and locked: the caller (the
    submission, in its transaction) holds it until it commits, so two people submitting
    at once queue here. Marked met at `at`; None without a rule."""
    month = parse_month(month)
    ReportDeadline.objects.bulk_create([c for c in [report_clock(township, month)] if c], ignore_conflicts=True)
    clock = ReportDeadline.objects.select_for_update().filter(unit=township, month=month).first()
    if clock is not None and clock.met_at is None:
        ReportDeadline.objects.filter(pk=clock.pk).update(met_at=at, next_action_at=None)
    return clock


# ---------------------------------------------------------------------------------------
# What the sweep (workflow.sweep, one loop over every kind of clock) needs of the tables.


def work_queue(now: datetime, batch: int) -> Any:
    """The table clocks whose next step has come, claimed as the returns' are: a second
    sweeper skips these rows, and the marks commit with the notifications."""
    return (
        ReportDeadline.objects.filter(met_at__isnull=True, next_action_at__isnull=False, next_action_at__lte=now)
        .order_by("next_action_at")
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("unit")[:batch]
    )


def notifications(taken: list[tuple[ReportDeadline, str]], now: datetime) -> list[Notification]:
    """The township's officers and supervisors, one row each; on the red card the officers
    of the unit above (the county, which receives the table) too. One query per batch."""
    units = {c.unit_id for c, _ in taken}
    units |= {c.unit.parent_id for c, step in taken if step == Step.OVERDUE and c.unit.parent_id}
    members: dict[tuple[int, str], set[int]] = defaultdict(set)
    rows = Membership.objects.filter(
        unit_id__in=units, role__in=[Role.OFFICER, Role.SUPERVISOR], user__is_active=True
    ).values_list("unit_id", "role", "user_id")
    for unit_id, role, user_id in rows:
        members[(unit_id, role)].add(user_id)
    tz = ZoneInfo(settings.TIME_ZONE)
    out = []
    for clock, step in taken:
        params = {"township": clock.unit.name, "month": f"{clock.month:%Y-%m}",
                  "due": timezone.localtime(clock.due_at, tz).strftime("%Y-%m-%d %H:%M")}
        users = members[(clock.unit_id, Role.OFFICER)] | members[(clock.unit_id, Role.SUPERVISOR)]
        if step == Step.WARNING:
            text = _("Yellow card: the monthly table of %(township)s for %(month)s is due upward %(due)s.") % params
        else:
            text = _("Red card: the monthly table of %(township)s for %(month)s was due upward %(due)s and has "
                     "not been submitted.") % params
            if clock.unit.parent_id:
                users = users | members[(clock.unit.parent_id, Role.OFFICER)]
        out += [Notification(user_id=u, kind=f"report_{step}", level=LEVELS[step], text=text, created_at=now)
                for u in sorted(users)]
    return out
