"""走访: the household visits of a village, month by month, and the form to record one
(screening.visits), which may raise a case with its few facts."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import OrgUnit
from cases.periods import BadPeriod, parse_month
from screening.models import Visit
from screening.visits import VisitForm, record_visit, visits_of
from workflow.permissions import may_record_visit, visible_to, visit_reading_villages, visits_visible_to

from .responses import carried_out, form_id

VISITS_PER_PAGE = 20


class VisitChoice(forms.Form):
    """The village (one the person reads) and the month the page shows; by default the
    first village and this month."""

    village = forms.ModelChoiceField(label=gettext_lazy("village"), queryset=OrgUnit.objects.none(),
                                     required=False, empty_label=None)
    month = forms.CharField(label=gettext_lazy("month"), required=False, max_length=7)

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        self.fields["village"].queryset = visit_reading_villages(user)

    def clean_village(self) -> OrgUnit | None:
        return self.cleaned_data.get("village") or self.fields["village"].queryset.first()

    def clean_month(self) -> date:
        text = self.cleaned_data.get("month") or ""
        if not text:
            return timezone.localdate().replace(day=1)
        try:
            return parse_month(text)
        except BadPeriod as error:
            raise forms.ValidationError(str(error)) from None


class VisitRecordForm(VisitForm):
    """The visit form of the page: the service's form with the village it is for."""

    village = forms.IntegerField(widget=forms.HiddenInput)
    field_order = ["village", "household", "id_number", "visited_at", "companions", "findings", "concern",
                   "raises_case", "case_title", "case_category", "case_summary", "repeats_seen"]


@login_required
def visits(request: HttpRequest) -> HttpResponse:
    """The visits of a village in a month, newest first and paged; the form to record one
    where the person records visits for the village (POST)."""
    if request.method == "POST":
        return record(request)
    return page(request, request.GET)


def page(request: HttpRequest, query: Any, form: VisitRecordForm | None = None, status: int = 200) -> HttpResponse:
    choice = VisitChoice(query, user=request.user)
    context: dict[str, Any] = {"choice": choice}
    if choice.is_valid() and choice.cleaned_data["village"] is not None:
        village, month = choice.cleaned_data["village"], choice.cleaned_data["month"]
        listed = visits_of(visits_visible_to(request.user, Visit.objects.all()), village, month)
        shown = Paginator(listed, VISITS_PER_PAGE).get_page(query.get("page"))
        rows = list(shown.object_list)
        # The case a visit raised is linked for those who may see it (workflow.permissions).
        seen = set(visible_to(request.user).filter(pk__in=[v.case_id for v in rows if v.case_id])
                   .values_list("pk", flat=True))
        if form is None and may_record_visit(request.user, village):
            now = timezone.localtime()
            form = VisitRecordForm(initial={"village": village.pk, "visited_at": now.replace(second=0, microsecond=0)})
        context.update(village=village, month=month, page=shown, rows=[(v, v.case_id in seen) for v in rows],
                       form=form, query=f"village={village.pk}&month={month:%Y-%m}")
    return render(request, "desk/visits.html", context, status=status)


def record(request: HttpRequest) -> HttpResponse:
    village_id = form_id(request.POST.get("village"))
    village = OrgUnit.objects.filter(pk=village_id, level=OrgUnit.Level.VILLAGE).first() if village_id else None
    query = {"village": str(village.pk) if village else "", "month": ""}
    if village is None or not may_record_visit(request.user, village):
        messages.error(request, _("You do not record visits for this village."))
        return page(request, query, status=403 if village is not None else 422)
    form = VisitRecordForm(request.POST)
    if form.is_valid():
        visit = carried_out(form, lambda: record_visit(actor=request.user, village=village, data=form.data))
        if visit is not None:
            if visit.case_id:
                messages.success(request, _("The visit is recorded, and case %(number)s registered.")
                                 % {"number": visit.case.number})
            else:
                messages.success(request, _("The visit is recorded."))
            month = timezone.localtime(visit.visited_at).date().replace(day=1)
            return HttpResponseRedirect(f"{reverse('desk:visits:index')}?village={village.pk}&month={month:%Y-%m}")
    return page(request, query, form=form, status=422)
