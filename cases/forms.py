"""Input of a new case (登记): the facts and its parties. Validation only; the case is
created by workflow.services.report_case()."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db.models.fields import BLANK_CHOICE_DASH
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .ethnicity import CHOICES as ETHNICITIES
from .models import Case, OrgUnit, Party, Sex
from .validators import id_facts, validate_readable_text


class ReadableText:
    """Every text field of the form holds readable text (validate_readable_text): mixed
    into every form whose text reaches the database — the intake, the parties, the
    operations on a case, the screening return — whichever door it came through."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.validators.append(validate_readable_text)  # the form's own copy of the field


# A brief account (简要情况), as the ledgers' column holds it; the full story goes in the
# documents and the investigation's findings.
SUMMARY_MAX = 2000


class IntakeForm(ReadableText, forms.ModelForm):
    village = forms.ModelChoiceField(
        label=_("village"),
        queryset=OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE),
        required=False,
        error_messages={"invalid_choice": _("Choose a village or community.")},
    )
    responsible_unit = forms.ModelChoiceField(
        label=_("responsible unit"),
        queryset=OrgUnit.objects.exclude(level=OrgUnit.Level.DEPARTMENT),
        required=False,
        help_text=_("Empty: the township of the village."),
    )
    accused_unit = forms.ModelChoiceField(label=_("accused unit"), queryset=OrgUnit.objects.all(), required=False)
    # 小事不出村: the village's people's mediation committee takes the dispute up itself
    # (人民调解法 第七条、第八条), the village is then its responsible unit and the township
    # above supervises. Whether a village may hold the case is the rule of reach's
    # (workflow.permissions.may_hold): a petition stays with the township.
    village_mediation = forms.BooleanField(
        label=_("mediated by the village's people's mediation committee"), required=False,
        help_text=_("小事不出村: the village's committee is the responsible unit; the township supervises and "
                    "takes the dispute over if it is escalated."))

    class Meta:
        model = Case
        fields = [
            "kind",
            "petition_type",
            "title",
            "summary",
            "category",
            "source",
            "village",
            "responsible_unit",
            "accused_unit",
            "risk",
            "people_involved",
            "amount",
            "is_group",
            "is_legacy",
            "is_repeat",
            "occurred_at",
            "occurred_place",
        ]

    def __init__(self, *args: Any, at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The moment of registration (reported_at): now, or the day a legacy ledger records.
        self.at = at or timezone.now()
        # A grid app may leave these out: a dispute is of general risk and one person
        # until someone says otherwise.
        self.fields["risk"].required = False
        self.fields["people_involved"].required = False
        summary = self.fields["summary"]
        summary.max_length = SUMMARY_MAX
        summary.widget.attrs["maxlength"] = str(SUMMARY_MAX)
        summary.validators.append(MaxLengthValidator(SUMMARY_MAX, _("Keep the summary to at most %(limit_value)d "
                                                                     "characters; it has %(show_value)d.")))
        amount = self.fields["amount"]
        amount.widget.attrs["min"] = "0"
        amount.validators.append(MinValueValidator(0, _("The amount cannot be negative.")))

    def clean_occurred_at(self) -> datetime | None:
        """When the matter arose: before it was registered, and never in the future."""
        moment = self.cleaned_data.get("occurred_at")
        if moment is None:
            return None
        if moment.year < EARLIEST_YEAR:
            raise too_early()
        if moment > timezone.now():
            raise forms.ValidationError(_("The time of occurrence cannot be in the future."), code="future")
        if moment > self.at:
            raise forms.ValidationError(
                _("The matter cannot have arisen after it was registered (%(reported)s)."), code="after_report",
                params={"reported": timezone.localtime(self.at).strftime("%Y-%m-%d %H:%M")})
        return moment

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["risk"] = data.get("risk") or Case.Risk.GENERAL
        data["people_involved"] = data.get("people_involved") or 1
        village, responsible = data.get("village"), data.get("responsible_unit")
        if responsible is not None and responsible.level == OrgUnit.Level.VILLAGE and village is None:
            # A village named as responsible is the case's village as well.
            data["village"] = village = responsible
        if data.get("village_mediation"):
            if village is None:
                self.add_error("village", _("Give the village whose committee mediates the dispute."))
            elif responsible is not None and responsible != village:
                self.refuse_unit("village_mediation", _("The village's committee is the responsible unit of a "
                                                        "dispute it mediates: leave the responsible unit empty."))
            else:
                data["responsible_unit"] = responsible = village
        if responsible is None:
            if village is None:
                self.add_error("village", _("Give the village, or the responsible unit when there is none."))
            elif village.parent_id is None:
                self.refuse_unit("village", _("This village has no township above it; name the responsible unit."))
            else:
                data["responsible_unit"] = village.parent
        if data.get("kind") == Case.Kind.PETITION and not data.get("petition_type"):
            self.add_error("petition_type", _("A petition needs its type."))
        accused = data.get("accused_unit")
        if accused and data.get("petition_type") != Case.PetitionType.ACCUSATION:
            self.add_error("accused_unit", _("Only an accusation names an accused unit."))
        elif accused and data.get("responsible_unit"):
            data["responsible_unit"] = self.clean_accusation(accused, data["responsible_unit"],
                                                             given=responsible is not None)
        return data

    def clean_accusation(self, accused: OrgUnit, responsible: OrgUnit, *, given: bool) -> OrgUnit:
        """信访工作条例 第三十条: an accusation is never handled by the unit it accuses or one
        beneath it. The township a village's accusation would go to by default gives way
        to the nearest unit above the accused; a unit named on purpose must be above it."""
        if not responsible.path.startswith(accused.path):
            return responsible
        above = accused.parent
        if given or above is None:
            self.refuse_unit("accused_unit", _("An accusation is handled above the unit it accuses."))
            return responsible
        return above

    def refuse_unit(self, fallback: str, message: str) -> None:
        """An error on the responsible unit; on `fallback` where the form leaves that field
        out (the intake page does for a village worker, whose township is responsible)."""
        self.add_error("responsible_unit" if "responsible_unit" in self.fields else fallback, message)


# The parties one registration may name, at every door (intake page, API, import): a
# group matter beyond this is registered with its representatives (a group of visitors
# chooses at most five: 《信访条例》2005 第十八条), the rest counted in people_involved.
MAX_PARTIES = 30


class PartyForm(ReadableText, forms.ModelForm):
    """A party as every door takes it (intake page, API, import, seed). Sex and birth
    date left out are read from the ID number; given, they must agree with it."""

    ethnicity = forms.ChoiceField(
        label=_("ethnicity"), required=False, choices=[*BLANK_CHOICE_DASH, *ETHNICITIES],
        error_messages={"invalid_choice": _("“%(value)s” is not the name of an ethnic group; write it in full, "
                                            "as 汉族 or 蒙古族 are written.")})

    class Meta:
        model = Party
        fields = ["name", "role", "id_number", "phone", "sex", "birth_date", "ethnicity", "occupation", "address"]
        help_texts = {"sex": _("Left empty: read from the ID number."),
                      "birth_date": _("Left empty: read from the ID number.")}

    def clean_id_number(self) -> str:
        return self.cleaned_data["id_number"].upper()

    def clean_birth_date(self) -> date | None:
        born = self.cleaned_data.get("birth_date")
        if born is None:
            return None
        if born.year < EARLIEST_YEAR:
            raise too_early()
        if born > timezone.localdate():
            raise forms.ValidationError(_("A date of birth cannot be in the future."), code="future")
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        number = data.get("id_number")
        if not number:
            return data
        try:
            born, sex = id_facts(number)
        except forms.ValidationError:
            return data  # the number's own error is the model validator's to report
        for name, fact, shown in (("sex", sex, Sex(sex).label), ("birth_date", born, born.isoformat())):
            if name in self.errors:
                continue
            if not data.get(name):
                data[name] = fact
            elif data[name] != fact:
                self.add_error(name, forms.ValidationError(
                    _("This does not match the ID number, which gives %(fact)s."), code="id_mismatch",
                    params={"fact": shown}))
        return data


# Dates before this are typing mistakes (a dispute or a party of that age is no case), and
# a moment of year 1 in Beijing time cannot be stored in UTC.
EARLIEST_YEAR = 1900


def too_early() -> forms.ValidationError:
    return forms.ValidationError(_("Enter a date from %(year)s on."), code="too_early", params={"year": EARLIEST_YEAR})
