"""The data each operation on a case requires. Pages, the API, imports and the service
all validate through these forms, so a rule about input is written once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

from cases.forms import ReadableText
from cases.models import Case, OrgUnit

from .models import Deadline, SupervisionOrder
from .permissions import assignable_users, lead_departments


class OperationForm(ReadableText, forms.Form):
    def __init__(self, data: Any = None, *, case: Case, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.case = case


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


class ResolveForm(OperationForm):
    OUTCOMES = [
        ("agreement_written", _("Written mediation agreement")),
        ("agreement_oral", _("Oral agreement, recorded")),
        # 信访工作条例 第三十二条: the three answers to a petition.
        ("supported", _("Request supported")),
        ("explained", _("Explained")),
        ("not_supported", _("Request not supported")),
    ]
    outcome = forms.ChoiceField(label=_("outcome"), choices=OUTCOMES)
    summary = long_text(_("summary of the outcome"))


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


class NoteForm(OperationForm):
    text = long_text(_("note"))


# What a township keeps with a case: agreements, records, scans, photos, spreadsheets.
DOCUMENT_TYPES = ["pdf", "ofd", "doc", "docx", "xls", "xlsx", "wps", "txt", "jpg", "jpeg", "png"]
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


class DocumentForm(OperationForm):
    title = forms.CharField(label=_("title"), max_length=200)
    file = forms.FileField(label=_("file"), validators=[FileExtensionValidator(DOCUMENT_TYPES)],
                           help_text=_("PDF, OFD, Word, Excel, WPS, text or a photo; at most 20 MB."))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > DOCUMENT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."), code="too_large")
        return upload


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


class ExtensionRequestForm(DeadlineForm):
    amount = forms.IntegerField(label=_("extension"), min_value=1)
    reason = long_text(_("reason"))

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
