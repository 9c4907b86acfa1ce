"""Household visits (走访): officials going out to the households of a village, what they
found there, and the case a visit raises (README: Pages, 走访).

A visit is recorded once, by whoever made it (the actor), for a village they register
cases for (workflow.permissions.may_record_visit). It is not a case: it has no stage and no
audit chain, and who recorded it and when stay on its row. A visit that finds a dispute
raises a case: registered through workflow.services.report_case as any other (its rules,
its clocks, its news to the township's officers), found in screening (Source.SCREENING,
排查发现: the officials went out and found it, where Source.VISIT, 来访, is a person who
came in), with the person visited as its party; so it counts as 排查 in the month it is
registered (workflow.counts) and the village lists it on its return like any case it
found. The visit names the case it raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.fields import BLANK_CHOICE_DASH
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.forms import EARLIEST_YEAR, SUMMARY_MAX, ReadableText, too_early
from cases.models import Case, Category, OrgUnit, Party, Source
from cases.periods import month_period, parse_month
from workflow import services
from workflow.errors import InvalidData, NotPermitted
from workflow.permissions import may_record_visit

from .models import Visit


class VisitForm(ReadableText, forms.ModelForm):
    """A visit as every door takes it (page, API), and the few facts of the case it raises:
    the case's other facts are the intake's (cases.forms.IntakeForm checks them again)."""

    raises_case = forms.BooleanField(label=gettext_lazy("this visit raises a case"), required=False)
    case_title = forms.CharField(label=gettext_lazy("case title"), max_length=200, required=False)
    case_category = forms.ChoiceField(label=gettext_lazy("case category"), choices=[*BLANK_CHOICE_DASH, *Category.choices],
                                      required=False)
    case_summary = forms.CharField(label=gettext_lazy("case summary"), max_length=SUMMARY_MAX, required=False,
                                   widget=forms.Textarea(attrs={"rows": 3, "maxlength": str(SUMMARY_MAX)}))
    repeats_seen = forms.BooleanField(label=gettext_lazy("I have looked at the cases named: register it"),
                                      required=False)

    class Meta:
        model = Visit
        fields = ["household", "id_number", "visited_at", "companions", "findings", "concern"]
        widgets = {"findings": forms.Textarea(attrs={"rows": 3, "maxlength": str(SUMMARY_MAX)}),
                   "visited_at": forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                     format="%Y-%m-%dT%H:%M")}

    def __init__(self, *args: Any, at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at = at or timezone.now()
        findings = self.fields["findings"]
        findings.max_length = SUMMARY_MAX
        findings.validators.append(MaxLengthValidator(SUMMARY_MAX))

    def clean_id_number(self) -> str:
        # Stored as parties' numbers are (cases.forms.PartyForm), so the case raised holds the same.
        return self.cleaned_data["id_number"].upper()

    def clean_visited_at(self) -> datetime:
        moment = self.cleaned_data["visited_at"]
        if moment.year < EARLIEST_YEAR:
            raise too_early()
        if moment > self.at:
            raise forms.ValidationError(_("A visit is recorded once it has been made: the time cannot be later "
                                          "than now."), code="future")
        return moment

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("raises_case"):
            for name, message in (("case_title", _("Give the case a title.")),
                                  ("case_category", _("Give the case's category.")),
                                  ("case_summary", _("Say briefly what the dispute is."))):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        return data


# The case's fields as report_case names them, and the visit's fields that carry them.
CASE_FIELDS = {"title": "case_title", "category": "case_category", "summary": "case_summary",
               "parties[1].name": "household", "parties[1].id_number": "id_number",
               "repeats_seen": "repeats_seen"}


def record_visit(*, actor: Any, village: OrgUnit | int | None, data: dict[str, Any],
                 at: datetime | None = None) -> Visit:
    """Record a visit made by `actor` to a household of `village` (VisitForm's fields in
    `data`); with `raises_case`, register the case it raises (a dispute of the village,
    found in screening, the person visited its applicant) and link it. One transaction:
    a case refused leaves no visit either.

    Raises InvalidData (no such village, the visit's or the case's facts; the case's
    errors under the visit form's names, CASE_FIELDS) or NotPermitted (not a village the
    actor records visits for)."""
    at = at or timezone.now()
    labels = {"village": _("village")}
    try:
        village = village if isinstance(village, OrgUnit) else OrgUnit.objects.get(pk=village)
    except (OrgUnit.DoesNotExist, ValueError, TypeError, OverflowError):
        raise InvalidData({"village": [_("There is no such village.")]}, labels) from None
    if village.level != OrgUnit.Level.VILLAGE:
        raise InvalidData({"village": [_("Households are visited in villages and communities.")]}, labels)
    if not may_record_visit(actor, village):
        raise NotPermitted(_("Record a visit"),
                           _("Visits are recorded by those who register the village's cases: its own people and "
                             "the officers and supervisors above it."))
    form = VisitForm(data, at=at)
    if not form.is_valid():
        raise services.invalid(form)
    facts = form.cleaned_data
    with transaction.atomic():
        case = None
        if facts["raises_case"]:
            case = raise_case(actor, village, facts, at)
        visit = form.save(commit=False)
        visit.village, visit.visited_by, visit.recorded_at, visit.case = village, actor, at, case
        visit.save()
    return visit


def raise_case(actor: Any, village: OrgUnit, facts: dict[str, Any], at: datetime) -> Case:
    """The case a visit raises, through the one door every registration takes."""
    data = {"kind": Case.Kind.DISPUTE, "title": facts["case_title"], "category": facts["case_category"],
            "summary": facts["case_summary"], "source": Source.SCREENING, "village": village.pk}
    party = {"name": facts["household"], "role": Party.PartyRole.APPLICANT, "id_number": facts["id_number"]}
    try:
        return services.report_case(actor=actor, data=data, parties=[party], at=at,
                                    repeats_seen=facts["repeats_seen"])
    except InvalidData as problem:
        given = problem.details.get("labels") or {}
        errors: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        for field, messages in problem.errors.items():
            # What the visit's form does not hold (the village's township, a party's other
            # facts) is the case's as a whole.
            name = CASE_FIELDS.get(field, "raises_case")
            errors.setdefault(name, []).extend(messages)
            labels[name] = str(given.get(field, name))
        raise InvalidData(errors, labels) from None


# ---------------------------------------------------------------------------------------
# What the pages read.


@dataclass
class VisitFigures:
    visits: int = 0
    raised: int = 0


def visit_figures(villages: Any, month: date | str) -> dict[int, VisitFigures]:
    """Each village's visits of `month` (Beijing time) and how many raised a case: village
    id → figures, for the villages with any. One grouped query however many villages."""
    period = month_period(parse_month(month))
    rows = (Visit.objects.filter(village__in=villages, visited_at__gte=period.start, visited_at__lt=period.end)
            .order_by().values("village_id")
            .annotate(visits=Count("pk"), raised=Count("pk", filter=Q(case__isnull=False))))
    return {row["village_id"]: VisitFigures(row["visits"], row["raised"]) for row in rows}


def visits_of(visits: Any, village: OrgUnit, month: date | str) -> Any:
    """Of `visits` (those the reader may read: workflow.permissions.visits_visible_to), the
    village's in `month`, newest first."""
    period = month_period(parse_month(month))
    return (visits.filter(village=village, visited_at__gte=period.start, visited_at__lt=period.end)
            .select_related("visited_by", "case").order_by("-visited_at", "-pk"))
