"""督办 board: what is late or escalated across a supervisor's subtree, by unit, red
before yellow, with a supervision order one form away."""

from __future__ import annotations

from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cases.models import Case
from screening.returns import overdue_returns
from workflow.flow import CaseFlow
from workflow.permissions import cases_with_role_grant, may_supervise, supervised_units, visible_to
from workflow.queues import with_listing

from .case_page import operation_form
from .responses import only_for

ROWS = 500


@login_required
@only_for(may_supervise)
def board(request: HttpRequest) -> HttpResponse:
    supervised = list(supervised_units(request.user))
    visible = visible_to(request.user).open()
    # The cases of the units supervised, as every figure counts them (Case.objects.within),
    # grouped by the unit that holds each now.
    territory = visible.none()
    for unit in supervised:
        territory |= visible.within(unit)
    cases = list(
        with_listing(territory)
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
            "rows": [(case, operation_form(supervise, case) if case.pk in may_supervise_ids else None)
                     for case in rows],
            "red": sum(1 for c in rows if c.overdue),
            "yellow": sum(1 for c in rows if c.warned and not c.overdue),
            "escalated": sum(1 for c in rows if c.stage == Case.Stage.ESCALATED),
        })
    returns = overdue_returns(list(supervised))
    return render(request, "desk/board.html", {"units": units, "total": len(cases), "limit": ROWS,
                                                "returns": returns[:ROWS]})
