"""排查: the villages' monthly returns, and the monthly meeting that reviews them with
the month's cases and the concealment suspects (瞒报), decided one by one or in bulk."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from cases.forms import ReadableText
from cases.models import Case, Category, OrgUnit, Source
from cases.periods import month_period, parse_month
from cases.wording import series
from screening.meeting import ROWS_PER_VILLAGE, by_village, meeting_data
from screening.minutes import MinutesForm, close_minutes, minutes_content, minutes_of, save_minutes
from screening.returns import (
    decide_suspects,
    filed_returns,
    month_due_now,
    return_statuses,
    submit_return,
)
from screening.visits import visit_figures
from workflow.errors import CaseOperationError, InvalidData
from workflow.flow import CaseFlow
from workflow.models import SupervisionOrder
from workflow.permissions import (
    DECIDE_CONCEALMENT,
    cases_with_role_grant,
    filing_villages,
    grants_for_cases,
    listable_on_return,
    may_keep_minutes,
    reviewed_units,
)

from .responses import back, carried_out, form_id
from .scope import UnitPeriodForm

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
        self.fields["cases"].queryset = listable_on_return(user, village, period).order_by("reported_at")
        self.fields["cases"].label_from_instance = lambda c: f"{c.number} {c.title}（{c.get_source_display()}）"


@login_required
def returns(request: HttpRequest) -> HttpResponse:
    """A village worker's (or a township officer's) returns for a month: status, what
    each filed return holds (cases listed, who filed and signed, when), and the form for
    each village still to file. Without a month asked for, the month due now."""
    villages = list(filing_villages(request.user))
    try:
        month = parse_month(request.GET.get("month") or request.POST.get("month") or month_due_now(villages))
    except ValueError:  # BadPeriod
        month = month_due_now(villages)
    statuses = {s.village.pk: s for s in return_statuses(villages, month)}
    sheets = filed_returns([s.return_id for s in statuses.values() if s.return_id], request.user)
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
            filed = carried_out(form, lambda: submit_return(
                actor=request.user, village=data["village"], month=month, nil=data["nil"],
                items=[{"case": c.pk} for c in data["cases"]], signed_off_by=data["signed_off_by"],
                note=data["note"]))
            if filed is not None:
                messages.success(request, _("The return of %(village)s for %(month)s is filed.") % {
                    "village": filed.village.name, "month": f"{month:%Y-%m}"})
                return back(request, "desk:returns:index")
    # The household visits (走访) of the return's month, by village: one grouped query.
    visits = visit_figures(villages, month)
    rows = [(v, statuses[v.pk], forms_by_village.get(v.pk), sheets.get(statuses[v.pk].return_id), visits.get(v.pk))
            for v in villages]
    return render(request, "desk/returns.html", {"rows": rows, "month": month})


class SuspectIds(forms.Field):
    """The ticked suspects: case ids, ASCII digits each (form_id), or the form is refused."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        texts = [str(v) for v in (value or [])] if isinstance(value, (list, tuple)) else [str(value)] if value else []
        ids = [form_id(text) for text in texts]
        if None in ids:
            raise forms.ValidationError(_("“%(value)s” is no case of the list.")
                                        % {"value": texts[ids.index(None)][:20]}, code="invalid")
        return [pk for pk in ids if pk is not None]


class SuspectDecisionsForm(forms.Form):
    """One decision for every ticked suspect. The reason is the service's to check, as for
    a single decision (DecisionForm)."""

    case = SuspectIds(error_messages={"required": gettext_lazy("Tick the suspects to decide.")})
    decision = forms.ChoiceField(choices=[("confirm", gettext_lazy("Confirm concealment")),
                                          ("dismiss", gettext_lazy("Dismiss"))],
                                 error_messages={"required": gettext_lazy("Confirm or dismiss the ticked suspects."),
                                                 "invalid_choice": gettext_lazy("Confirm or dismiss the ticked suspects.")})
    reason = forms.CharField(required=False, strip=False)


def decide_ticked(request: HttpRequest) -> HttpResponse:
    """The meeting's bulk decision on the ticked suspects (screening.returns.decide_suspects:
    each recorded as if decided alone, refusals named one per row)."""
    form = SuspectDecisionsForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return back(request, "desk:meeting:index")
    data = form.cleaned_data
    try:
        results = decide_suspects(data["case"], actor=request.user, confirm=data["decision"] == "confirm",
                                  reason=data["reason"])
    except InvalidData as problem:
        for errors in problem.errors.values():
            for error in errors:
                messages.error(request, error)
        return back(request, "desk:meeting:index")
    done = [r.number for r in results if r.event is not None]
    if done:
        messages.success(request, _("Decisions recorded on %(count)d suspects: %(numbers)s.") % {
            "count": len(done), "numbers": series(done)})
    for refused in (r for r in results if r.event is None):
        messages.error(request, f"{refused.number or refused.case_id}: {refused.refusal}")
    return back(request, "desk:meeting:index")


@login_required
def meeting(request: HttpRequest) -> HttpResponse:
    """The monthly 排查 meeting of a township: the month's cases by village and
    category, the returns, the concealment suspects (decided here in bulk: POST), and
    decisions recorded on cases."""
    if request.method == "POST":
        return decide_ticked(request)
    return meeting_page(request, request.GET)


def meeting_page(request: HttpRequest, query: Any, minutes_form: MinutesForm | None = None,
                 status: int = 200) -> HttpResponse:
    """The meeting page for the township and month `query` names; with `minutes_form`, the
    minutes' form as sent, with its errors."""
    choice = UnitPeriodForm(query, user=request.user, months_only=True,
                            levels=(OrgUnit.Level.TOWNSHIP,))
    context: dict[str, Any] = {"choice": choice}
    if choice.is_valid() and choice.cleaned_data["unit"] is not None:
        township, period = choice.cleaned_data["unit"], choice.cleaned_data["period"]
        data = meeting_data(township, period.first, user=request.user)
        context.update(suspect_rows(data, request.user))
        decisions = meeting_decisions([pk for ids in data.listed.values() for pk in ids], request.user)
        labels = dict(Category.choices)
        villages = []
        for village, groups in by_village(data).items():
            village_id = groups[0].village_id
            shown = data.listed.get(village_id, [])
            villages.append({
                "name": village or _("no village"),
                "groups": [{"category": labels.get(g.category, g.category), "counts": g.counts,
                            "link": queue_link(township, village_id, g.category)} for g in groups],
                "cases": [(data.cases[pk], decisions.get(pk, [])) for pk in shown],
                "more": sum(g.counts["open"] for g in groups) - len(shown),
                "all_link": queue_link(township, village_id),
            })
        context.update(data=data, villages=villages, township=township, month=period.first,
                       printed_at=timezone.now(), rows_per_village=ROWS_PER_VILLAGE)
        # Each village's return beside its household visits (走访) of the month.
        context["return_rows"] = [(r, data.visits.get(r.village.pk)) for r in data.returns]
        context.update(minutes_context(request.user, township, period.first, data.at, minutes_form))
    return render(request, "desk/meeting.html", context, status=status)


# ---------------------------------------------------------------------------------------
# The meeting's minutes (screening.minutes): a folded form on the meeting page, and a PDF.

# The decisions as the minutes' page names them.
DECISION_LABELS = {
    "assign": gettext_lazy("Assign"),
    "supervise": gettext_lazy("Issue supervision order"),
    "escalate": gettext_lazy("Escalate"),
    "concealment_confirmed": gettext_lazy("Concealment confirmed"),
    "concealment_dismissed": gettext_lazy("Concealment dismissed"),
}
# As the printed minutes write them (Chinese official wording, whatever the reader's language).
DECISION_WORDS = {
    "assign": "指派承办人",
    "supervise": "督办",
    "escalate": "上报",
    "concealment_confirmed": "认定瞒报",
    "concealment_dismissed": "排除瞒报嫌疑",
}


def minutes_context(user: Any, township: OrgUnit, month: Any, at: Any,
                    form: MinutesForm | None = None) -> dict[str, Any]:
    minutes = minutes_of(township, month)
    content = minutes_content(minutes, at) if minutes is not None else None
    may_keep = may_keep_minutes(user, township)
    closed = content is not None and content.closed
    if form is None and may_keep and not closed:
        fields = ("held_at", "place", "chair", "attendees", "resolutions")
        form = MinutesForm(initial={f: getattr(minutes, f) for f in fields} if minutes else {})
    decisions = [{**d, "label": DECISION_LABELS.get(d["kind"], d["kind"])} for d in content.decisions] if content else []
    return {"minutes": content, "minutes_decisions": decisions,
            "minutes_form": form if may_keep and not closed else None,
            "minutes_url": reverse("desk:meeting:minutes", args=[township.pk, f"{month:%Y-%m}"]),
            "minutes_pdf": reverse("desk:meeting:minutes_pdf", args=[township.pk, f"{month:%Y-%m}"])}


def minutes_scope(user: Any, township_id: str, month: str) -> tuple[OrgUnit, Any]:
    """The township (one the person reviews) and the month a minutes' door names; 404 for
    anything else, a bad id or month included."""
    pk = form_id(township_id)
    township = reviewed_units(user, (OrgUnit.Level.TOWNSHIP,)).filter(pk=pk).first() if pk else None
    try:
        first = parse_month(month)
    except ValueError:  # BadPeriod
        first = None
    if township is None or first is None:
        raise Http404
    return township, first


@login_required
@require_POST
def minutes(request: HttpRequest, township_id: str, month: str) -> HttpResponse:
    """Save the minutes (action "save") or close them (action "close"). A form with errors
    comes back on the meeting page (422), nothing written."""
    township, first = minutes_scope(request.user, township_id, month)
    query = QueryDict(mutable=True)
    query.update({"unit": str(township.pk), "period": f"{first:%Y-%m}"})
    page = reverse("desk:meeting:index") + "?" + query.urlencode() + "#minutes"
    if request.POST.get("action") == "close":
        try:
            close_minutes(actor=request.user, township=township, month=first)
        except CaseOperationError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("The minutes are closed: they no longer change."))
        return HttpResponseRedirect(page)
    form = MinutesForm(request.POST)
    if form.is_valid() and carried_out(form, lambda: save_minutes(
            actor=request.user, township=township, month=first, data=form.cleaned_data)) is not None:
        messages.success(request, _("The minutes are saved."))
        return HttpResponseRedirect(page)
    return meeting_page(request, query, minutes_form=form, status=422)


@login_required
@require_safe
def minutes_pdf(request: HttpRequest, township_id: str, month: str) -> HttpResponse:
    """The minutes as PDF (paper/minutes.html), for whoever reviews the township."""
    township, first = minutes_scope(request.user, township_id, month)
    found = minutes_of(township, first)
    if found is None:
        raise Http404
    content = minutes_content(found)
    # Imported on the first print: WeasyPrint loads Pango (desk/paper.py).
    from paper.render import pdf_response, render_pdf

    people = {u.pk: u for u in get_user_model().objects.filter(
        pk__in=[found.written_by_id, found.closed_by_id or found.written_by_id])}
    pdf = render_pdf("paper/minutes.html", {
        "content": content, "minutes": found, "township": township, "month": first,
        "decisions": [{**d, "words": DECISION_WORDS.get(d["kind"], d["kind"])} for d in content.decisions],
        "written_by": people.get(found.written_by_id), "closed_by": people.get(found.closed_by_id),
    })
    return pdf_response(pdf, f"{township.name} {first:%Y-%m} 排查例会纪要.pdf")


class ListedFlow(CaseFlow):
    """The state machine asked about one row of a list, with the person's grants on the
    case read for the whole list at once (workflow.permissions.grants_for_cases) instead of
    one query per row: it offers what it offers on the case page
    (workflow.services.available_operations)."""

    def __init__(self, case: Case, user: Any, grants: frozenset[str]) -> None:
        super().__init__(case, actor=user)
        self.listed_for, self.listed_grants = user, grants

    def grants(self, user: Any) -> frozenset[str]:
        return self.listed_grants if user is self.listed_for else super().grants(user)


def meeting_decisions(case_ids: list[int], user: Any) -> dict[int, list[Any]]:
    """The decisions of the meeting (MEETING_DECISIONS) the state machine offers `user` on
    each of these cases, by case id; in a fixed number of queries however many cases: the
    cases with their supervision orders (the machine's rule on a second order reads them)
    and the person's grants on all of them. The forms are fetched when opened
    (desk.operation_frames)."""
    # Only what the grants and these decisions' rules read: the units' paths (the rule of
    # reach), the unit above (escalate) and the open orders (a second one): a full case
    # is some forty columns, and three hundred of them were half the page's time.
    cases = list(Case.objects.filter(pk__in=case_ids).select_related("responsible_unit", "village")
                 .only("stage", "accused_unit_id", "responsible_unit__path", "responsible_unit__parent_id",
                       "village__path")
                 .prefetch_related(Prefetch("supervision_orders",
                                            queryset=SupervisionOrder.objects.only("case_id", "closed_at"))))
    grants = grants_for_cases(user, cases)
    decisions = {}
    for case in cases:
        flow = ListedFlow(case, user, grants[case.pk])
        # Only the meeting's decisions are asked about, permission first: the conditions of
        # other operations (a routing objection's reads the case's events) are not the
        # meeting's business and would cost queries per row.
        available = {t.slug: t for t in CaseFlow.stage.get_outgoing_transitions(case.stage)
                     if t.slug in MEETING_DECISIONS and t.has_perm(flow, user) and t.conditions_met(flow)}
        decisions[case.pk] = [available[name] for name in MEETING_DECISIONS if name in available]
    return decisions


def queue_link(township: OrgUnit, village_id: int | None, category: str = "") -> str:
    """The queue of the village's open cases (of one category); for the cases without a
    village, the township's."""
    filters = {"village": village_id} if village_id else {"unit": township.pk}
    filters["category"] = category
    return reverse("desk:queue:index") + "?" + urlencode({k: v for k, v in filters.items() if v})


def suspect_rows(data: Any, user: Any) -> dict[str, Any]:
    """The suspects as one compact table, each with its village's return and whether this
    person may tick it (workflow.permissions decides); in four queries however many."""
    suspects = [(group, s) for group in data.suspects for s in group.suspects]
    cases = Case.objects.filter(pk__in=[s.case_id for _, s in suspects]).select_related("responsible_unit", "village")
    may_decide = cases_with_role_grant(user, DECIDE_CONCEALMENT, cases)
    deciders = {u.pk: u for u in get_user_model().objects.filter(pk__in={s.decided_by for _, s in suspects if s.decided_by})}
    sources = dict(Source.choices)
    rows = [{"village": group.village, "return_status": group.return_status, "suspect": s,
             "source": sources.get(s.source, s.source), "decided_by": deciders.get(s.decided_by),
             "tick": not s.decision and s.case_id in may_decide}
            for group, s in suspects]
    due = [r.due_at for r in data.awaiting if r.due_at]
    return {"suspect_rows": rows, "may_tick": any(r["tick"] for r in rows), "awaiting_due": min(due, default=None)}
