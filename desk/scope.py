"""Which units a person reviews on the township pages (meeting, ledgers, assessment,
dashboard), and the unit-and-period choice those pages share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.models import OrgUnit
from cases.periods import BadPeriod, last_month, parse_period
from workflow.permissions import COUNTY_AND_TOWNSHIPS, reviewed_units


class UnitPeriodForm(forms.Form):
    """A unit within reach and a period (YYYY-MM, YYYY-H1/H2 or YYYY; months only where
    the page needs one), read from the query string; defaults: the first unit, last month."""

    unit = forms.ModelChoiceField(label=_("unit"), queryset=OrgUnit.objects.none(), required=False,
                                  empty_label=None)
    period = forms.CharField(label=_("period"), required=False, max_length=7,
                             help_text=_("2026-05, 2026-H1 or 2026"))

    def __init__(self, data: Any, *, user: Any, months_only: bool = False,
                 levels: tuple[str, ...] = COUNTY_AND_TOWNSHIPS) -> None:
        super().__init__(data)
        self.months_only = months_only
        self.fields["unit"].queryset = reviewed_units(user, levels)
        if months_only:
            self.fields["period"].label = _("month")
            self.fields["period"].help_text = _("for example 2026-05")

    def clean_unit(self) -> OrgUnit | None:
        return self.cleaned_data.get("unit") or self.fields["unit"].queryset.first()

    def clean_period(self) -> Any:
        text = self.cleaned_data.get("period") or f"{last_month():%Y-%m}"
        try:
            period = parse_period(text)
        except BadPeriod as error:
            raise forms.ValidationError(str(error)) from None
        if self.months_only and not period.is_month:
            raise forms.ValidationError(_("Give a month, for example 2026-05."))
        return period
