"""The deadline sweep (docs/architecture.md: the path of an alert): yellow card at warn_at, red card at due_at, escalation
to the supervisors of the unit above at escalate_at. Each step once per deadline. The
villages' screening returns are swept after, by the same rules (screening.returns), then
the townships' monthly tables sent upward (workflow.report_clocks).

The work queue is `Deadline.next_action_at` under a partial index: a sweep reads only the
deadlines whose next step has come. Batches are claimed with FOR UPDATE SKIP LOCKED on
PostgreSQL (SQLite's IMMEDIATE transactions queue the sweepers instead), and the marks,
the audit events and the notifications of a batch commit together; the push follows the
commit. A second sweeper, or the same one run again, finds nothing left to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent, Membership, Role
from notifications.models import Notification
from notifications.services import send

from . import report_clocks, return_clocks
from .calendar import WorkingCalendar, get_calendar
from .models import Clock, Deadline, DeadlineKind, ReportDeadline, ReturnDeadline, Step
from .permissions import told_ids

log = logging.getLogger(__name__)

# Deadlines claimed per transaction. Each batch's alerts are pushed when it commits, so a
# smaller batch gets the first alerts out sooner after a backlog; 200 keeps the
# statements per deadline low as well.
BATCH = 100
LEVELS = {Step.WARNING: Notification.Level.WARNING, Step.OVERDUE: Notification.Level.OVERDUE,
          Step.ESCALATION: Notification.Level.ESCALATED}


@dataclass
class SweepReport:
    steps: Counter = field(default_factory=Counter)
    deferred: int = 0
    notifications: int = 0
    # Villages' monthly screening returns (screening.returns), counted apart.
    returns: Counter = field(default_factory=Counter)
    return_notifications: int = 0
    # Townships' monthly tables sent upward (workflow.report_clocks), counted apart.
    reports: Counter = field(default_factory=Counter)
    report_notifications: int = 0

    def __str__(self) -> str:
        text = (
            f"{self.steps[Step.WARNING]} warnings, {self.steps[Step.OVERDUE]} overdue, "
            f"{self.steps[Step.ESCALATION]} escalations, {self.deferred} warnings deferred to office hours, "
            f"{self.notifications} notifications"
        )
        if self.returns:
            text += (f"; screening returns: {self.returns[Step.WARNING]} warnings, {self.returns[Step.OVERDUE]} "
                     f"overdue, {self.return_notifications} notifications")
        if self.reports:
            text += (f"; monthly tables: {self.reports[Step.WARNING]} warnings, {self.reports[Step.OVERDUE]} "
                     f"overdue, {self.report_notifications} notifications")
        return text


def office_hours() -> tuple[time, time]:
    start, end = settings.OFFICE_HOURS.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def next_office_time(moment: datetime, calendar: WorkingCalendar) -> datetime:
    """`moment` itself if it falls in office hours on a working day, else the start of
    the next working morning (调休 Saturdays included, holidays skipped)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    local = timezone.localtime(moment, tz)
    opens, closes = office_hours()
    day = local.date()
    if calendar.is_working(day) and opens <= local.time() < closes:
        return moment
    if local.time() >= closes or not calendar.is_working(day):
        day += timedelta(days=1)
    return datetime.combine(calendar.next_working_day(day), opens, tzinfo=tz)


@dataclass(frozen=True)
class ClockKind:
    """A kind of clock the sweep takes through the one ladder (Clock.LADDER): how its
    due work is claimed, which warnings go out at any hour, what the steps write besides
    their marks, who hears of them, and where the report counts them."""

    model: type[Clock]
    claim: Callable[[datetime, int], Any]
    urgent: Callable[[Any], bool]
    notices: Callable[[list[tuple[Any, str]], datetime], list[Notification]]
    steps: str
    notifications: str
    recorded: Callable[[list[tuple[Any, str]], datetime], None] = lambda taken, now: None
    prepare: Callable[[datetime], Any] = lambda now: None


def sweep(now: datetime | None = None, *, batch: int = BATCH) -> SweepReport:
    """Take every step that has come by `now` on every kind of clock; return what was done."""
    now = now or timezone.now()
    report = SweepReport()
    with translation.override(settings.LANGUAGE_CODE):
        for kind in CLOCK_KINDS:
            kind.prepare(now)
            while _sweep_batch(kind, now, batch, report) == batch:
                pass
    return report


def work_queue(now: datetime, batch: int) -> Any:
    """The case deadlines whose next step has come, oldest first, claimed so that a second
    sweeper skips them rather than waits; it reads the partial index deadline_sweep_queue.

    The case rows are claimed with them: the batch's audit events are chained under the
    case lock (cases.audit). Taken here, with SKIP LOCKED, the sweep never waits for a
    case while holding deadlines that a transition on that case is about to close (a
    deadlock); a case being moved right now is left for the next batch or sweep."""
    return (
        Deadline.objects.filter(met_at__isnull=True, next_action_at__isnull=False, next_action_at__lte=now)
        .order_by("next_action_at")
        .select_for_update(skip_locked=True, of=("self", "case"))
        .select_related("case__responsible_unit", "case__accused_unit")
        .only(*CLAIMED)[:batch]
    )


# What the sweep reads of a claimed deadline, its case and their units (the ladder, the
# major-risk test, the audit event, the recipients, the alert's text and its push). A
# case row is 35 columns (the summary, five datetimes, JSON) of which it reads nine:
# loading only these saves about 4% of a sweep of 1,000 (tests/bench/sweep.py). A field
# read and not listed here costs a query per deadline.
CLAIMED = (
    "kind", "legal_basis", *(name for _, when, mark in Deadline.LADDER for name in (when, mark)),
    "case__stage", "case__risk", "case__number", "case__title", "case__lead_department", "case__assignee",
    "case__responsible_unit__parent", "case__responsible_unit__path", "case__accused_unit__path",
)


def _sweep_batch(kind: ClockKind, now: datetime, batch: int, report: SweepReport) -> int:
    calendar = get_calendar()
    with transaction.atomic():
        due = list(kind.claim(now, batch))
        if not due:
            return 0
        taken: list[tuple[Any, str]] = []
        # Clocks that get the same marks and the same next time share one UPDATE: a few
        # statements per batch, where a row-by-row bulk_update builds one huge one.
        writes: dict[tuple[tuple[str, ...], Any], list[int]] = defaultdict(list)
        for clock in due:
            step, marks, following = _advance(clock, now, calendar, urgent=kind.urgent(clock))
            writes[(marks, following)].append(clock.pk)
            if step is None:
                report.deferred += bool(not marks and isinstance(following, datetime))
            else:
                taken.append((clock, step))
                getattr(report, kind.steps)[step] += 1
        for (marks, following), ids in writes.items():
            kind.model.objects.filter(pk__in=ids).update(
                next_action_at=F(following) if isinstance(following, str) else following,
                **{mark: now for mark in marks},
            )
        kind.recorded(taken, now)
        setattr(report, kind.notifications,
                getattr(report, kind.notifications) + len(send(kind.notices(taken, now))))
    return len(due)


def _advance(clock: Clock, now: datetime, calendar: WorkingCalendar, *,
             urgent: bool) -> tuple[str | None, tuple[str, ...], Any]:
    """Which steps have come: (the highest, the one people hear of; the fields that mark
    them taken; when to look next — the time field of the first step left, a moment, or
    None). A warning alone that comes outside office hours waits for the next working
    morning, unless it is urgent (a case of major risk)."""
    passed = [(step, mark) for step, when, mark in clock.LADDER
              if getattr(clock, mark) is None and getattr(clock, when) <= now]
    if passed and [s for s, _ in passed] == [Step.WARNING] and not urgent:
        opening = next_office_time(now, calendar)
        if opening > now:
            return None, (), opening
    marks = tuple(mark for _, mark in passed)
    for mark in marks:
        setattr(clock, mark, now)
    following = next((when for _, when, mark in clock.LADDER if getattr(clock, mark) is None), None)
    return (passed[-1][0] if passed else None), marks, following


def _record_steps(taken: list[tuple[Deadline, str]], now: datetime) -> None:
    """Each step on a case's deadline is an event in the case's audit trail."""
    CaseEvent.objects.bulk_create(
        CaseEvent(
            case_id=d.case_id, kind=f"deadline_{step}", from_stage=d.case.stage, to_stage=d.case.stage,
            actor=None, at=now, data={"deadline": d.pk, "kind": d.kind, "due_at": d.due_at.isoformat()},
        )
        for d, step in taken
    )


def _notifications(taken: list[tuple[Deadline, str]], now: datetime) -> list[Notification]:
    """One row per recipient: the responsible unit's officers, the lead department's
    liaisons, the assignee, and on escalation the supervisors of the unit above."""
    units: set[int] = set()
    for d, step in taken:
        units.add(d.case.responsible_unit_id)
        if d.case.lead_department_id:
            units.add(d.case.lead_department_id)
        if step == Step.ESCALATION and d.case.responsible_unit.parent_id:
            units.add(d.case.responsible_unit.parent_id)
    members: dict[tuple[int, str], set[int]] = defaultdict(set)
    for unit_id, role, user_id in Membership.objects.filter(
        unit_id__in=units, role__in=[Role.OFFICER, Role.LIAISON, Role.SUPERVISOR], user__is_active=True
    ).values_list("unit_id", "role", "user_id"):
        members[(unit_id, role)].add(user_id)
    kind_labels = {kind: str(label) for kind, label in DeadlineKind.choices}
    rows = []
    for d, step in taken:
        case = d.case
        users = set(members[(case.responsible_unit_id, Role.OFFICER)])
        if case.lead_department_id:
            users |= members[(case.lead_department_id, Role.LIAISON)]
        if case.assignee_id:
            users.add(case.assignee_id)
        if step == Step.ESCALATION and case.responsible_unit.parent_id:
            users |= members[(case.responsible_unit.parent_id, Role.SUPERVISOR)]
        users = told_ids(case, users)
        text = alert_text(d, step, kind_labels)
        rows += [
            Notification(user_id=u, kind=step, level=LEVELS[step], text=text, case=case, deadline=d, created_at=now)
            for u in sorted(users)
        ]
    return rows


def alert_text(deadline: Deadline, step: str, kind_labels: dict[str, str]) -> str:
    case = deadline.case
    params = {
        "number": case.number,
        "title": case.title,
        "deadline": kind_labels.get(deadline.kind, deadline.kind),
        "due": timezone.localtime(deadline.due_at, ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M"),
        "basis": deadline.legal_basis or _("local rule"),
    }
    if step == Step.WARNING:
        return _("Yellow card: %(deadline)s of case %(number)s “%(title)s” is due %(due)s (basis: %(basis)s).") % params
    if step == Step.OVERDUE:
        return _("Red card: %(deadline)s of case %(number)s “%(title)s” was due %(due)s and is overdue "
                 "(basis: %(basis)s).") % params
    return _("Escalated for supervision: %(deadline)s of case %(number)s “%(title)s” has been overdue since "
             "%(due)s (basis: %(basis)s).") % params


async def sweep_forever(interval: float) -> None:
    """The embedded server's sweep: every `interval` seconds, driven from the server's
    own event loop so its pushes reach the in-memory channel layer. The sweep itself runs
    in a worker thread (not the one serving requests); a failing sweep is logged and
    tried again at the next tick."""
    from asgiref.sync import sync_to_async

    while True:
        try:
            report = await sync_to_async(_sweep_in_worker, thread_sensitive=False)()
            if report.steps or report.deferred:
                log.info("sweep: %s", report)
        except Exception:
            log.exception("sweep failed; trying again in %s s", interval)
        await asyncio.sleep(interval)


def _sweep_in_worker() -> SweepReport:
    close_old_connections()  # a worker thread keeps its connection between ticks
    try:
        return sweep()
    finally:
        close_old_connections()


CLOCK_KINDS = (
    ClockKind(Deadline, work_queue, urgent=lambda d: d.case.risk == Case.Risk.MAJOR, notices=_notifications,
              steps="steps", notifications="notifications", recorded=_record_steps),
    ClockKind(ReturnDeadline, return_clocks.work_queue, urgent=lambda clock: False,
              notices=return_clocks.notifications, steps="returns", notifications="return_notifications",
              prepare=return_clocks.open_due_returns),
    ClockKind(ReportDeadline, report_clocks.work_queue, urgent=lambda clock: False,
              notices=report_clocks.notifications, steps="reports", notifications="report_notifications",
              prepare=report_clocks.open_due_reports),
)
