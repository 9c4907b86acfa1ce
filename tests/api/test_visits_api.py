"""GET/POST /api/v1/visits/ (走访, issue 18): the visits of the villages one reaches, newest
first, ID numbers masked; recording one through screening.visits.record_visit, with the
same refusals as the page."""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case
from screening.models import Visit
from screening.visits import record_visit
from tests.api.test_api import API, api
from tests.conftest import local

pytestmark = pytest.mark.django_db
ID = "11010519491231002X"


def body(cast: Any, **overrides: Any) -> dict[str, Any]:
    return {"village": cast.dongwan.pk, "household": "张大爷", "id_number": ID,
            "visited_at": "2026-03-10T09:30:00+08:00", "findings": "与邻居因排水沟走向有争执。",
            "concern": "neighbours", **overrides}


def test_recording_a_visit_that_raises_a_case(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 10, 16), tick=False)
    response = api(cast.alice).post(f"{API}/visits/", body(
        cast, raises_case=True, case_title="张某与邻居排水沟纠纷", case_category="neighbours",
        case_summary="张某与邻居李某因排水沟走向发生争执。"), format="json")
    assert response.status_code == 201, response.content
    visit, case = Visit.objects.get(), Case.objects.get()
    got = response.json()
    assert got["id"] == visit.pk and got["case_id"] == case.pk and visit.case == case
    assert got["id_number"] == "110***********002X" and got["visited_by"] == "alice"
    assert got["village"]["id"] == cast.dongwan.pk and case.source == "screening"


@pytest.mark.parametrize("overrides, status, key", [
    ({"findings": ""}, 400, "findings"),
    ({"id_number": "110105194912310021"}, 400, "id_number"),
    ({"visited_at": "2026-03-11T09:00:00+08:00"}, 400, "visited_at"),
    ({"raises_case": True}, 400, "case_title"),
    ({"household": ["张"]}, 400, "household"),
    ({"village": 10**12}, 400, "village"),
])
def test_bad_bodies_are_refused_and_nothing_is_written(cast: Any, time_machine: Any, overrides: dict[str, Any],
                                                       status: int, key: str) -> None:
    time_machine.move_to(local(2026, 3, 10, 16), tick=False)
    response = api(cast.alice).post(f"{API}/visits/", body(cast, **overrides), format="json")
    assert response.status_code == status, response.content
    assert key in response.json()["errors"]
    assert not Visit.objects.exists() and not Case.objects.exists()


def test_reach_another_townships_worker_reads_and_records_nothing(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 10, 16), tick=False)
    for day in (3, 5):
        record_visit(actor=cast.alice, village=cast.dongwan, at=local(2026, 3, 10, 9),
                     data={"household": f"农户{day}", "visited_at": local(2026, 3, day, 9).isoformat(),
                           "findings": "正常。"})
    record_visit(actor=cast.nina, village=cast.nanshan, at=local(2026, 3, 10, 9),
                 data={"household": "南山户", "visited_at": local(2026, 3, 4, 9).isoformat(), "findings": "正常。"})
    olga = api(cast.olga).get(f"{API}/visits/").json()
    assert [row["household"] for row in olga["results"]] == ["农户5", "农户3"]
    assert [r["household"] for r in api(cast.nina).get(f"{API}/visits/").json()["results"]] == ["南山户"]
    assert api(cast.pete).get(f"{API}/visits/").json()["results"] == []
    assert [r["household"] for r in api(cast.carl).get(f"{API}/visits/", {"village": cast.nanshan.pk}).json()["results"]] \
        == ["南山户"]
    refused = api(cast.nina).post(f"{API}/visits/", body(cast), format="json")
    assert refused.status_code == 403 and Visit.objects.count() == 3
    assert api().get(f"{API}/visits/").status_code == 401
