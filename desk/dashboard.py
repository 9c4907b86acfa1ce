"""统计: the unit's cases by month, by category, by village, the on-time and resolution
rates and what is overdue now, as charts (Apache ECharts, served from here). Each bar,
point and cell opens the queue filtered to the cases behind it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Category, OrgUnit
from cases.periods import next_month
from workflow import counts
from workflow.permissions import may_review, visible_to

from .responses import only_for
from .scope import UnitPeriodForm

MONTHS = 12
HEAT_MONTHS = 6
# The heat table's red (desk.css --desk-red), laid over the card's white by each cell's
# share of the busiest cell; the text on it black or white, whichever reads better.
HEAT_RED = (198, 40, 40)
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def queue_url(**filters: Any) -> str:
    return reverse("desk:queue:index") + "?" + urlencode({"stage": "all", **filters})


def heat_cells(villages: list[OrgUnit], months: list[date], counted: dict[tuple[int, date], int]) -> list[Any]:
    """The heat table: per village, per month its cases, the link to them and the cell's
    colours, as (count, link, background, text). A county's is 300 villages × 6 months:
    the queue's path is resolved once and the colours once per distinct count, not per
    cell; the link's values (an id, a month) need no quoting."""
    peak = max(counted.values(), default=0)
    queue = reverse("desk:queue:index")
    colours: dict[int, tuple[str, str]] = {}
    rows = []
    for village in villages:
        cells = []
        for month in months:
            n = counted.get((village.pk, month), 0)
            if n not in colours:
                colours[n] = heat_colours(n / peak if peak else 0)
            cells.append((n, f"{queue}?stage=all&village={village.pk}&reported={month:%Y-%m}", *colours[n]))
        rows.append((village, cells))
    return rows


def months_back(last: date, n: int) -> list[date]:
    months = [last]
    while len(months) < n:
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    return months


def unit_filter(unit: OrgUnit) -> dict[str, int]:
    """The queue's filter for the cases of `unit` (Case.objects.within)."""
    return {"village" if unit.level == OrgUnit.Level.VILLAGE else "unit": unit.pk}


def overdue_by_unit(visible: Any, unit: OrgUnit, children: list[OrgUnit], now: datetime) -> tuple[int, list[int]]:
    """红牌 now of the cases within `unit`, and within each of `children`, among the cases
    `visible`: the red figures of workflow.counts.pressing_by_unit, which the supervision
    board shows too, in one statement whatever the number of units and cases. (Grouped
    here by an Exists per case, a county's took 0.6 s of a million cases.)"""
    figures = counts.pressing_by_unit(visible.open(), [unit, *children], now)
    return figures[unit.pk]["red"], [figures[c.pk]["red"] for c in children]


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = map(channel, rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def heat_colours(share: float) -> tuple[str, str]:
    """A heat cell's background for `share` (0 to 1) of the busiest cell's cases, and the
    text colour that contrasts most with it: black on the light cells, white on the dark
    ones; either way at least 4.5:1 (WCAG AA), where the link blue on dark red was 1.6:1."""
    alpha = 0.1 + 0.9 * share if share else 0.0
    background = tuple(round(255 + alpha * (c - 255)) for c in HEAT_RED)
    text = max((BLACK, WHITE), key=lambda colour: contrast(background, colour))
    return "rgb({}, {}, {})".format(*background), "#{:02x}{:02x}{:02x}".format(*text)


@login_required
@only_for(may_review)
def dashboard(request: HttpRequest) -> HttpResponse:
    choice = UnitPeriodForm(request.GET, user=request.user, months_only=True)
    context: dict[str, Any] = {"choice": choice}
    if not (choice.is_valid() and choice.cleaned_data["unit"] is not None):
        return render(request, "desk/dashboard.html", context)
    unit, period = choice.cleaned_data["unit"], choice.cleaned_data["period"]
    visible = visible_to(request.user)
    months = months_back(period.first, MONTHS)
    now = timezone.now()
    # The unit's figures from the rollup (workflow.counts.tallied): years of cases counted
    # without reading them; the same for everyone who may review the unit.
    grouping = counts.UnitCases([unit])
    end = next_month(period.first)
    by_month = counts.tallied(grouping, months[0], end, now)[unit.pk]
    zero = dict.fromkeys(counts.FIGURES, 0)
    monthly = {m: by_month.get((m,), zero) for m in months}
    labels = [f"{m:%Y-%m}" for m in months]
    categories = dict(Category.choices)
    by_category = sorted(((key[0], got["found"]) for key, got in counts.tallied(
        grouping, months[0], end, now, by=("category",), acceptance=False)[unit.pk].items() if got["found"]),
        key=lambda pair: (-pair[1], pair[0]))
    # The units beneath, read once: the overdue chart's (villages or townships, not the
    # departments) and the heat table's villages.
    subtree = list(OrgUnit.objects.filter(path__startswith=unit.path).order_by("path"))
    children = [u for u in subtree if u.parent_id == unit.pk and u.level != OrgUnit.Level.DEPARTMENT]
    villages = [u for u in subtree if u.level == OrgUnit.Level.VILLAGE]
    overdue_total, overdue = overdue_by_unit(visible, unit, children, now)
    heat_months = months[-HEAT_MONTHS:]
    heat_counts = {(village, month): got["found"] for (month, village), got in counts.tallied(
        grouping, heat_months[0], end, now, by=("month", "village_id"), acceptance=False)[unit.pk].items() if village}
    heat = heat_cells(villages, heat_months, heat_counts)
    charts = {
        "months": {"labels": labels, "values": [monthly[m]["found"] for m in months],
                   "links": [queue_url(**unit_filter(unit), reported=label) for label in labels],
                   "name": _("cases reported")},
        "categories": {"labels": [str(categories.get(category, category)) for category, _ in by_category],
                       "values": [n for _, n in by_category],
                       "links": [queue_url(**unit_filter(unit), category=category) for category, _ in by_category],
                       "name": _("cases")},
        "rates": {"labels": labels,
                  "series": [
                      {"name": _("on-time acceptance rate (%)"), "values": [
                          counts.rate(monthly[m]["acceptance_on_time"], monthly[m]["acceptance_counted"])
                          for m in months]},
                      {"name": _("resolution rate (%)"), "values": [
                          counts.rate(monthly[m]["succeeded"], monthly[m]["handled"]) for m in months]}],
                  "links": [queue_url(**unit_filter(unit), reported=label) for label in labels]},
        "overdue": {"labels": [c.name for c in children], "values": overdue,
                    "links": [queue_url(**unit_filter(c), overdue="on", stage="") for c in children],
                    "name": _("overdue now")},
    }
    context.update(unit=unit, period=period, charts=charts, heat=heat,
                   heat_months=heat_months, now=now,
                   totals={"reported": sum(v["found"] for v in monthly.values()),
                           "overdue": overdue_total})
    return render(request, "desk/dashboard.html", context)

