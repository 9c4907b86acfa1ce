"""报送: a township's monthly 矛盾纠纷排查情况表 sent upward and frozen (reports.submission),
the county's list of who submitted, when, signed by whom, who is late or missing and the card
of each township's clock (workflow.report_clocks), and the submitted table as PDF. Reached
from the ledgers page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from cases.models import OrgUnit
from cases.periods import month_period, parse_month
from reports.ledgers import BANDS, monthly_table
from reports.submission import SubmissionForm, freeze_monthly, submission_status, submitted_table
from workflow.permissions import may_review, may_submit_monthly, reviewed_units
from workflow.report_clocks import report_due

from .responses import carried_out, form_id, only_for
from .scope import UnitPeriodForm

LEVELS = (OrgUnit.Level.COUNTY, OrgUnit.Level.TOWNSHIP)


def page_link(unit: OrgUnit, month: Any) -> str:
    return reverse("desk:ledgers:monthly") + "?" + urlencode({"unit": unit.pk, "period": f"{month:%Y-%m}"})


@login_required
@only_for(may_review)
def monthly(request: HttpRequest) -> HttpResponse:
    """A township's table for a month: as submitted (with the corrections since), or the
    live one with the form to submit it; a county's: each township's submission."""
    form = None
    if request.method == "POST":
        choice = UnitPeriodForm(request.POST, user=request.user, months_only=True, levels=LEVELS)
        # The unit is named by the form, never taken as the first one within reach.
        if choice.is_valid() and form_id(request.POST.get("unit")) is None:
            choice.add_error("unit", _("Choose the township whose table is submitted."))
    else:
        choice = UnitPeriodForm(request.GET, user=request.user, months_only=True, levels=LEVELS)
    context: dict[str, Any] = {"choice": choice, "bands": [label for label, _low, _high in BANDS]}
    status = 200
    if choice.is_valid() and choice.cleaned_data["unit"] is not None:
        unit, period = choice.cleaned_data["unit"], choice.cleaned_data["period"]
        month = period.first
        if request.method == "POST":
            form = SubmissionForm(request.POST)
            if form.is_valid() and carried_out(
                    form, lambda: freeze_monthly(request.user, unit, month, form.cleaned_data["signed_by"])) is not None:
                messages.success(request, _("The table of %(unit)s for %(month)s is submitted.")
                                 % {"unit": unit.name, "month": period.label})
                return HttpResponseRedirect(page_link(unit, month))
            status = 422
        context.update(unit=unit, month=month)
        if unit.level == OrgUnit.Level.COUNTY:
            context["statuses"] = submission_status(unit, month)
        else:
            submitted = submitted_table(unit, month)
            context["submitted"] = submitted
            if submitted is None:
                context["table"] = monthly_table(unit, period)
                due = report_due(unit, month)
                context["due_at"] = due.due_at if due else None
                context["month_over"] = timezone.now() >= month_period(month).end
                if may_submit_monthly(request.user, unit):
                    context["form"] = form or SubmissionForm()
            else:
                context["pdf"] = reverse("desk:ledgers:monthly_pdf", args=[unit.pk, f"{month:%Y-%m}"])
    elif request.method == "POST":
        status = 422
    return render(request, "desk/monthly_report.html", context, status=status)


@login_required
@require_safe
def monthly_pdf(request: HttpRequest, unit_id: str, month: str) -> HttpResponse:
    """The submitted table as PDF (paper/monthly_report.html): 报送单位, 签发人, 报送时间 and
    the corrections after submission; 404 for a township the person does not review or a
    month not submitted."""
    pk = form_id(unit_id)
    unit = reviewed_units(request.user, (OrgUnit.Level.TOWNSHIP,)).filter(pk=pk).first() if pk else None
    try:
        first = parse_month(month)
    except ValueError:  # BadPeriod
        raise Http404 from None
    submitted = submitted_table(unit, first) if unit is not None else None
    if submitted is None:
        raise Http404
    # Imported on the first print: WeasyPrint loads Pango (desk/paper.py).
    from paper.render import pdf_response, render_pdf

    pdf = render_pdf("paper/monthly_report.html", {
        "unit": unit, "month": first, "submitted": submitted, "report": submitted.report,
        "bands": [label for label, _low, _high in BANDS],
    })
    return pdf_response(pdf, f"{unit.name} {first:%Y-%m} 矛盾纠纷排查情况表.pdf")
