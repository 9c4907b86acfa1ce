"""考核: units scored on the scheme's indicators, ranked, the last places warned (末位警示)
and veto items (一票否决) shown; every figure links to the cases behind it.

The page scores from the rollup where it can (reports.assessment.assess without cases):
a county-year's figures without reading its cases. The cases behind such a figure are
read for its one unit when its link is followed (figure_cases)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from reports.assessment import Figure, assess, assessed_units, default_scheme, figure
from workflow.models import AssessmentScheme
from workflow.permissions import may_review

from .responses import only_for
from .scope import UnitPeriodForm

# A drill-down lists at most this many cases by id in the queue's address.
LINKED_CASES = 500


def cases_link(ids: list[int]) -> str:
    return reverse("desk:queue:index") + "?stage=all&ids=" + ",".join(map(str, ids[:LINKED_CASES])) if ids else ""


def figure_links(f: Figure, unit: Any, query: dict[str, str]) -> tuple[str, str]:
    """Links to the cases a figure counted and to those that hit: by id where the page
    read them, else to figure_cases, which reads them for this unit."""
    if f.case_ids or not f.counted:
        return cases_link(f.case_ids), cases_link(f.hit_case_ids)
    base = reverse("desk:assessment:cases") + "?" + urlencode({**query, "of": unit.pk, "indicator": f.indicator})
    return base, base + "&hit=1" if f.hits else ""


@login_required
@only_for(may_review)
def assessment(request: HttpRequest) -> HttpResponse:
    choice = UnitPeriodForm(request.GET, user=request.user)
    context: dict[str, Any] = {"choice": choice}
    if choice.is_valid() and choice.cleaned_data["unit"] is not None:
        result = assess(choice.cleaned_data["unit"], choice.cleaned_data["period"], cases=False)
        query = {"unit": choice.cleaned_data["unit"].pk, "period": choice.cleaned_data["period"].label}
        # The weighted indicators are columns, each with its weight; the veto items (一票否决)
        # weigh nothing, so they are one pass-or-fail column rather than columns of 0.00.
        first = result.units[0] if result.units else None
        items = first.weighted if first else []
        vetoes = first.vetoes if first else []
        rows = [{"score": s,
                 "figures": [(f, *figure_links(f, s.unit, query)) for f in s.weighted],
                 "failed": [(f, figure_links(f, s.unit, query)[0]) for f in s.vetoes if f.hits]}
                for s in result.units]
        context.update(result=result, items=items, vetoes=vetoes, rows=rows)
    return render(request, "desk/assessment.html", context)


class FigureForm(forms.Form):
    of = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    indicator = forms.CharField(max_length=32)
    hit = forms.BooleanField(required=False)


@login_required
@only_for(may_review)
def figure_cases(request: HttpRequest) -> HttpResponse:
    """The queue of the cases behind one unit's figure (`of`, a unit the page scores, and
    `indicator`; with `hit`, those that hit): 404 for anything the page does not show."""
    choice, asked = UnitPeriodForm(request.GET, user=request.user), FigureForm(request.GET)
    if not (choice.is_valid() and asked.is_valid()) or choice.cleaned_data["unit"] is None:
        raise Http404
    unit = next((u for u in assessed_units(choice.cleaned_data["unit"]) if u.pk == asked.cleaned_data["of"]), None)
    try:
        items = default_scheme().items.all()
    except AssessmentScheme.DoesNotExist:
        raise Http404 from None
    item = next((i for i in items if i.indicator == asked.cleaned_data["indicator"]), None)
    if unit is None or item is None:
        raise Http404
    found = figure(item, unit, choice.cleaned_data["period"])
    ids = found.hit_case_ids if asked.cleaned_data["hit"] else found.case_ids
    # No case behind it: the queue of no case (ids=0), not of every case (no ids).
    return HttpResponseRedirect(cases_link(ids or [0]))
