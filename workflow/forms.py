"""The data each operation on a case requires. Pages, the API, imports and the service
all validate through these forms, so a rule about input is written once."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import FileExtensionValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.forms import IntakeForm, ReadableText
from cases.models import Case, OrgUnit

from .models import Deadline, JudicialConfirmation, Performance, SupervisionOrder, TimeUnit
from .permissions import assignable_users, co_department_choices, co_departments_of, lead_departments

# The actor of a form nobody named: a person, never the system.
SOMEONE = object()


class OperationForm(ReadableText, forms.Form):
    def __init__(self, data: Any = None, *, case: Case, actor: Any = SOMEONE, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.case = case
        # None: the system, recording what a legacy ledger says was done.
        self.actor = actor


def long_text(label: str, max_length: int = 4000) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, widget=forms.Textarea)


class AssigneeField(forms.ModelChoiceField):
    default_error_messages = {
        "invalid_choice": _("This person cannot take the case: they are not a member of the responsible unit, "
                            "its villages or the lead department.")
    }

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name() or obj.username}（{obj.username}）"


class AssignForm(OperationForm):
    assignee = AssigneeField(label=_("assignee"), queryset=get_user_model().objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(self.case)


class AcceptForm(AssignForm):
    lead_department = forms.ModelChoiceField(
        label=_("lead department"),
        queryset=OrgUnit.objects.none(),
        error_messages={"invalid_choice": _("Choose a department of this township or the county to lead.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        departments = lead_departments(self.case)
        self.fields["lead_department"].queryset = departments
        # The assignee may also come from the lead department named in the same form.
        try:
            lead = int(self.data.get("lead_department") or 0)
        except (TypeError, ValueError, AttributeError, OverflowError):
            lead = 0
        if 0 < lead < 2**63 and departments.filter(pk=lead).exists():
            self.fields["assignee"].queryset = assignable_users(self.case, lead)


class ReasonForm(OperationForm):
    reason = long_text(_("reason"))


class FindingsForm(OperationForm):
    findings = long_text(_("findings of the investigation"))


# What a township keeps with a case: agreements, records, scans, photos, spreadsheets.
DOCUMENT_TYPES = ["pdf", "ofd", "doc", "docx", "xls", "xlsx", "wps", "txt", "jpg", "jpeg", "png"]
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


class DocumentFileField(forms.FileField):
    """A file kept with a case: one of DOCUMENT_TYPES, at most 20 MB."""

    default_validators = [FileExtensionValidator(DOCUMENT_TYPES)]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _("PDF, OFD, Word, Excel, WPS, text or a photo; at most 20 MB."))
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and value.size > DOCUMENT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."), code="too_large")


class DocumentForm(OperationForm):
    # Not "title": that is the case's own (事项名称).
    title = forms.CharField(label=_("document title"), max_length=200)
    file = DocumentFileField(label=_("file"))


class OutcomeField(forms.ChoiceField):
    """The outcomes of the case's kind. An outcome of the other kind is refused by name,
    saying which outcomes this kind has, not as an unknown value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.misplaced: dict[str, str] = {}

    def validate(self, value: Any) -> None:
        if value in self.misplaced:
            raise forms.ValidationError(self.misplaced[value], code="wrong_kind")
        super().validate(value)


class ResolveForm(OperationForm):
    # A dispute is resolved by a mediation agreement, written or oral (人民调解法 第二十八条).
    DISPUTE_OUTCOMES = [
        ("agreement_written", _("Written mediation agreement")),
        ("agreement_oral", _("Oral agreement, recorded")),
    ]
    # 信访工作条例 第三十二条: the three answers to a petition.
    PETITION_OUTCOMES = [
        ("supported", _("Request supported")),
        ("explained", _("Explained")),
        ("not_supported", _("Request not supported")),
    ]
    # Every outcome, to read a recorded one by.
    OUTCOMES = DISPUTE_OUTCOMES + PETITION_OUTCOMES
    outcome = OutcomeField(label=_("outcome"), choices=OUTCOMES)
    summary = long_text(_("summary of the outcome"))
    agreement = DocumentFileField(
        label=_("signed mediation agreement"), required=False,
        help_text=_("Required for a written agreement: a scan or photo of the signed agreement, or its file; at most 20 MB."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outcome = self.fields["outcome"]
        if self.case.kind == Case.Kind.PETITION:
            outcome.choices = self.PETITION_OUTCOMES
            outcome.misplaced = {value: _("“%(outcome)s” resolves a dispute; a petition is answered by supporting the "
                                          "request, explaining, or not supporting it (信访工作条例 第三十二条).")
                                 % {"outcome": label} for value, label in self.DISPUTE_OUTCOMES}
            del self.fields["agreement"]  # a petition's answer is no mediation agreement
        else:
            outcome.choices = self.DISPUTE_OUTCOMES
            outcome.misplaced = {value: _("“%(outcome)s” answers a petition (信访工作条例 第三十二条); a dispute is "
                                          "resolved by a written or an oral agreement.")
                                 % {"outcome": label} for value, label in self.PETITION_OUTCOMES}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        written = data.get("outcome") == "agreement_written"
        if written and not data.get("agreement") and "agreement" not in self.errors and self.actor is not None:
            # The committee keeps a copy of the signed agreement (人民调解法 第二十九条). The
            # system (actor None) records what a legacy ledger says: its paper is archived.
            self.add_error("agreement", forms.ValidationError(
                _("Attach the signed mediation agreement: a written agreement is recorded with its document."),
                code="required"))
        if data.get("agreement") and data.get("outcome") == "agreement_oral":
            self.add_error("agreement", forms.ValidationError(
                _("An oral agreement has no signed document: choose the written agreement, or attach the record "
                  "with “Attach document”."), code="oral"))
        return data


class InstructionsForm(OperationForm):
    instructions = long_text(_("instructions"))


class ReferForm(OperationForm):
    CHANNELS = [
        ("litigation", _("Litigation")),
        ("arbitration", _("Arbitration")),
        ("administrative_review", _("Administrative review")),
        ("other_department", _("Another department")),
    ]
    channel = forms.ChoiceField(label=_("referred to"), choices=CHANNELS)
    reason = long_text(_("reason"))


class FollowUpForm(OperationForm):
    SATISFACTION = [
        ("satisfied", _("Satisfied")),
        ("basically", _("Basically satisfied")),
        ("unsatisfied", _("Not satisfied")),
    ]
    record = long_text(_("visit record"))
    satisfaction = forms.ChoiceField(label=_("satisfaction"), choices=SATISFACTION)
    # The closing visit may state the agreement's performance (issue 18, follow-through):
    # a dispute is closed only when it is fully performed (workflow.flow: follow_up).
    performance = forms.ChoiceField(
        label=_("performance of the agreement"), required=False,
        choices=[("", "—"), *Performance.choices],
        help_text=_("Empty: as the last recorded visit found it."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case.kind == Case.Kind.PETITION:
            del self.fields["performance"]  # a petition's answer is no agreement to perform


class NoteForm(OperationForm):
    text = long_text(_("note"))


class SessionForm(OperationForm):
    held_on = forms.DateField(label=_("date"))
    place = forms.CharField(label=_("place"), max_length=200)
    participants = forms.CharField(label=_("participants"), max_length=500)
    record = long_text(_("record of the session"))


class DeadlineChoiceField(forms.ModelChoiceField):
    default_error_messages = {"invalid_choice": _("This case has no such open deadline.")}

    def label_from_instance(self, obj: Deadline) -> str:
        return str(obj)


class DeadlineForm(OperationForm):
    deadline = DeadlineChoiceField(label=_("deadline"), queryset=Deadline.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deadline"].queryset = Deadline.objects.open().filter(case=self.case).select_related("rule")


class PauseForm(DeadlineForm):
    reason = long_text(_("reason (appraisal, hearing, waiting for a party …)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deadline"].queryset = self.fields["deadline"].queryset.filter(paused_at__isnull=True)
        self.fields["deadline"].error_messages["invalid_choice"] = _("This deadline is not running: it is met or already paused.")


class ResumeForm(DeadlineForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deadline"].queryset = self.fields["deadline"].queryset.filter(paused_at__isnull=False)
        self.fields["deadline"].error_messages["invalid_choice"] = _("This deadline is not paused.")


class ExtendableDeadlineField(DeadlineChoiceField):
    """Each deadline with the unit its extension is counted in and the most its rule
    allows: units differ between deadlines (日, 工作日, hours), the amount is in the
    chosen one's."""

    def label_from_instance(self, obj: Deadline) -> str:
        if hasattr(obj, "extension"):
            return _("%(deadline)s (already extended once)") % {"deadline": obj}
        if not obj.rule.extension_cap:
            return _("%(deadline)s (no extension allowed)") % {"deadline": obj}
        return _("%(deadline)s (at most %(cap)s %(unit)s)") % {
            "deadline": obj, "cap": obj.rule.extension_cap, "unit": obj.get_unit_display()}


class ExtensionRequestForm(DeadlineForm):
    deadline = ExtendableDeadlineField(label=_("deadline"), queryset=Deadline.objects.none())
    amount = forms.IntegerField(label=_("extension (in the unit of the chosen deadline)"), min_value=1)
    reason = long_text(_("reason"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        deadlines = self.fields["deadline"].queryset = self.fields["deadline"].queryset.select_related("extension")
        units = set(deadlines.values_list("unit", flat=True))
        if len(units) == 1:
            # One unit among the choices: the amount says it.
            self.fields["amount"].label = _("extension (%(unit)s)") % {"unit": TimeUnit(units.pop()).label}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        deadline, amount = data.get("deadline"), data.get("amount")
        if deadline is None or amount is None:
            return data
        cap = deadline.rule.extension_cap
        if cap == 0:
            raise forms.ValidationError(_("The rule of this deadline allows no extension."), code="no_extension")
        if amount > cap:
            self.add_error(
                "amount",
                forms.ValidationError(
                    _("At most %(cap)s %(unit)s may be added to this deadline."),
                    code="over_cap",
                    params={"cap": cap, "unit": deadline.get_unit_display()},
                ),
            )
        if hasattr(deadline, "extension"):
            raise forms.ValidationError(_("This deadline has already had its one extension."), code="extended")
        return data


class ExtensionDecisionForm(DeadlineForm):
    approve = forms.TypedChoiceField(
        label=_("decision"),
        choices=[("yes", _("Approve")), ("no", _("Refuse"))],
        coerce=lambda v: v == "yes",
    )
    comment = forms.CharField(label=_("comment"), max_length=2000, required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deadline"].queryset = self.fields["deadline"].queryset.filter(
            extension__isnull=False, extension__decided_at__isnull=True
        ).select_related("extension")
        self.fields["deadline"].error_messages["invalid_choice"] = _(
            "This deadline has no extension waiting for a decision."
        )


class SuperviseForm(OperationForm):
    instructions = long_text(_("instructions"))
    days = forms.IntegerField(
        label=_("answer within (working days)"), min_value=1, max_value=60, required=False,
        help_text=_("Empty: the rule's default."),
    )


class OrderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SupervisionOrder) -> str:
        return f"{obj.issued_at:%Y-%m-%d} {obj.instructions[:40]}"


class SupervisionReplyForm(OperationForm):
    order = OrderChoiceField(
        label=_("supervision order"),
        queryset=SupervisionOrder.objects.none(),
        error_messages={"invalid_choice": _("This case has no supervision order waiting for a reply.")},
    )
    reply = long_text(_("reply"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order"].queryset = SupervisionOrder.objects.filter(
            case=self.case, replied_at__isnull=True, closed_at__isnull=True
        ).select_related("deadline")


class SupervisionCloseForm(OperationForm):
    order = OrderChoiceField(
        label=_("supervision order"),
        queryset=SupervisionOrder.objects.none(),
        error_messages={"invalid_choice": _("This case has no open supervision order.")},
    )
    comment = forms.CharField(label=_("comment"), max_length=2000, required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order"].queryset = SupervisionOrder.objects.filter(
            case=self.case, closed_at__isnull=True
        ).select_related("deadline")


# Corrections (issue 18): the facts that may be put right after intake, with a reason.
CORRECTABLE = ("risk", "category", "people_involved", "amount", "is_group", "village")
# Facts a case always has: named in a correction, they cannot be left empty.
ALWAYS_STATED = ("risk", "category", "people_involved")


def intake_field(name: str) -> forms.Field:
    """A field of the intake form (cases.forms.IntakeForm), as it declares it."""
    return copy.deepcopy(IntakeForm.base_fields[name])


class YesNoSelect(forms.NullBooleanSelect):
    """A flag as a choice of yes or no. A checkbox left unticked sends nothing, which a
    correction would read as "not named, unchanged"; a select always sends its answer."""

    def __init__(self, attrs: Any = None) -> None:
        super().__init__(attrs)
        self.choices = [("true", _("Yes")), ("false", _("No"))]


class CorrectForm(OperationForm):
    """Facts recorded at intake, put right: risk, category, people involved, amount, the
    group flag and the village. Each is validated by the intake's own field, as the intake
    sets it up (cases.forms.IntakeForm: an amount is never negative …). Only the facts the
    data names are read — the page names them all, filled in with the case's values; a
    program names those it changes — and of those only the ones that differ from the case
    are recorded: cleaned_data["changes"], name → new value. A correction that changes
    nothing is refused; the reason is required."""

    risk = intake_field("risk")
    category = intake_field("category")
    people_involved = intake_field("people_involved")
    amount = intake_field("amount")
    is_group = intake_field("is_group")
    village = intake_field("village")
    reason = long_text(_("reason for the correction"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        intake = IntakeForm()
        for name in CORRECTABLE:
            if self.is_bound and name not in self.data:
                del self.fields[name]
                continue
            field = self.fields[name] = intake.fields[name]
            # The intake checks these with the model (a ModelForm); here the form alone
            # does: the database's range of integers, among others.
            field.validators = [*field.validators,
                                *(v for v in Case._meta.get_field(name).validators if v not in field.validators)]
            field.initial = self.case.village_id if name == "village" else getattr(self.case, name)
            if name in ALWAYS_STATED:
                field.required = True
        if "is_group" in self.fields:
            self.fields["is_group"].widget = YesNoSelect()
        if "village" in self.fields:
            # The village lies beneath the unit that holds the case, as at intake (can_report).
            village = self.fields["village"]
            village.queryset = village.queryset.filter(path__startswith=self.case.responsible_unit.path)
            village.error_messages["invalid_choice"] = _(
                "Choose a village or community beneath the unit that holds this case.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        changes: dict[str, Any] = {}
        for name in CORRECTABLE:
            if name not in data:
                continue
            new = data.pop(name)
            old = self.case.village if name == "village" else getattr(self.case, name)
            if new != old:
                changes[name] = new
        failed = any(name in self.errors for name in CORRECTABLE)
        if not changes and not failed:
            raise forms.ValidationError(
                _("This correction changes nothing: change at least one fact, or leave the case as it is."),
                code="unchanged")
        data["changes"] = changes
        return data


class ChargeForm(OperationForm):
    # What the leader sets the unit to do, if anything, at taking charge (批示).
    instructions = forms.CharField(label=_("leader's instructions"), max_length=2000, required=False,
                                   widget=forms.Textarea)


# 联调 (joint handling, docs/workflow.md): departments named to co-handle a case beside the
# lead department, each recording its part.


class CoDepartmentForm(OperationForm):
    department = forms.ModelChoiceField(
        label=_("co-handling department"), queryset=OrgUnit.objects.none(),
        error_messages={"invalid_choice": _("Choose a department of this township or the county that neither leads "
                                            "nor already co-handles this case.")})
    task = long_text(_("its part of the work"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rule of reach gives the choices (permissions.co_department_choices); one
        # already named is not named twice.
        self.fields["department"].queryset = co_department_choices(self.case).exclude(
            pk__in=self.case.co_departments.values("pk"))


class RemoveCoDepartmentForm(OperationForm):
    department = forms.ModelChoiceField(
        label=_("co-handling department"), queryset=OrgUnit.objects.none(),
        error_messages={"invalid_choice": _("This department does not co-handle this case.")})
    reason = long_text(_("reason"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = self.case.co_departments.all()


class RecordPartForm(OperationForm):
    department = forms.ModelChoiceField(
        label=_("co-handling department"), queryset=OrgUnit.objects.none(), required=False,
        help_text=_("Empty: your own department."),
        error_messages={"invalid_choice": _("Choose a co-handling department of this case that you belong to.")})
    part = long_text(_("what the department did"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A page drawn for nobody in particular lists every co-handling department; the
        # service checks the one sent against the actor's own.
        actor = None if self.actor is SOMEONE else self.actor
        self.fields["department"].queryset = co_departments_of(actor, self.case)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("department") is None and "department" not in self.errors:
            departments = list(self.fields["department"].queryset[:2])
            if len(departments) == 1:
                data["department"] = departments[0]
            else:
                self.add_error("department", forms.ValidationError(
                    _("Choose the co-handling department whose part this is."), code="required"))
        return data


# 司法确认 and 履行 (issue 18; docs/workflow.md: Judicial confirmation and follow-through).


class VisitForm(OperationForm):
    """A follow-up visit that keeps the case resolved, and how far the agreement is
    performed (人民调解法 第三十一条)."""

    record = long_text(_("visit record"))
    performance = forms.ChoiceField(label=_("performance of the agreement"), choices=Performance.choices)


def not_in_the_future(form: OperationForm, name: str) -> None:
    """A date of something already done is not after today (Beijing time)."""
    day = form.cleaned_data.get(name)
    if day is not None and day > timezone.localdate():
        form.add_error(name, forms.ValidationError(_("This date is in the future."), code="future"))


class ConfirmationApplicationForm(OperationForm):
    """The parties' joint application to the court for judicial confirmation (人民调解法
    第三十三条; 民事诉讼法 第二百零五条 in the 2023 numbering as we read it, 第二百零一条 in
    2021's: to the basic people's court of a party's domicile, of the subject matter's place
    or of the mediation organisation's place, or the court that invited the mediation)."""

    court = forms.CharField(label=_("court"), max_length=200)
    applied_on = forms.DateField(label=_("date of the application"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        not_in_the_future(self, "applied_on")
        applied_on = data.get("applied_on")
        resolved_at = self.case.resolved_at
        if applied_on is not None and resolved_at is not None and applied_on < timezone.localdate(resolved_at):
            self.add_error("applied_on", forms.ValidationError(
                _("The application cannot come before the agreement it asks the court to confirm."), code="early"))
        return data


class ConfirmationResultForm(OperationForm):
    """The court's ruling on the application (民事诉讼法 (2023) 第二百零六条): the agreement
    confirmed valid, or the application rejected (驳回)."""

    result = forms.ChoiceField(label=_("ruling"), choices=JudicialConfirmation.Result.choices)
    ruling_number = forms.CharField(label=_("ruling number"), max_length=100)
    ruled_on = forms.DateField(label=_("date of the ruling"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        not_in_the_future(self, "ruled_on")
        return data


# 复查、复核 and the objection to a routing (issue 18; docs/workflow.md: Petition review).


class ReviewRequestForm(OperationForm):
    """A petitioner's request for a review (复查) or a second review (复核) of the answer
    (信访工作条例 第三十五条、第三十六条), as the unit that receives it registers it."""

    reason = long_text(_("what the petitioner asks and why"))


class ReviewDecisionForm(OperationForm):
    """The review opinion: the answer upheld, or changed to another of the three answers of
    a petition (信访工作条例 第三十二条, as ResolveForm gives them)."""

    UPHELD, CHANGED = "upheld", "changed"
    DECISIONS = [(UPHELD, _("Answer upheld")), (CHANGED, _("Answer changed"))]
    decision = forms.ChoiceField(label=_("review decision"), choices=DECISIONS)
    outcome = forms.ChoiceField(label=_("new answer"), required=False,
                                choices=[("", "—"), *ResolveForm.PETITION_OUTCOMES],
                                help_text=_("Only when the answer is changed."))
    opinion = long_text(_("review opinion"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == self.CHANGED and not data.get("outcome") and "outcome" not in self.errors:
            self.add_error("outcome", forms.ValidationError(_("Choose the answer the review gives instead."),
                                                            code="required"))
        if data.get("decision") == self.UPHELD and data.get("outcome"):
            self.add_error("outcome", forms.ValidationError(
                _("An answer upheld keeps its outcome: choose “Answer changed” to give another."), code="upheld"))
        return data


class ObjectionDecisionForm(OperationForm):
    """The routing unit's decision on a department's objection (信访工作条例 第二十三条: verified
    and agreed, the petition goes elsewhere; otherwise the routing stands)."""

    REROUTE, UPHOLD = "reroute", "uphold"
    DECISIONS = [(REROUTE, _("Objection agreed: route it to another department")),
                 (UPHOLD, _("Objection not agreed: the routing stands"))]
    decision = forms.ChoiceField(label=_("decision"), choices=DECISIONS)
    lead_department = forms.ModelChoiceField(
        label=_("new lead department"), queryset=OrgUnit.objects.none(), required=False,
        error_messages={"invalid_choice": _("Choose a department of this township or the county, other than the "
                                            "one that objected.")})
    reason = long_text(_("reason"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead_department"].queryset = lead_departments(self.case).exclude(
            pk=self.case.lead_department_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == self.REROUTE and data.get("lead_department") is None \
                and "lead_department" not in self.errors:
            self.add_error("lead_department", forms.ValidationError(
                _("Choose the department the petition goes to."), code="required"))
        return data
