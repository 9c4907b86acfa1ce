"""排查: the villages' monthly returns, and the monthly meeting that reviews them with
the month's cases and the concealment suspects (瞒报)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases.forms import ReadableText
from cases.models import Case, Category, OrgUnit
from cases.periods import month_period, parse_month
from screening.meeting import by_village, meeting_data
from screening.returns import decide_suspect, return_statuses, submit_return
from workflow import services
from workflow.errors import CaseOperationError, InvalidData
from workflow.permissions import filing_villages, visible_to

from .case_page import operation_form
from .responses import back, form_id
from .scope import UnitPeriodForm, last_month

# What the meeting may decide on a case, recorded through the transition service.
MEETING_DECISIONS = ("assign", "supervise", "escalate")


class CaseChoices(forms.ModelMultipleChoiceField):
    """Cases ticked by id. An id is ASCII digits (form_id) before the database is asked:
    SQLite cannot hold a number past its integers and answers an OverflowError."""

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, (list, tuple)) else ():
            if form_id(str(pk)) is None:
                raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                            params={"pk": pk})
        return super().clean(value)


class ReturnForm(ReadableText, forms.Form):
    village = forms.ModelChoiceField(label=gettext_lazy("village"), queryset=OrgUnit.objects.none())
    month = forms.CharField(widget=forms.HiddenInput)
    cases = CaseChoices(label=gettext_lazy("disputes found"), queryset=Case.objects.none(), required=False,
                        widget=forms.CheckboxSelectMultiple)
    nil = forms.BooleanField(label=gettext_lazy("nil report: no dispute found this month"), required=False)
    signed_off_by = forms.CharField(label=gettext_lazy("signed off by (village head)"), max_length=64)
    note = forms.CharField(label=gettext_lazy("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, village: OrgUnit, month: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        period = month_period(month)
        self.fields["village"].queryset = filing_villages(user)
        self.fields["village"].widget = forms.HiddenInput()
        self.initial.update(village=village.pk, month=f"{month:%Y-%m}")
        self.fields["cases"].queryset = visible_to(user).filter(
            village=village, reported_at__gte=period.start, reported_at__lt=period.end).order_by("reported_at")
        self.fields["cases"].label_from_instance = lambda c: f"{c.number} {c.title}（{c.get_source_display()}）"


@login_required
def returns(request: HttpRequest) -> HttpResponse:
    """A village worker's (or a township officer's) returns for a month: status, and
    the form for each village still to file."""
    try:
        month = parse_month(request.GET.get("month") or request.POST.get("month") or last_month())
    except ValueError:
        month = last_month()
    villages = list(filing_villages(request.user))
    statuses = {s.village.pk: s for s in return_statuses(villages, month)}
    forms_by_village = {}
    for village in villages:
        if statuses[village.pk].status in ("pending", "missing"):
            bound = request.method == "POST" and request.POST.get("village") == str(village.pk)
            forms_by_village[village.pk] = ReturnForm(request.POST if bound else None, user=request.user,
                                                      village=village, month=month, prefix=None)
    if request.method == "POST":
        form = forms_by_village.get(form_id(request.POST.get("village")))
        if form is None:
            messages.error(request, _("This village's return cannot be filed here."))
        elif form.is_valid():
            data = form.cleaned_data
            try:
                filed = submit_return(
                    actor=request.user, village=data["village"], month=month, nil=data["nil"],
                    items=[{"case": c.pk} for c in data["cases"]], signed_off_by=data["signed_off_by"],
                    note=data["note"])
            except InvalidData as problem:
                for field, errors in problem.errors.items():
                    form.add_error(field if field in form.fields else None, errors)
            except CaseOperationError as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(request, _("The return of %(village)s for %(month)s is filed.") % {
                    "village": filed.village.name, "month": f"{month:%Y-%m}"})
                return back(request, "desk:returns:index")
    rows = [(v, statuses[v.pk], forms_by_village.get(v.pk)) for v in villages]
    return render(request, "desk/returns.html", {"rows": rows, "month": month})


@login_required
def meeting(request: HttpRequest) -> HttpResponse:
    """The monthly 排查 meeting of a township: the month's cases by village and
    category, the returns, the concealment suspects, and decisions recorded on cases."""
    choice = UnitPeriodForm(request.GET, user=request.user, months_only=True,
                            levels=(OrgUnit.Level.TOWNSHIP,))
    context: dict[str, Any] = {"choice": choice}
    if choice.is_valid() and choice.cleaned_data["unit"] is not None:
        township, period = choice.cleaned_data["unit"], choice.cleaned_data["period"]
        data = meeting_data(township, period.first, user=request.user)
        cases = {c.pk: c for c in Case.objects.filter(pk__in=list(data.cases)).select_related(
            "responsible_unit", "village", "assignee")}
        decisions = {}
        for case_id, item in data.cases.items():
            if "open" in item.sections:
                available = {t.slug: t for t in services.available_operations(cases[case_id], request.user)}
                decisions[case_id] = [(available[name], operation_form(available[name], cases[case_id]))
                                      for name in MEETING_DECISIONS if name in available]
        labels = dict(Category.choices)
        villages = [
            (village or _("no village"), [
                {"category": labels.get(g.category, g.category), "sections": g.cases,
                 "cases": [(data.cases[i], decisions.get(i, [])) for i in g.cases["open"] or g.cases["new"]]}
                for g in groups])
            for village, groups in by_village(data).items()]
        context.update(data=data, villages=villages, township=township, month=period.first,
                       printed_at=timezone.now())
    return render(request, "desk/meeting.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm or dismiss a concealment suspect; recorded as an event on the case."""
    case = get_object_or_404(visible_to(request.user), pk=pk)
    try:
        decide_suspect(case, actor=request.user, confirm=request.POST.get("decision") == "confirm",
                       reason=request.POST.get("reason", ""))
    except CaseOperationError as refusal:
        messages.error(request, f"{case.number}: {refusal.message}")
    else:
        messages.success(request, _("Decision on %(number)s recorded.") % {"number": case.number})
    return back(request, "desk:meeting:index")
