"""Every page a supervisor reads costs the same number of queries however many villages,
townships and cases lie beneath them (issue 16).

Each page is asked twice, for a township's supervisor (sam, 柳林镇) and the county's
(carl), once on a small county — 柳林镇 with its two villages, 桃源镇 with one, a handful
of cases — and again once it has grown: six more villages in 柳林镇, two more townships of
two villages each, and five times the cases, of every sort the pages count (open and
overdue, accepted late and on time, resolved). The dashboard and the ledgers page draw a
figure per unit beneath the one chosen (overdue by village or township, the heat table,
the monthly table), so these are the pages a query per unit would creep into; the
workbench, the queue and the board have tests of their own against more rows and cases
(test_pages.py, test_board_page.py) and are asked here against more units.

Each page is asked once before counting, at each size, so per-process caches (the
calendar, the rule profiles) are warm both times, and what each page shows is checked
against the database, so a page cannot stay constant by showing less.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, OrgUnit
from tests.conftest import PETITION, accept, local, report, resolve, unit
from workflow import counts
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db

NOW = local(2026, 6, 15, 10, 0)
PERIOD = "2026-05"
# Months the cases are registered in: all within the dashboard's twelve months and its
# heat table's six, the last of them the period of the monthly table.
MONTHS = (1, 2, 3, 4, 5)


@dataclass
class County:
    """The villages of each township as the county grows, and the cases made so far."""

    villages: dict[str, list[OrgUnit]] = field(default_factory=dict)
    made: int = 0


def register(cast: Any, village: OrgUnit, n: int) -> Any:
    """Case `n`, in `village`, registered by the county's officer in one of MONTHS. In
    柳林镇 every second case is accepted (some within the day, some days late) and every
    eighth resolved; the rest are left awaiting acceptance, long overdue by NOW."""
    month = MONTHS[n % len(MONTHS)]
    day = 3 + n % 20
    case = report(cast, actor=cast.cora, village=village.pk, title=f"{village.name}纠纷{n}",
                  category=("land_forest", "neighbours", "labour")[n % 3], at=local(2026, month, day, 9, 0))
    if n % 2 and village.parent_id == cast.liulin.pk:
        accept(cast, case, local(2026, month, day + (n % 3) * 4, 15, 0))
        if n % 8 == 1:
            resolve(cast, case, local(2026, month, 25, 9, 0))
    return case


def grow(cast: Any, county: County, *, villages: int, townships: int, cases: int) -> None:
    """柳林镇 up to `villages` villages, up to `townships` townships beside it, and `cases`
    cases spread over every village."""
    liulin = county.villages.setdefault(cast.liulin.code, [cast.dongwan, cast.xiling])
    county.villages.setdefault(cast.taoyuan.code, [cast.nanshan])
    while len(liulin) < villages:
        liulin.append(unit(f"QY-LL-V{len(liulin)}", f"柳林{len(liulin)}村", OrgUnit.Level.VILLAGE, cast.liulin))
    while len(county.villages) < townships:
        t = len(county.villages)
        township = unit(f"QY-T{t}", f"第{t}镇", OrgUnit.Level.TOWNSHIP, cast.county)
        county.villages[township.code] = [unit(f"QY-T{t}-V{v}", f"第{t}镇{v}村", OrgUnit.Level.VILLAGE, township)
                                          for v in range(2)]
    everywhere = [v for vs in county.villages.values() for v in vs]
    while county.made < cases:
        register(cast, everywhere[county.made % len(everywhere)], county.made)
        county.made += 1
    # Accusations, left unaccepted (so overdue): never counted within the unit they
    # accuse nor one above it (信访工作条例 第三十条), one against the village and one
    # against the township it lies in.
    for accused in (liulin[-1], cast.liulin):
        report(cast, actor=cast.cora, village=liulin[-1].pk, at=local(2026, 4, 1 + len(liulin), 9, 0),
               **{**PETITION, "petition_type": "accusation", "accused_unit": accused.pk,
                  "title": f"检举{accused.name}{len(liulin)}"})


def count(client: Any, url: str, data: dict[str, Any]) -> tuple[int, Any, list[str]]:
    client.get(url, data)  # warm: the calendar and rule caches of this process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured), response, [q["sql"] for q in captured.captured_queries]


def scope(cast: Any, who: str) -> tuple[Any, OrgUnit]:
    """Who asks, and for which unit: a township's supervisor for the township, the
    county's for the county, or the county's for a township (who sees the accusations
    against it, which its figures never count)."""
    return {"township": (cast.sam, cast.liulin), "county": (cast.carl, cast.county),
            "county-on-township": (cast.carl, cast.liulin)}[who]


def heat_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-village="(\d+)">', html)


def monthly_total(html: str) -> list[int]:
    """found, handled, succeeded, major and the four bands of the monthly table's total."""
    row = re.search(r'<tr class="total">(.*?)</tr>', html, flags=re.S)
    assert row, "no monthly table"
    return [int(n) for n in re.findall(r"<td>(\d+)</td>", row.group(1))]


def check_dashboard(response: Any, user: Any, unit_: OrgUnit) -> None:
    html = response.content.decode()
    charts = json.loads(re.search(r'<script id="charts" type="application/json">(.*?)</script>', html,
                                  flags=re.S).group(1))
    cases = visible_to(user).within(unit_)
    reported = cases.filter(reported_at__gte=local(2025, 6, 1), reported_at__lt=local(2026, 6, 1)).count()
    assert sum(charts["months"]["values"]) == reported > 0
    children = OrgUnit.objects.filter(parent=unit_).exclude(level=OrgUnit.Level.DEPARTMENT).order_by("path")
    overdue = visible_to(user).open().filter(counts.overdue(NOW))
    assert charts["overdue"]["labels"] == [c.name for c in children]
    assert charts["overdue"]["values"] == [overdue.within(c).count() for c in children]
    assert response.context["totals"]["overdue"] == overdue.within(unit_).count() > 0
    villages = OrgUnit.objects.filter(path__startswith=unit_.path, level=OrgUnit.Level.VILLAGE)
    assert sorted(heat_rows(html)) == sorted(str(v.pk) for v in villages)


def check_ledgers(response: Any, user: Any, unit_: OrgUnit) -> None:
    may = visible_to(user).within(unit_).filter(kind=Case.Kind.DISPUTE, reported_at__gte=local(2026, 5, 1),
                                                reported_at__lt=local(2026, 6, 1))
    total = monthly_total(response.content.decode())
    assert total[:3] == [may.count(), may.filter(accepted_at__isnull=False).count(),
                         may.filter(resolved_at__isnull=False).count()]
    assert total[0] > 0


def more_of(few: list[str], many: list[str]) -> list[str]:
    """The statements, numbers aside, that `many` runs more often than `few`: what crept in."""
    def shapes(sqls: list[str]) -> Counter[str]:
        return Counter(re.sub(r"\d+", "N", sql)[:200] for sql in sqls)

    return list((shapes(many) - shapes(few)).elements())[:5]


PAGES: dict[str, tuple[str, bool, Any]] = {
    # name: (url name, whether it takes ?unit=&period=, what to check of what it shows)
    "dashboard": ("desk:dashboard:index", True, check_dashboard),
    "ledgers": ("desk:ledgers:index", True, check_ledgers),
    "workbench": ("desk:workbench:index", False, None),
    "queue": ("desk:queue:index", False, None),
    "board": ("desk:board:index", False, None),
}


@pytest.mark.parametrize(("page", "who"), [
    (page, who) for page, (_, takes_unit, _) in PAGES.items()
    for who in ("township", "county", *(("county-on-township",) if takes_unit else ()))])
def test_the_page_costs_the_same_queries_however_many_units_and_cases(cast: Any, client: Any, time_machine: Any,
                                                                       page: str, who: str) -> None:
    time_machine.move_to(NOW, tick=False)
    name, takes_unit, check = PAGES[page]
    user, unit_ = scope(cast, who)
    client.force_login(user)
    data = {"unit": unit_.pk, "period": PERIOD} if takes_unit else {}
    county = County()
    queries, statements = {}, {}
    for size, (villages, townships, cases) in {"small": (2, 2, 8), "large": (8, 4, 40)}.items():
        grow(cast, county, villages=villages, townships=townships, cases=cases)
        queries[size], response, statements[size] = count(client, reverse(name), data)
        if check is not None:
            check(response, user, unit_)
    assert OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE).count() == 8 + 1 + 2 * 2
    assert queries["small"] == queries["large"], (queries, more_of(statements["small"], statements["large"]))
