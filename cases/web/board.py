"""督办 board: what is late or escalated across a supervisor's subtree, by unit, red
before yellow, with a supervision order one form away."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workflow.flow import CaseFlow
from workflow.queues import with_listing
from workflow.screening import overdue_returns

from ..models import Case, Membership, OrgUnit, Role
from .case_page import operation_form
from .responses import only_for

ROWS = 500


def supervised_paths(user: Any) -> list[str]:
    if user.is_superuser:
        return ["/"]
    return list(Membership.objects.filter(user=user, role=Role.SUPERVISOR).values_list("unit__path", flat=True))


def may_supervise(user: Any) -> bool:
    return user.is_authenticated and bool(supervised_paths(user))


@login_required
@only_for(may_supervise)
def board(request: HttpRequest) -> HttpResponse:
    paths = supervised_paths(request.user)
    subtree = Q(pk__in=[])
    for path in paths:
        subtree |= Q(responsible_unit__path__startswith=path)
    cases = list(
        with_listing(Case.objects.visible_to(request.user).open().filter(subtree))
        .filter(Q(overdue=True) | Q(warned=True) | Q(stage=Case.Stage.ESCALATED))
        .order_by("responsible_unit__path", F("overdue").desc(), F("next_due_at").asc(nulls_last=True), "pk")[:ROWS]
    )
    supervise = next(iter(CaseFlow.supervise.get_transitions()))
    units = []
    for unit, rows in groupby(cases, key=lambda c: c.responsible_unit):
        rows = list(rows)
        units.append({
            "unit": unit,
            "rows": [(case, operation_form(supervise, case)) for case in rows],
            "red": sum(1 for c in rows if c.overdue),
            "yellow": sum(1 for c in rows if c.warned and not c.overdue),
            "escalated": sum(1 for c in rows if c.stage == Case.Stage.ESCALATED),
        })
    supervised = OrgUnit.objects.filter(parent__isnull=True) if request.user.is_superuser else \
        OrgUnit.objects.filter(path__in=paths)
    returns = overdue_returns(list(supervised))
    return render(request, "cases/board.html", {"units": units, "total": len(cases), "limit": ROWS,
                                                "returns": returns[:ROWS]})
