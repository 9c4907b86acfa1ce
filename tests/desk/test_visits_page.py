"""The household visits page (走访, issue 18): a village's visits of a month, newest first and
paged, the form to record one (raising a case with its few facts), and the rule of reach:
another township's worker reads and records nothing of the village."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from cases.models import Case
from screening.models import Visit
from screening.visits import record_visit
from tests.conftest import local

pytestmark = pytest.mark.django_db
VISITS = "desk:visits:index"


def made(cast: Any, n: int, village: Any = None, actor: Any = None) -> list[Visit]:
    return [record_visit(actor=actor or cast.alice, village=village or cast.dongwan, at=local(2026, 3, 28, 20), data={
        "household": f"农户{i:02d}", "visited_at": local(2026, 3, 1 + i % 27, 9, i % 60).isoformat(),
        "findings": f"第{i}户情况正常。"}) for i in range(n)]


def listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-visit="(\d+)"', html)]


def test_the_villages_visits_of_the_month_newest_first_and_paged(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 29, 9), tick=False)
    visits = made(cast, 25)
    made(cast, 2, cast.xiling, cast.bob)  # another village: not on 东湾村's page
    client.force_login(cast.olga)
    first = client.get(reverse(VISITS), {"village": cast.dongwan.pk, "month": "2026-03"})
    assert first.status_code == 200
    html = first.content.decode()
    newest = [v.pk for v in sorted(visits, key=lambda v: (v.visited_at, v.pk), reverse=True)]
    assert listed(html) == newest[:20]
    assert "25 次走访" in html or "25 visits" in html
    second = client.get(reverse(VISITS), {"village": cast.dongwan.pk, "month": "2026-03", "page": "2"})
    assert listed(second.content.decode()) == newest[20:]
    # Another month has none of them.
    assert listed(client.get(reverse(VISITS), {"village": cast.dongwan.pk, "month": "2026-02"})
                  .content.decode()) == []


def test_recording_a_visit_that_raises_a_case(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 10, 16), tick=False)
    client.force_login(cast.alice)
    page = client.get(reverse(VISITS)).content.decode()
    assert 'name="household"' in page and 'name="raises_case"' in page and 'name="case_title"' in page
    response = client.post(reverse(VISITS), {
        "village": cast.dongwan.pk, "household": "张大爷", "id_number": "11010519491231002X",
        "visited_at": "2026-03-10T09:30", "findings": "与邻居因排水沟走向有争执。", "concern": "neighbours",
        "raises_case": "on", "case_title": "张某与邻居排水沟纠纷", "case_category": "neighbours",
        "case_summary": "张某与邻居李某因排水沟走向发生争执。"})
    assert response.status_code == 302
    visit = Visit.objects.get()
    case = Case.objects.get()
    assert visit.case == case and visit.visited_by == cast.alice and case.source == "screening"
    html = client.get(response["Location"]).content.decode()
    assert f'data-visit="{visit.pk}"' in html and case.number in html and "110***********002X" in html
    assert "11010519491231002X" not in html


def test_a_form_with_mistakes_comes_back_with_them_and_nothing_is_written(cast: Any, client: Any,
                                                                         time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 10, 16), tick=False)
    client.force_login(cast.alice)
    response = client.post(reverse(VISITS), {"village": cast.dongwan.pk, "household": "张大爷",
                                             "visited_at": "2026-03-10T09:30", "findings": "有争执。",
                                             "raises_case": "on", "case_title": "排水沟纠纷"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "张大爷" in html and "排水沟纠纷" in html and "has-error" in html
    assert not Visit.objects.exists() and not Case.objects.exists()


def test_another_townships_worker_gets_nothing(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 29, 9), tick=False)
    visits = made(cast, 3)
    client.force_login(cast.nina)  # 南山村, 桃源镇
    html = client.get(reverse(VISITS), {"village": cast.dongwan.pk, "month": "2026-03"}).content.decode()
    assert listed(html) == [] and "东湾村" not in html
    refused = client.post(reverse(VISITS), {"village": cast.dongwan.pk, "household": "外村户",
                                            "visited_at": "2026-03-10T09:30", "findings": "越界。"})
    assert refused.status_code == 403 and Visit.objects.count() == len(visits)
    # A liaison reaches no village: no page.
    client.force_login(cast.pete)
    assert client.get(reverse(VISITS)).status_code == 403


def test_the_returns_page_counts_the_months_visits_per_village(cast: Any, client: Any, time_machine: Any) -> None:
    made(cast, 3)
    record_visit(actor=cast.alice, village=cast.dongwan, at=local(2026, 3, 28, 20), data={
        "household": "李家", "visited_at": local(2026, 3, 20, 9).isoformat(), "findings": "宅基地争议。",
        "raises_case": True, "case_title": "李家宅基地纠纷", "case_category": "housing_plot",
        "case_summary": "李家与邻居宅基地界址争议。"})
    time_machine.move_to(local(2026, 4, 10, 9), tick=False)
    client.force_login(cast.olga)
    html = client.get(reverse("desk:returns:index"), {"month": "2026-03"}).content.decode()
    assert re.search(rf'data-village="{cast.dongwan.pk}".*?data-visits="4"', html, re.S)
    assert re.search(rf'data-village="{cast.xiling.pk}".*?data-visits="0"', html, re.S)
