"""Queues: every case a person may see, filtered, sorted and paged, with bulk assignment
for officers. The page costs the same number of queries at 10 rows as at 100."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases.models import Case, Category, OrgUnit, Role, Source
from cases.periods import BadPeriod, month_period, parse_month
from cases.wording import series
from workflow import counts, queues, services
from workflow.errors import CaseOperationError
from workflow.permissions import may_assign_in_bulk, units_reached, visible_to
from workflow.queues import Listing, NearestDueFirst, risk_rank

from .responses import back, form_id
from .templatetags.queue_rows import esc

SORTS = {
    "due": (gettext_lazy("nearest deadline"), [F("next_due_at").asc(nulls_last=True)]),
    "-reported": (gettext_lazy("newest first"), ["-reported_at"]),
    "reported": (gettext_lazy("oldest first"), ["reported_at"]),
    "number": (gettext_lazy("case number"), ["number"]),
    "-risk": (gettext_lazy("risk, highest first"), ["-risk_rank"]),
}
PAGE_SIZES = [10, 25, 50, 100]


def blank(label: Any, choices: Any) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class ListedSelect(forms.Select):
    """Django's Select with the same markup, its options written here instead of through
    a template each: a county's supervisor is offered every village and unit of the
    county, some four hundred options, and their templates were half the page's time.
    Grouped choices go the usual way."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        # Through iter(): list() would ask a model choice iterator its length, a COUNT query.
        choices = list(iter(self.choices))
        if any(isinstance(label, (list, tuple)) for _value, label in choices):
            return super().render(name, value, attrs, renderer)
        chosen = set(self.format_value(value))
        found = False
        parts = [f"<select name=\"{esc(name)}\"{attributes(self.build_attrs(self.attrs, attrs))}>"]
        for option, label in choices:
            option = "" if option is None else str(option)
            selected = not found and option in chosen
            found |= selected
            parts.append(f"\n  <option value=\"{esc(option)}\"{' selected' if selected else ''}>{esc(label)}</option>\n")
        # Django's renderer strips what its template leaves around the element.
        parts.append("\n</select>")
        return mark_safe("".join(parts))


class WrittenInput(forms.Widget):
    """Django's <input> widgets (text, number, month, hidden, checkbox) with the same
    markup, written here rather than through django/forms/widgets/input.html and its
    attrs.html: two templates per field, a sixth of the filter's time."""

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> str:
        widget = context["widget"]
        if template_name not in INPUT_TEMPLATES:
            return super()._render(template_name, context, renderer)
        value = "" if widget["value"] is None else f' value="{esc(widget["value"])}"'
        return mark_safe(f'<input type="{esc(widget["type"])}" name="{esc(widget["name"])}"{value}{attributes(widget["attrs"])}>')


INPUT_TEMPLATES = frozenset(f"django/forms/widgets/{name}.html" for name in ("text", "number", "hidden", "checkbox"))
# Each input widget of the filter, as WrittenInput writes it.
WRITTEN = {kind: type(f"Written{kind.__name__}", (WrittenInput, kind), {})
           for kind in (forms.TextInput, forms.NumberInput, forms.HiddenInput, forms.CheckboxInput)}


def attributes(attrs: dict[str, Any]) -> str:
    """As django/forms/widgets/attrs.html writes them."""
    return "".join(f" {esc(k)}" + ("" if v is True else f"=\"{esc(v)}\"")
                   for k, v in attrs.items() if v is not False)


# The workbench's lists (workflow.queues), each in full here.
LISTS = {
    "awaiting": (gettext_lazy("awaiting acceptance"), queues.awaiting_acceptance),
    "mine": (gettext_lazy("my cases"), queues.my_cases),
    "work": (gettext_lazy("my cases and my units' cases"), queues.my_work),
    "supervision": (gettext_lazy("supervision orders to answer"), queues.supervision_to_answer),
}
CARDS = [("red", gettext_lazy("red card")), ("yellow", gettext_lazy("yellow card, not yet overdue"))]


class QueueFilter(forms.Form):
    list = forms.ChoiceField(label=gettext_lazy("list"), required=False,
                             choices=blank(gettext_lazy("every case I may see"),
                                           [(k, label) for k, (label, _select) in LISTS.items()]))
    unit = forms.ModelChoiceField(label=gettext_lazy("unit"), queryset=OrgUnit.objects.none(), required=False,
                                  empty_label=gettext_lazy("all units"), widget=ListedSelect)
    village = forms.ModelChoiceField(label=gettext_lazy("village"), queryset=OrgUnit.objects.none(),
                                     required=False, empty_label=gettext_lazy("all villages"), widget=ListedSelect)
    stage = forms.ChoiceField(label=gettext_lazy("stage"), required=False,
                              choices=blank(gettext_lazy("open cases"), [*Case.Stage.choices, ("all", gettext_lazy("all stages"))]))
    kind = forms.ChoiceField(label=gettext_lazy("kind"), required=False,
                             choices=blank(gettext_lazy("all kinds"), Case.Kind.choices))
    category = forms.ChoiceField(label=gettext_lazy("category"), required=False,
                                 choices=blank(gettext_lazy("all categories"), Category.choices))
    risk = forms.ChoiceField(label=gettext_lazy("risk"), required=False,
                             choices=blank(gettext_lazy("all risks"), Case.Risk.choices))
    source = forms.ChoiceField(label=gettext_lazy("source"), required=False,
                               choices=blank(gettext_lazy("all sources"), Source.choices))
    card = forms.ChoiceField(label=gettext_lazy("card"), required=False, choices=blank(gettext_lazy("any"), CARDS))
    overdue = forms.BooleanField(label=gettext_lazy("overdue only"), required=False)
    due_within = forms.IntegerField(label=gettext_lazy("due within (days)"), required=False, min_value=0,
                                    max_value=3650)
    reported = forms.CharField(label=gettext_lazy("reported in (month)"), required=False, max_length=7,
                               widget=forms.TextInput(attrs={"type": "month"}))
    # Drill-downs from the assessment and the dashboard name their cases.
    ids = forms.CharField(required=False, widget=forms.HiddenInput)
    sort = forms.ChoiceField(label=gettext_lazy("sort"), required=False,
                             choices=[(k, label) for k, (label, _order) in SORTS.items()])
    size = forms.TypedChoiceField(label=gettext_lazy("rows per page"), required=False, coerce=int,
                                  choices=[(n, n) for n in PAGE_SIZES], empty_value=25)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.units = units = units_reached(user)
        self.fields["unit"].queryset = units.exclude(level=OrgUnit.Level.VILLAGE)
        self.fields["village"].queryset = units.filter(level=OrgUnit.Level.VILLAGE)

    def clean_reported(self) -> Any:
        text = self.cleaned_data.get("reported")
        if not text:
            return None
        try:
            return month_period(parse_month(text))
        except BadPeriod as error:
            raise forms.ValidationError(str(error)) from None

    def clean_ids(self) -> list[int] | None:
        text = self.cleaned_data.get("ids")
        if not text:
            return None
        parts = text.split(",")
        ids = [form_id(p) for p in parts]
        if len(parts) > 1000 or None in ids:
            raise forms.ValidationError(_("A list of case numbers is expected."))
        return ids

    def apply(self, cases: Any) -> Any:
        data = self.cleaned_data
        if data.get("list"):
            cases = cases & LISTS[data["list"]][1](self.user)
        # A unit's cases are the ones every figure counts for it (Case.objects.within),
        # so a count on the dashboard or the meeting opens the same cases here.
        if data.get("unit"):
            cases = cases.within(data["unit"])
        if data.get("village"):
            cases = cases.within(data["village"])
        stage = data.get("stage")
        cases = cases.open() if not stage else cases if stage == "all" else cases.filter(stage=stage)
        for name in ("kind", "category", "risk", "source"):
            if data.get(name):
                cases = cases.filter(**{name: data[name]})
        if data.get("overdue") or data.get("card") == "red":
            cases = cases.filter(counts.overdue())
        if data.get("card") == "yellow":
            cases = cases.filter(counts.warned()).exclude(counts.overdue())
        if data.get("reported"):
            cases = cases.filter(reported_at__gte=data["reported"].start, reported_at__lt=data["reported"].end)
        if data.get("ids") is not None:
            cases = cases.filter(pk__in=data["ids"])
        if data.get("due_within") is not None:
            cases = counts.due_before(cases, timezone.now() + timedelta(days=data["due_within"]))
        return cases

    def rows(self, cases: Any) -> Any:
        """The filtered cases in the chosen order, with what the list shows of each."""
        sort = (self.cleaned_data.get("sort") if self.is_valid() else None) or "due"
        if sort == "due":
            return NearestDueFirst(cases)
        return Listing(cases, SORTS[sort][1], risk_rank=risk_rank())


# Every list of the filter written as ListedSelect writes them, and every input as
# WrittenInput: Django's widget templates, one per option, were a fifth of the queue
# page's time. Set once on the class; each form copies its fields.
for _field in QueueFilter.base_fields.values():
    if type(_field.widget) is forms.Select:
        _field.widget = ListedSelect(attrs=_field.widget.attrs, choices=_field.widget.choices)
    elif type(_field.widget) in WRITTEN:
        # The widget as the field set it up (IntegerField's min and max), written.
        _field.widget.__class__ = WRITTEN[type(_field.widget)]


def assignees(units: Any) -> Any:
    """Whom an officer may pick for bulk assignment among the people of `units` (the units
    they reach, units_reached); the service checks each case."""
    return get_user_model().objects.filter(
        is_active=True, memberships__unit__in=units,
        memberships__role__in=[Role.MEDIATOR, Role.OFFICER, Role.LIAISON],
    # Only what the list shows: a county offers some hundreds of people, each row read
    # whole (password hash included) and made distinct on every column.
    ).only("pk", "username", "first_name", "last_name").distinct().order_by("first_name", "username")


def listing(request: HttpRequest) -> dict[str, Any]:
    # Always bound: an empty query is a valid filter (open cases, nearest deadline first).
    query = request.GET.copy()
    if query.get("stage") == Case.Stage.CLOSED and not query.get("sort"):
        # Closed cases have no open deadline to sort by: the archive reads newest first.
        query["sort"] = "-reported"
    form = QueueFilter(query, user=request.user)
    cases = visible_to(request.user)
    cases = form.apply(cases) if form.is_valid() else cases.none()
    size = (form.cleaned_data.get("size") if form.is_valid() else None) or 25
    page = Paginator(form.rows(cases), size).get_page(query.get("page"))
    query.pop("page", None)
    # The filters chosen, for the folded form's summary; sort, page size and drill-down ids are none.
    active = sum(1 for name, value in query.items() if value and name in form.fields and name not in ("sort", "size", "ids"))
    return {"filter": form, "page": page, "query": query.urlencode(), "active_filters": active,
            # The units the filter offers are those whose people bulk assignment offers: read once.
            "assignees": assignees(form.units) if may_assign_in_bulk(request.user) else None}


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/queue.html", listing(request))


@login_required
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign many cases to one person: each its own operation through the service, so
    each is checked and recorded alone; what could not be assigned is named."""
    ids = [pk for pk in map(form_id, request.POST.getlist("case")) if pk is not None]
    assignee = request.POST.get("assignee", "")
    if not ids or not assignee:
        messages.error(request, _("Choose the cases and the person to assign them to."))
        return back(request, "desk:queue:index")
    done, refused = [], []
    for case in visible_to(request.user).filter(pk__in=ids).order_by("pk"):
        try:
            services.transition(case.pk, "assign", actor=request.user, data={"assignee": assignee})
            done.append(case.number)
        except CaseOperationError as refusal:
            refused.append(f"{case.number}: {refusal.message}")
    if done:
        messages.success(request, _("Assigned %(count)d cases: %(numbers)s.") % {
            "count": len(done), "numbers": series(done)})
    for line in refused:
        messages.error(request, line)
    return back(request, "desk:queue:index")
