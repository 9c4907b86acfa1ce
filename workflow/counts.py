"""The counts every page, ledger, chart and score is made of, each defined here once
(docs/counts.md explains them for readers of the figures).

- 排查 (found): a case registered — its `report` event, Case.reported_at — in the period.
- 调处 (handled): a found case taken up for handling, i.e. it entered 调查核实 by 受理
  (accept), 接办 (take_over) or 交办 (send_back). Case.accepted_at is the time of the
  first of those events, written by the transition itself.
- 成功 (succeeded): a handled case resolved (化解) and not reopened since: Case.resolved_at,
  written by resolve and cleared by reopen. Resolve leaves only 调查核实 or 调解中, which a
  case enters only through the events above, so every 成功 is 调处 and every 调处 is 排查.
- On-time acceptance (及时受理): the acceptance clock of a case registered in the period
  (受理 for a dispute; 登记、转送并告知 for a petition, 信访工作条例 第二十二、二十三条) that has
  stopped, or fallen due, by the time of counting; on time when it stopped by its due time.
- On-time completion (按期办结): the mediation and petition-handling clocks that stopped in
  the period, or fell due in it without stopping; on time when stopped by their due time.
- Overdue now (红牌): a case with a running clock — open and not paused — past its due
  time. A paused clock (鉴定, 听证 …) is not running, so it makes nothing overdue.
- Warned now (黄牌): a running clock past its warning time.

A card follows the clock, not the sweep's marks, on lists and beside each clock alike
(`card`), so a page is right even while the sweep catches up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.models import Case
from cases.periods import Period

from .models import Deadline, DeadlineKind

HANDLED = Q(accepted_at__isnull=False)
SUCCEEDED = Q(resolved_at__isnull=False)

# The three counts as aggregates over a selection of cases: Count over FOUND is every case.
TALLY = {
    "found": Count("pk"),
    "handled": Count("pk", filter=HANDLED),
    "succeeded": Count("pk", filter=SUCCEEDED),
}

ACCEPTANCE_CLOCKS = (DeadlineKind.ACCEPTANCE, DeadlineKind.REGISTRATION)
COMPLETION_CLOCKS = (DeadlineKind.MEDIATION, DeadlineKind.HANDLING)


def registered_in(cases: QuerySet[Case], period: Period) -> QuerySet[Case]:
    """排查: the cases registered in `period`."""
    return cases.filter(reported_at__gte=period.start, reported_at__lt=period.end)


def running_clocks() -> QuerySet[Deadline]:
    """The running clocks of the case in the outer query: open and not paused."""
    return Deadline.objects.filter(case=OuterRef("pk"), met_at__isnull=True, paused_at__isnull=True)


def overdue(now: datetime | None = None) -> Exists:
    """红牌, as an expression on a case: a running clock past due at `now`."""
    return Exists(running_clocks().filter(due_at__lt=now or timezone.now()))


def warned(now: datetime | None = None) -> Exists:
    """黄牌 or worse, as an expression on a case: a running clock past its warning time."""
    return Exists(running_clocks().filter(warn_at__lte=now or timezone.now()))


def card(clock: Any, now: datetime | None = None) -> str:
    """The card shown beside one clock (a case's deadline or a return's): "red" when it
    runs past due, "yellow" past its warning time, "" otherwise — the definitions of
    `overdue` and `warned` above, for one clock. A met or paused clock shows none."""
    if clock.met_at is not None or getattr(clock, "paused_at", None) is not None:
        return ""
    now = now or timezone.now()
    if clock.due_at < now:
        return "red"
    return "yellow" if clock.warn_at <= now else ""


def due_before(cases: QuerySet[Case], moment: datetime) -> QuerySet[Case]:
    """The cases with a running clock due before `moment`; `overdue` when it is now."""
    return cases.filter(Exists(running_clocks().filter(due_at__lt=moment)))


def acceptance_clocks(registered: QuerySet[Case], at: datetime) -> QuerySet[Deadline]:
    """The acceptance clocks counted for the cases `registered`, as of `at`."""
    return Deadline.objects.filter(case__in=registered, kind__in=ACCEPTANCE_CLOCKS).filter(
        Q(met_at__isnull=False) | Q(due_at__lte=at))


def completion_clocks(cases: QuerySet[Case], period: Period, at: datetime) -> QuerySet[Deadline]:
    """The completion clocks of `cases` counted for `period`, as of `at`."""
    until = min(period.end, at)
    return Deadline.objects.filter(case__in=cases, kind__in=COMPLETION_CLOCKS).filter(
        Q(met_at__gte=period.start, met_at__lt=period.end)
        | Q(met_at__isnull=True, due_at__gte=period.start, due_at__lt=until))


def on_time_cases(clocks: QuerySet[Deadline]) -> tuple[list[int], list[int]]:
    """The cases counted by `clocks`, and of them those with every counted clock on time
    (stopped by its due time): a case with any late clock is late."""
    rows = list(clocks.values_list("case_id", "met_at", "due_at"))
    late = {case for case, met, due in rows if met is None or met > due}
    counted = sorted({case for case, _, _ in rows})
    return counted, [case for case in counted if case not in late]


def rate(hits: int, counted: int) -> float | None:
    """A share in percent to one decimal, or None with nothing counted."""
    return round(100 * hits / counted, 1) if counted else None


def tally_cases(cases: QuerySet[Case]) -> dict[str, Any]:
    """排查, 调处 and 成功 of a selection, as one grouped query."""
    return cases.order_by().aggregate(**TALLY)
