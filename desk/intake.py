"""登记: a new case with its parties, from a phone in a village or a desk in the township.
Before saving, cases already open or recent for the same party ID number are shown
(重复信访), and the person registering decides whether this one is a repeat."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models.fields import BLANK_CHOICE_DASH
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from cases.forms import MAX_PARTIES, IntakeForm, PartyForm
from cases.models import Case, OrgUnit
from workflow import services
from workflow.errors import InvalidData, NotPermitted
from workflow.forms import DocumentFileField, ResolveForm
from workflow.permissions import may_settle_on_the_spot, reporting_units, settling_lead_departments


class Parties(forms.BaseFormSet):
    """Parties, counted in people's words: Django's own say "forms"."""

    default_error_messages = {
        "too_few_forms": ngettext_lazy("Name at least %(num)d party.", "Name at least %(num)d parties.", "num"),
        "too_many_forms": ngettext_lazy("Name at most %(num)d party; register a group by its representatives.",
                                        "Name at most %(num)d parties; register a group by its representatives.",
                                        "num"),
    }


# What the printed forms ask of a party beyond who they are and how to reach them: folded
# on the page, so that a quick report from a phone stays short, and opened where any is
# given or refused.
PARTY_FACTS = ("sex", "birth_date", "ethnicity", "occupation", "address")


class PagePartyForm(PartyForm):
    """A party as the page lays it out: the fields of who and how to reach first, the
    facts for the forms folded below them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Here, not on the formset's forms: its empty form, the template new parties are
        # added from, is built anew each time it is read.
        self.fields["id_number"].widget.attrs.update(autocomplete="off", inputmode="text", maxlength=18)
        self.fields["phone"].widget.attrs.update(inputmode="tel", autocomplete="off")
        self.fields["birth_date"].widget = forms.DateInput(format="%Y-%m-%d", attrs={
            "type": "date", "max": timezone.localdate().isoformat()})

    def essentials(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in PARTY_FACTS]

    def facts(self) -> list[forms.BoundField]:
        return [self[name] for name in PARTY_FACTS]

    def facts_open(self) -> bool:
        return any(self[name].errors or self[name].value() for name in PARTY_FACTS)


# absolute_max: the count of party forms is the client's word; past it, no form is built.
PartyFormSet = forms.formset_factory(PagePartyForm, formset=Parties, extra=0, min_num=1, validate_min=True,
                                       max_num=MAX_PARTIES, validate_max=True, absolute_max=MAX_PARTIES)


class PageIntakeForm(IntakeForm):
    """The intake form with its choices cut to the units this person may report for."""

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = reporting_units(user)
        self.fields["village"].queryset = units.filter(level=OrgUnit.Level.VILLAGE)
        self.fields["responsible_unit"].queryset = units.exclude(level=OrgUnit.Level.VILLAGE)
        if not self.fields["responsible_unit"].queryset.exists():
            # A village worker reports for their village; its township is responsible.
            del self.fields["responsible_unit"]
            self.fields["village"].required = True
        villages = list(self.fields["village"].queryset[:2])
        if len(villages) == 1 and not self.is_bound:
            self.initial["village"] = villages[0].pk
        self.fields["people_involved"].widget.attrs["min"] = 1
        self.fields["amount"].widget.attrs["inputmode"] = "decimal"
        self.fields["summary"].widget.attrs["rows"] = 4
        self.order_fields(["kind", "petition_type", "category", "source", "village", "village_mediation", "title",
                           "summary", "occurred_at", "occurred_place"])
        # A village's committee mediates disputes only (workflow.permissions.may_hold).
        self.fields["village_mediation"].kind_only = Case.Kind.DISPUTE
        occurred = self.fields["occurred_at"]
        occurred.widget = forms.DateTimeInput(format=LOCAL_MINUTE, attrs={
            "type": "datetime-local", "max": timezone.localtime(self.at).strftime(LOCAL_MINUTE)})
        # Shown only while the kind chosen is a petition (desk.js; all of them without script).
        for name in PETITION_ONLY:
            self.fields[name].kind_only = Case.Kind.PETITION


PETITION_ONLY = ("petition_type", "accused_unit", "is_repeat")
# What a browser's datetime-local input sends and shows.
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


def party_formset(data: Any = None) -> Any:
    return PartyFormSet(data, prefix="parties")


class OnTheSpotForm(forms.Form):
    """当场调解、即调即结, beside the registration: the agreement a dispute was settled with
    the moment it was brought. The fields' shapes only: the service checks them with the
    operations' own forms (accept, resolve) against the case, and its errors come back
    here beside the fields."""

    on_the_spot = forms.BooleanField(label=_("settled on the spot: register it resolved with its agreement"),
                                     required=False)
    lead_department = forms.ModelChoiceField(label=_("lead department"), queryset=OrgUnit.objects.none(),
                                             required=False)
    outcome = forms.ChoiceField(label=_("outcome"), choices=[*BLANK_CHOICE_DASH,
                                                             *ResolveForm.DISPUTE_OUTCOMES], required=False)
    summary = forms.CharField(label=_("summary of the outcome"), max_length=4000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    agreement = DocumentFileField(label=_("signed mediation agreement"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="settlement", **kwargs)
        self.fields["lead_department"].queryset = settling_lead_departments(user)
        self.fields["agreement"].help_text = ResolveForm.base_fields["agreement"].help_text

    def settlement(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"lead_department": data["lead_department"].pk if data.get("lead_department") else None,
                "outcome": data.get("outcome"), "summary": data.get("summary")}

    def agreement_files(self) -> dict[str, Any] | None:
        return {"agreement": self.cleaned_data["agreement"]} if self.cleaned_data.get("agreement") else None


def show_problem(problem: InvalidData, form: forms.Form, settling: OnTheSpotForm | None) -> None:
    """The service's refusal beside the fields it names: the registration's on the intake
    form, a settlement's (on_the_spot.<field>) on the settlement's."""
    prefix = services.ON_THE_SPOT + "."
    for field, errors in problem.errors.items():
        if settling is not None and field.startswith(prefix) and field.removeprefix(prefix) in settling.fields:
            settling.add_error(field.removeprefix(prefix), errors)
        elif field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, errors)


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    if not reporting_units(request.user).exists():
        messages.error(request, _("You may not register cases: you are not a member of a village or an officer."))
        return redirect("desk:workbench:index")
    form = PageIntakeForm(request.POST or None, user=request.user)
    parties = party_formset(request.POST or None)
    # Offered to those who may settle on the spot (the rule of reach says who).
    settling = (OnTheSpotForm(request.POST or None, request.FILES or None, user=request.user)
                if may_settle_on_the_spot(request.user) else None)
    repeats: Any = []
    # The settlement's fields count only when its box is ticked: left unticked, they
    # stop nothing.
    settlement_ok, settled = True, False
    if settling is not None and request.method == "POST":
        settlement_ok = settling.is_valid()
        settled = bool(settling.cleaned_data.get("on_the_spot"))
        settlement_ok = settlement_ok or not settled
    if request.method == "POST" and form.is_valid() and parties.is_valid() and settlement_ok:
        ids = [p.cleaned_data["id_number"] for p in parties if p.cleaned_data.get("id_number")]
        repeats = list(services.possible_repeats(request.user, ids)[:20])
        if not repeats or request.POST.get("repeats_seen") == "1":
            named = [{k: v for k, v in p.cleaned_data.items() if k != "DELETE"} for p in parties if p.cleaned_data]
            try:
                if settled and settling is not None:
                    case = services.settle_on_the_spot(actor=request.user, data=request.POST, parties=named,
                                                       settlement=settling.settlement(), files=settling.agreement_files(),
                                                       repeats_seen=True)
                else:
                    case = services.report_case(
                        actor=request.user,
                        data=request.POST,
                        parties=named,
                        # Shown above the form and confirmed, or none found.
                        repeats_seen=True,
                    )
            except InvalidData as problem:
                show_problem(problem, form, settling)
            except NotPermitted as refusal:
                form.add_error(None, str(refusal))
            else:
                text = (_("Case %(number)s registered and settled on the spot.") if settled
                        else _("Case %(number)s registered."))
                messages.success(request, text % {"number": case.number})
                return redirect("desk:case:detail", case.pk)
    return render(request, "desk/intake.html", {
        "form": form,
        "parties": parties,
        "repeats": repeats,
        "settling": settling,
    })
