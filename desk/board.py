"""督办 board: what is late or escalated across a supervisor's subtree, by unit, red
before yellow. Each row says who carries the case, which clocks are late or warned and
when they fall due, and whether a supervision order is open (督办中); a supervision order
is one form away where the state machine allows one."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cases.models import Case
from screening.returns import overdue_returns
from workflow import counts
from workflow.flow import CaseFlow, open_supervision_orders
from workflow.models import Deadline, SupervisionOrder
from workflow.permissions import cases_with_role_grant, may_supervise, supervised_units, visible_to
from workflow.queues import with_listing

from .responses import only_for

ROWS = 500


def board_rows(cases: Any, now: datetime) -> Any:
    """`cases` with what a row shows besides the listing, each read once for all rows:
    the open clocks (to find the late and warned ones) and the supervision orders with
    their clocks (the machine's rule on a second order reads them)."""
    return with_listing(cases, now).prefetch_related(
        Prefetch("deadlines", queryset=Deadline.objects.open().order_by("due_at", "pk"), to_attr="open_clocks"),
        Prefetch("supervision_orders", queryset=SupervisionOrder.objects.select_related("deadline")),
    )


def carded_clocks(case: Case, now: datetime) -> list[tuple[Deadline, str]]:
    """The case's clocks that show a card now (workflow.counts.card), red first; for a
    case on the board without one (escalated in time), its nearest running clock, uncarded."""
    carded = [(clock, counts.card(clock, now)) for clock in case.open_clocks]
    late = sorted([(c, card) for c, card in carded if card], key=lambda pair: pair[1] != "red")
    return late or [(c, card) for c, card in carded if c.paused_at is None][:1]


@login_required
@only_for(may_supervise)
def board(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    supervised = list(supervised_units(request.user))
    visible = visible_to(request.user).open()
    # The cases of the units supervised, as every figure counts them (Case.objects.within),
    # grouped by the unit that holds each now.
    territory = visible.none()
    for unit in supervised:
        territory |= visible.within(unit)
    cases = list(
        board_rows(territory, now)
        .filter(Q(overdue=True) | Q(warned=True) | Q(stage=Case.Stage.ESCALATED))
        .order_by("responsible_unit__path", F("overdue").desc(), F("next_due_at").asc(nulls_last=True), "pk")[:ROWS]
    )
    supervise = next(iter(CaseFlow.supervise.get_transitions()))
    may_supervise_ids = cases_with_role_grant(request.user, "supervise_case", cases)
    units = []
    for unit, rows in groupby(cases, key=lambda c: c.responsible_unit):
        rows = list(rows)
        units.append({
            "unit": unit,
            "rows": [{
                "case": case,
                "clocks": carded_clocks(case, now),
                "orders": open_supervision_orders(case),
                # The machine's own condition (no open order), on the orders read above; the
                # form arrives when the row is opened (desk.operation_frames).
                "supervise": supervise
                if case.pk in may_supervise_ids and supervise.conditions_met(CaseFlow(case)) else None,
            } for case in rows],
            "red": sum(1 for c in rows if c.overdue),
            "yellow": sum(1 for c in rows if c.warned and not c.overdue),
            "escalated": sum(1 for c in rows if c.stage == Case.Stage.ESCALATED),
        })
    returns = overdue_returns(list(supervised))
    return render(request, "desk/board.html", {"units": units, "total": len(cases), "limit": ROWS,
                                                "returns": returns[:ROWS]})
