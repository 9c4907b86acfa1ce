"""督办 board: what a supervisor presses on across their subtree (issue 16).

Per unit — the unit supervised and each township or village beneath it — how many of its
open cases show a red card, a yellow one, are escalated and are under a supervision order
(督办中), and how many of its villages' screening returns are overdue; each figure opens
the queue filtered to that unit and card. Below, only the most pressing cases in full,
red before yellow, nearest due first: who carries each, which clocks are late or warned
and when they fall due, whether a supervision order is open, and the order one form away
where the state machine allows one. A county holds a hundred thousand open cases: the
page reads its figures in grouped statements and a fixed number of rows, so it costs the
same queries however many cases, units and rows there are."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, OrgUnit
from screening.returns import overdue_returns
from workflow import counts
from workflow.flow import CaseFlow, open_supervision_orders
from workflow.models import Deadline, SupervisionOrder
from workflow.permissions import cases_with_role_grant, may_supervise, supervised_units, visible_to
from workflow.queues import most_pressing, with_listing

from .responses import only_for

# The cases shown in full: a supervisor reads the worst first, and the figures above open
# the rest in the queue.
PRESSING = 20
# The overdue screening returns listed, oldest first; each unit's figure counts them all.
RETURNS_SHOWN = 20


def board_rows(cases: Any, now: datetime) -> Any:
    """`cases` with what a row shows besides the listing, each read once for all rows:
    the open clocks (to find the late and warned ones) and the supervision orders with
    their clocks (the machine's rule on a second order reads them)."""
    return with_listing(cases, now).select_related("leader").prefetch_related(
        Prefetch("deadlines", queryset=Deadline.objects.open().order_by("due_at", "pk"), to_attr="open_clocks"),
        Prefetch("supervision_orders", queryset=SupervisionOrder.objects.select_related("deadline")),
    )


def carded_clocks(case: Case, now: datetime) -> list[tuple[Deadline, str]]:
    """The case's clocks that show a card now (workflow.counts.card), red first; for a
    case on the board without one (escalated in time), its nearest running clock, uncarded."""
    carded = [(clock, counts.card(clock, now)) for clock in case.open_clocks]
    late = sorted([(c, card) for c, card in carded if card], key=lambda pair: pair[1] != "red")
    return late or [(c, card) for c, card in carded if c.paused_at is None][:1]


def queue_link(unit: OrgUnit, **filters: str) -> str:
    """The queue of `unit`'s cases (Case.objects.within, as the figures count them), filtered."""
    scope = {"village" if unit.level == OrgUnit.Level.VILLAGE else "unit": unit.pk}
    return reverse("desk:queue:index") + "?" + urlencode({**scope, **filters})


def unit_figures(unit: OrgUnit, figures: dict[str, int], returns: int, *, whole: bool) -> dict[str, Any]:
    """One line of the table: the unit, its figures and where each opens in the queue.
    The queue has no filter for cases under an open order (its list of orders to answer
    is the answering unit's work), and returns are no cases: those two go without a link."""
    return {
        "unit": unit, "whole": whole, **figures, "returns": returns,
        "links": {"red": queue_link(unit, card="red"), "yellow": queue_link(unit, card="yellow"),
                  "escalated": queue_link(unit, stage=Case.Stage.ESCALATED)},
    }


def by_unit(supervised: list[OrgUnit], children: list[OrgUnit], grouping: counts.UnitCases, cases: Any,
            returns: Any, now: datetime) -> list[dict[str, Any]]:
    """For each unit supervised, its own line (everything beneath it) and one for each
    township or village directly beneath it: the figures of workflow.counts.pressing_by_unit
    in one statement, and the overdue returns of each in one more."""
    figures = counts.pressing_by_unit(cases, grouping, now)
    late_returns = dict.fromkeys((u.pk for u in grouping.units), 0)
    for village, n in returns.order_by().values("village_id").annotate(n=Count("pk")).values_list("village_id", "n"):
        for owner in grouping.owners_of_village(village):
            late_returns[owner] += n
    return [{
        "unit": top,
        "lines": [unit_figures(u, figures[u.pk], late_returns[u.pk], whole=u is top)
                  for u in [top, *(c for c in children if c.parent_id == top.pk)]],
    } for top in supervised]


def outermost(units: list[OrgUnit]) -> list[OrgUnit]:
    """`units` without those beneath another of them: whose figures add up to the whole."""
    return [u for u in units if not any(o.pk != u.pk and u.path.startswith(o.path) for o in units)]


@login_required
@only_for(may_supervise)
def board(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    supervised = list(supervised_units(request.user))
    children = list(OrgUnit.objects.filter(parent__in=supervised).exclude(level=OrgUnit.Level.DEPARTMENT)
                    .order_by("path"))
    grouping = counts.UnitCases([*supervised, *children])
    # The open cases of the units supervised, as every figure counts them
    # (Case.objects.within), among those the person may see.
    visible = visible_to(request.user).open()
    returns = overdue_returns(supervised, now)
    units = by_unit(supervised, children, grouping, visible, returns, now)
    whole = {u.pk for u in outermost(supervised)}
    totals = {name: sum(group["lines"][0][name] for group in units if group["unit"].pk in whole)
              for name in (*counts.PRESSING_FIGURES, "returns")}
    # The units beneath hold no case their unit above does not: the same cases as the supervised alone.
    ids = most_pressing(visible, PRESSING, now, units=grouping)
    found = {case.pk: case for case in board_rows(Case.objects.filter(pk__in=ids), now)}
    cases = [found[pk] for pk in ids if pk in found]
    supervise = next(iter(CaseFlow.supervise.get_transitions()))
    may_supervise_ids = cases_with_role_grant(request.user, "supervise_case", cases)
    rows = [{
        "case": case,
        "clocks": carded_clocks(case, now),
        "orders": open_supervision_orders(case),
        # The machine's own condition (no open order), on the orders read above; the form
        # arrives when the row is opened (desk.operation_frames).
        "supervise": supervise if case.pk in may_supervise_ids and supervise.conditions_met(CaseFlow(case)) else None,
    } for case in cases]
    return render(request, "desk/board.html", {
        "units": units, "totals": totals, "rows": rows,
        "carded": totals["red"] + totals["yellow"],
        "returns": list(returns[:RETURNS_SHOWN]), "returns_total": totals["returns"],
    })
