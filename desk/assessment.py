"""考核: units scored on the scheme's indicators, ranked, the last places warned (末位警示)
and veto items (一票否决) shown; every figure links to the cases behind it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from reports.assessment import assess
from workflow.permissions import may_review

from .responses import only_for
from .scope import UnitPeriodForm

# A drill-down lists at most this many cases by id in the queue's address.
LINKED_CASES = 500


def cases_link(ids: list[int]) -> str:
    return reverse("desk:queue:index") + "?stage=all&ids=" + ",".join(map(str, ids[:LINKED_CASES])) if ids else ""


@login_required
@only_for(may_review)
def assessment(request: HttpRequest) -> HttpResponse:
    choice = UnitPeriodForm(request.GET, user=request.user)
    context: dict[str, Any] = {"choice": choice}
    if choice.is_valid() and choice.cleaned_data["unit"] is not None:
        result = assess(choice.cleaned_data["unit"], choice.cleaned_data["period"])
        # The weighted indicators are columns, each with its weight; the veto items (一票否决)
        # weigh nothing, so they are one pass-or-fail column rather than columns of 0.00.
        first = result.units[0] if result.units else None
        items = first.weighted if first else []
        vetoes = first.vetoes if first else []
        rows = [{"score": s,
                 "figures": [(f, cases_link(f.case_ids), cases_link(f.hit_case_ids)) for f in s.weighted],
                 "failed": [(f, cases_link(f.case_ids)) for f in s.vetoes if f.hits]}
                for s in result.units]
        context.update(result=result, items=items, vetoes=vetoes, rows=rows)
    return render(request, "desk/assessment.html", context)
