"""统计: the unit's cases by month, by category, by village, the on-time and resolution
rates and what is overdue now, as charts (Apache ECharts, served from here). Each bar,
point and cell opens the queue filtered to the cases behind it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.models import Deadline, DeadlineKind
from workflow.queues import with_listing

from ..models import Case, Category, OrgUnit
from ..periods import month_period
from .responses import only_for
from .scope import UnitPeriodForm, may_review

MONTHS = 12
HEAT_MONTHS = 6


def queue_url(**filters: Any) -> str:
    return reverse("desk:queue:index") + "?" + urlencode({"stage": "all", **filters})


def months_back(last: date, n: int) -> list[date]:
    months = [last]
    while len(months) < n:
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    return months


def by_month(cases: Any, months: list[date]) -> dict[date, dict[str, int]]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start, end = month_period(months[0]).start, month_period(months[-1]).end
    rows = (cases.filter(reported_at__gte=start, reported_at__lt=end)
            .annotate(month=TruncMonth("reported_at", tzinfo=tz)).values("month")
            .annotate(total=Count("pk"),
                      resolved=Count("pk", filter=Q(resolved_at__isnull=False))))
    out = {m: {"total": 0, "resolved": 0} for m in months}
    for row in rows:
        key = row["month"].date() if hasattr(row["month"], "date") else row["month"]
        out[key.replace(day=1)] = {"total": row["total"], "resolved": row["resolved"]}
    return out


def on_time_acceptance(cases: Any, months: list[date]) -> dict[date, float | None]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start, end = month_period(months[0]).start, month_period(months[-1]).end
    met = (Deadline.objects.filter(case__in=cases, kind__in=[DeadlineKind.ACCEPTANCE, DeadlineKind.REGISTRATION],
                                   met_at__gte=start, met_at__lt=end)
           .annotate(month=TruncMonth("met_at", tzinfo=tz)).values("month")
           .annotate(total=Count("pk"), late=Count("pk", filter=Q(breached_at__isnull=False))))
    out: dict[date, float | None] = dict.fromkeys(months)
    for row in met:
        key = (row["month"].date() if hasattr(row["month"], "date") else row["month"]).replace(day=1)
        out[key] = round(100 * (row["total"] - row["late"]) / row["total"], 1) if row["total"] else None
    return out


@login_required
@only_for(may_review)
def dashboard(request: HttpRequest) -> HttpResponse:
    choice = UnitPeriodForm(request.GET, user=request.user, months_only=True)
    context: dict[str, Any] = {"choice": choice}
    if not (choice.is_valid() and choice.cleaned_data["unit"] is not None):
        return render(request, "cases/dashboard.html", context)
    unit, period = choice.cleaned_data["unit"], choice.cleaned_data["period"]
    cases = Case.objects.visible_to(request.user).within(unit)
    months = months_back(period.first, MONTHS)
    monthly = by_month(cases, months)
    accepted = on_time_acceptance(cases, months)
    labels = [f"{m:%Y-%m}" for m in months]
    categories = dict(Category.choices)
    in_period = cases.filter(reported_at__gte=month_period(months[0]).start, reported_at__lt=period.end)
    by_category = list(in_period.values("category").annotate(n=Count("pk")).order_by("-n"))
    children = list(OrgUnit.objects.filter(parent=unit).exclude(level=OrgUnit.Level.DEPARTMENT).order_by("path"))
    overdue_cases = with_listing(Case.objects.visible_to(request.user).open()).filter(overdue=True)
    overdue = [overdue_cases.within(child).count() for child in children]
    heat_months = months[-HEAT_MONTHS:]
    villages = list(OrgUnit.objects.filter(path__startswith=unit.path, level=OrgUnit.Level.VILLAGE).order_by("path"))
    tz = ZoneInfo(settings.TIME_ZONE)
    heat_counts = {(r["village"], (r["month"].date() if hasattr(r["month"], "date") else r["month"]).replace(day=1)):
                   r["n"] for r in cases.filter(reported_at__gte=month_period(heat_months[0]).start,
                                                reported_at__lt=period.end, village__isnull=False)
                   .annotate(month=TruncMonth("reported_at", tzinfo=tz)).values("village", "month")
                   .annotate(n=Count("pk"))}
    peak = max(heat_counts.values(), default=0)
    heat = [(v, [(heat_counts.get((v.pk, m), 0), queue_url(village=v.pk, reported=f"{m:%Y-%m}"),
                  round(heat_counts.get((v.pk, m), 0) / peak, 2) if peak else 0) for m in heat_months])
            for v in villages]
    charts = {
        "months": {"labels": labels, "values": [monthly[m]["total"] for m in months],
                   "links": [queue_url(unit=unit.pk, reported=label) for label in labels],
                   "name": _("cases reported")},
        "categories": {"labels": [str(categories.get(r["category"], r["category"])) for r in by_category],
                       "values": [r["n"] for r in by_category],
                       "links": [queue_url(unit=unit.pk, category=r["category"]) for r in by_category],
                       "name": _("cases")},
        "rates": {"labels": labels,
                  "series": [
                      {"name": _("on-time acceptance rate (%)"), "values": [accepted[m] for m in months]},
                      {"name": _("resolution rate (%)"), "values": [
                          round(100 * monthly[m]["resolved"] / monthly[m]["total"], 1) if monthly[m]["total"] else None
                          for m in months]}],
                  "links": [queue_url(unit=unit.pk, reported=label) for label in labels]},
        "overdue": {"labels": [c.name for c in children], "values": overdue,
                    "links": [queue_url(unit=c.pk, overdue="on", stage="") for c in children],
                    "name": _("overdue now")},
    }
    context.update(unit=unit, period=period, charts=charts, heat=heat,
                   heat_months=heat_months, now=timezone.now(),
                   totals={"reported": sum(v["total"] for v in monthly.values()),
                           "overdue": overdue_cases.within(unit).count()})
    return render(request, "cases/dashboard.html", context)

