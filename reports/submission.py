"""A township's monthly 矛盾纠纷排查情况表 sent upward (报送), frozen as sent (docs/reporting.md).

- freeze_monthly: a township's officer or supervisor submits its table for a month once the
  month is over, naming who signed it (签发人). The rows of reports.ledgers.monthly_table are
  stored as they are at that moment (MonthlyReport.rows) and never change afterwards.
- submitted_table: the table as submitted, beside the live one; where a figure has moved
  since (a case registered late, accepted or resolved after submission), the difference —
  a correction after submission (报送后更正) — is listed, never written into the submitted rows.
- submission_status: for a county and a month, each township's table: submitted on time,
  submitted late, missing (past its due time) or not yet due, on the due time of the rule of
  kind monthly_report (workflow.report_clocks), and the card of the township's clock.

Submitting stops the township's clock for the month (workflow.models.ReportDeadline) in
the same transaction, so the sweep sends no card after it.

Figures are the unit's, whoever submits or reads them (monthly_table without a user): the
table sent upward is one table, not a person's view of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from django import forms
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.forms import ReadableText
from cases.models import MonthlyReport, OrgUnit
from cases.periods import BadPeriod, month_period, parse_month
from workflow.counts import card
from workflow.errors import InvalidData, NotPermitted
from workflow.models import ReportDeadline
from workflow.permissions import may_submit_monthly
from workflow.report_clocks import report_due, stop_report_clock

from .ledgers import BANDS, MONTHLY_COLUMNS, MonthlyRow, monthly_table

# The figures of a row, in the order of the table's columns (MONTHLY_COLUMNS, whose Chinese
# headers name them in a difference, as the printed table does).
FIGURES: tuple[str, ...] = ("found", "handled", "succeeded", "major",
                            *(f"band{i}" for i in range(len(BANDS))), "found_ytd", "handled_ytd", "succeeded_ytd")
COLUMN_OF: dict[str, str] = dict(zip(FIGURES, [c for c, _ in MONTHLY_COLUMNS[1:4]] + [MONTHLY_COLUMNS[6][0]]
                                     + [c for c, _ in MONTHLY_COLUMNS[7:]], strict=True))


def row_to_json(row: MonthlyRow) -> dict[str, Any]:
    values = asdict(row)
    values["bands"] = list(row.bands)
    return values


def row_from_json(values: dict[str, Any]) -> MonthlyRow:
    return MonthlyRow(**{**values, "bands": tuple(values.get("bands") or ())})


def figures_of(row: MonthlyRow) -> dict[str, int]:
    values = {name: getattr(row, name) for name in ("found", "handled", "succeeded", "major",
                                                    "found_ytd", "handled_ytd", "succeeded_ytd")}
    values.update({f"band{i}": n for i, n in enumerate(row.bands)})
    return values


class SubmissionForm(ReadableText, forms.Form):
    """Who signed the table (签发人), checked as every text that reaches the database is."""

    signed_by = forms.CharField(label=gettext_lazy("signed by (签发人)"), max_length=64,
                                error_messages={"required": gettext_lazy("Give the name of who signed the table.")})


def freeze_monthly(actor: Any, township: OrgUnit, month: date | str, signed_by: str, *,
                   at: datetime | None = None) -> MonthlyReport:
    """Submit `township`'s table for `month`, signed by `signed_by`: its rows frozen as they
    are now. Raises NotPermitted (not an officer or supervisor of the township) or
    InvalidData — a month not over, a second submission, no signer — and writes nothing."""
    at = at or timezone.now()
    labels = {"month": _("month"), "signed_by": _("signed by")}
    try:
        month = parse_month(month)
    except BadPeriod as error:
        raise InvalidData({"month": [str(error)]}, labels) from None
    if not may_submit_monthly(actor, township):
        raise NotPermitted(_("Submit the monthly table"),
                           _("Only the township's officers and supervisors submit its monthly table."))
    form = SubmissionForm({"signed_by": signed_by})
    errors: dict[str, list[str]] = {} if form.is_valid() else {k: list(v) for k, v in form.errors.items()}
    period = month_period(month)
    if at < period.end:
        errors.setdefault("month", []).append(
            _("The table for %(month)s can be submitted once the month is over.") % {"month": period.label})
    already = _("%(unit)s has already submitted its table for %(month)s.") % {"unit": township.name,
                                                                              "month": period.label}
    if MonthlyReport.objects.filter(unit=township, month=month).exists():
        errors.setdefault("month", []).append(already)
    if errors:
        raise InvalidData(errors, labels)
    rows = monthly_table(township, period)
    try:
        # The clock's row is the lock two people submitting at once queue on, and the
        # unique constraint decides between them; the clock stops with the table, or
        # neither happens.
        with transaction.atomic():
            clock = stop_report_clock(township, month, at)
            # Late against the clock's due time: the one the cards were sent on, kept even
            # if the rule was edited since the clock opened.
            due_at = clock.due_at if clock is not None else None
            return MonthlyReport.objects.create(
                unit=township, month=month, rows=[row_to_json(r) for r in rows],
                signed_by=form.cleaned_data["signed_by"].strip(), submitted_by=actor, submitted_at=at,
                due_at=due_at, is_late=due_at is not None and at > due_at)
    except IntegrityError:
        raise InvalidData({"month": [already]}, labels) from None


@dataclass
class Difference:
    """A figure that moved after submission: the row's label, the column's header, the
    figure submitted and the figure now."""

    label: str
    column: str
    submitted: int
    now: int

    @property
    def change(self) -> int:
        return self.now - self.submitted


@dataclass
class SubmittedTable:
    report: MonthlyReport
    rows: list[MonthlyRow]
    differences: list[Difference] = field(default_factory=list)


def differences(submitted: list[MonthlyRow], live: list[MonthlyRow]) -> list[Difference]:
    """Every figure of the live table that differs from the submitted one, row by row
    (a row is its category; the total has none), in the table's order."""
    now = {row.category: row for row in live}
    out = []
    for row in submitted:
        current = now.get(row.category)
        if current is None:
            continue
        before, after = figures_of(row), figures_of(current)
        out += [Difference(row.label, COLUMN_OF[name], before[name], after[name])
                for name in FIGURES if before.get(name) != after.get(name)]
    return out


def submitted_table(township: OrgUnit, month: date | str) -> SubmittedTable | None:
    """`township`'s table for `month` as submitted, with the differences from the live
    figures; None when not submitted."""
    month = parse_month(month)
    report = MonthlyReport.objects.filter(unit=township, month=month).select_related("unit", "submitted_by").first()
    if report is None:
        return None
    rows = [row_from_json(r) for r in report.rows]
    live = monthly_table(township, month_period(month))
    return SubmittedTable(report, rows, differences(rows, live))


@dataclass
class TownshipStatus:
    township: OrgUnit
    # "submitted" (on time), "late" (submitted after its due time), "missing" (past due,
    # not submitted) or "pending" (not yet due)
    status: str
    due_at: datetime | None
    report: MonthlyReport | None
    # The card of the township's clock (workflow.counts.card): "yellow", "red" or "" — none
    # for a table submitted, or a township with no clock (not begun using the system).
    card: str = ""


def submission_status(county: OrgUnit, month: date | str, at: datetime | None = None) -> list[TownshipStatus]:
    """Each township beneath `county` and its table for `month`, as of `at`: three queries
    however many townships (the due times come from the cached rules and calendar)."""
    at = at or timezone.now()
    month = parse_month(month)
    townships = list(OrgUnit.objects.filter(path__startswith=county.path, level=OrgUnit.Level.TOWNSHIP)
                     .order_by("path"))
    reports = {r.unit_id: r for r in MonthlyReport.objects.filter(unit__in=townships, month=month,
                                                                  submitted_at__lte=at)
               .select_related("submitted_by")}
    clocks = {c.unit_id: c for c in ReportDeadline.objects.filter(unit__in=townships, month=month)}
    out = []
    for township in townships:
        due = report_due(township, month)
        due_at = due.due_at if due else None
        report = reports.get(township.pk)
        if report is not None:
            status = "late" if report.is_late else "submitted"
        else:
            status = "missing" if due_at is not None and at > due_at else "pending"
        clock = clocks.get(township.pk)
        out.append(TownshipStatus(township, status, due_at, report, card(clock, at) if clock else ""))
    return out
