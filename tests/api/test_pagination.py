"""Lists paged by cursor (api.pagination, issue 19): every order in both directions pages
through exactly the database's order with ties by id; pages hold still while cases
arrive or move; a cursor past the end is an empty page, never a 404; page_size is
bounded; a cursor is refused when tampered with or taken to another order; the case
list costs the same queries whatever the page size; updated_after gives an offline app
what changed since its last sync."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api.pagination import CasePagination
from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.conftest import Cast, local, report, step, token_for
from workflow.models import Deadline
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db

API = "/api/v1"
NOW = local(2026, 3, 20, 10)


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def pages(client: APIClient, url: str, params: dict[str, Any]) -> list[list[int]]:
    """The ids of each page, following next to the end."""
    found: list[list[int]] = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        found.append([row["id"] for row in body["results"]])
        if body["next"] is None:
            return found
        response = client.get(body["next"])


@pytest.fixture
def mixed(cast: Cast) -> list[Case]:
    """Seven cases sharing stages, risks and report times, some with open deadlines and
    some without (closed), so every order has ties and empty values to page across."""
    at = local(2026, 3, 2, 9)
    made = [report(cast, at=at, risk="major"), report(cast, at=at, risk="general"),
            report(cast, at=at + timedelta(hours=1), risk="significant"),
            report(cast, at=at + timedelta(hours=2), risk="general"),
            report(cast, at=at + timedelta(hours=2), risk="major")]
    for case in made[3:]:
        step(case, "reject", cast.olga, at + timedelta(hours=3), reason="重复登记。")
    step(made[0], "accept", cast.olga, at + timedelta(hours=4), assignee=cast.mia.pk, lead_department=cast.justice.pk)
    made += [report(cast, at=at + timedelta(days=1)), report(cast, at=at + timedelta(days=1))]
    return [Case.objects.get(pk=case.pk) for case in made]


def expected_order(user: Any, ordering: str) -> list[int]:
    """The list's order computed here: by the key (empty values last either way), then id."""
    name, descending = ordering.lstrip("-"), ordering.startswith("-")
    cases = list(visible_to(user))
    dues = {case.pk: min(Deadline.objects.open().filter(case=case).values_list("due_at", flat=True), default=None)
            for case in cases}
    value = {"next_due_at": lambda c: dues[c.pk]}.get(name, lambda c: getattr(c, name))
    present = sorted((c for c in cases if value(c) is not None), key=lambda c: c.pk)
    present.sort(key=value, reverse=descending)
    return [c.pk for c in present] + sorted(c.pk for c in cases if value(c) is None)


ORDERINGS = ["reported_at", "-reported_at", "next_due_at", "-next_due_at", "number", "-number", "risk", "-risk",
             "stage", "-stage", "updated_at", "-updated_at"]


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_every_order_pages_through_the_cases_in_the_databases_order_with_ties_by_id(cast, mixed, ordering):
    found = pages(api(cast.olga), f"{API}/cases/", {"ordering": ordering, "page_size": 2})
    assert [len(page) for page in found] == [2, 2, 2, 1]
    assert sum(found, []) == expected_order(cast.olga, ordering)
    assert len(expected_order(cast.olga, ordering)) == len(mixed) == 7


@pytest.mark.parametrize("ordering", ["-reported_at", "next_due_at", "-risk"])
def test_previous_leads_back_through_the_same_pages(cast, mixed, ordering):
    client = api(cast.olga)
    forward, response = [], client.get(f"{API}/cases/", {"ordering": ordering, "page_size": 3})
    while True:
        body = response.json()
        forward.append(body)
        if body["next"] is None:
            break
        response = client.get(body["next"])
    assert forward[0]["previous"] is None and len(forward) == 3
    backward = [forward[-1]]
    while backward[-1]["previous"] is not None:
        backward.append(client.get(backward[-1]["previous"]).json())
    assert [page["results"] for page in reversed(backward)] == [page["results"] for page in forward]


def test_pages_hold_still_while_cases_arrive_and_move(cast, mixed):
    client = api(cast.olga)
    first = client.get(f"{API}/cases/", {"page_size": 3}).json()
    assert [row["id"] for row in first["results"]] == expected_order(cast.olga, "-reported_at")[:3]
    # A new report (newest of all, so before the first page) and a case of the first page
    # moved on: neither shifts the pages still to come.
    arrived = report(cast, at=local(2026, 3, 19, 9))
    step(Case.objects.get(pk=first["results"][0]["id"]), "reject", cast.olga, local(2026, 3, 19, 10), reason="重复。")
    rest = pages(client, first["next"], {})
    seen = [row["id"] for row in first["results"]] + sum(rest, [])
    assert seen == [pk for pk in expected_order(cast.olga, "-reported_at") if pk != arrived.pk]
    assert len(seen) == len(set(seen)) == 7


def test_a_cursor_past_the_end_is_an_empty_page_not_a_404(cast, mixed):
    client = api(cast.olga)
    params = {"stage": "reported", "ordering": "reported_at", "page_size": 1}
    reported = expected_order(cast.olga, "reported_at")
    reported = [pk for pk in reported if Case.objects.get(pk=pk).stage == "reported"]
    assert len(reported) == 4
    first = client.get(f"{API}/cases/", {**params, "page_size": 3}).json()
    assert [row["id"] for row in first["results"]] == reported[:3] and first["next"]
    # The one case left after the cursor leaves the selection before it is asked for.
    step(Case.objects.get(pk=reported[3]), "reject", cast.olga, local(2026, 3, 19, 10), reason="重复。")
    response = client.get(first["next"])
    assert response.status_code == 200
    assert response.json()["results"] == [] and response.json()["next"] is None


@pytest.mark.parametrize("size, status", [("1", 200), ("100", 200), ("0", 400), ("101", 400), ("-1", 400),
                                          ("ten", 400), ("２", 400), ("", 400)])
def test_page_size_is_bounded_from_1_to_100(cast, mixed, size, status):
    response = api(cast.olga).get(f"{API}/cases/", {"page_size": size})
    assert response.status_code == status, response.content
    if status == 200:
        assert len(response.json()["results"]) == min(int(size), 7)
    else:
        assert response.json()["code"] == "invalid" and set(response.json()["errors"]) == {"page_size"}


def cursor_of(link: str) -> dict[str, Any]:
    token = link.split("cursor=", 1)[1].split("&", 1)[0]
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def made(body: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize("tamper", [
    lambda c: "not-base64-!!",
    lambda c: made([1, 2]),
    lambda c: made({**c, "v": c["v"][:1]}),
    lambda c: made({**c, "v": ["yesterday", c["v"][1]]}),
    lambda c: made({**c, "v": ["0001-01-01T00:00:00+14:00", c["v"][1]]}),
    lambda c: made({**c, "v": [c["v"][0], 2**64]}),
    lambda c: made({**c, "v": [c["v"][0], True]}),
    lambda c: made({**c, "v": [None, c["v"][1]]}),
    lambda c: made({**c, "r": "yes"}),
], ids=["garbage", "not an object", "too few values", "unreadable moment", "moment out of range", "id too large",
        "id a boolean", "null where none can be", "direction not a boolean"])
def test_a_tampered_cursor_is_a_400_naming_it(cast, mixed, tamper):
    client = api(cast.olga)
    link = client.get(f"{API}/cases/", {"page_size": 2}).json()["next"]
    response = client.get(f"{API}/cases/", {"page_size": 2, "cursor": tamper(cursor_of(link))})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and set(response.json()["errors"]) == {"cursor"}


def test_a_cursor_taken_to_another_order_is_a_400(cast, mixed):
    client = api(cast.olga)
    link = client.get(f"{API}/cases/", {"page_size": 2, "ordering": "number"}).json()["next"]
    response = client.get(link.replace("ordering=number", "ordering=-number"))
    assert response.status_code == 400 and set(response.json()["errors"]) == {"cursor"}


def test_a_page_by_cursor_costs_the_same_queries_for_2_or_20_cases(cast, mixed):
    for i in range(25):
        report(cast, at=local(2026, 3, 4, 9) + timedelta(minutes=i))
    client = api(cast.olga)
    client.get(f"{API}/cases/")  # warm: the token row, content types, permissions
    counted = []
    link = client.get(f"{API}/cases/", {"page_size": 2, "ordering": "next_due_at"}).json()["next"]
    for size in (2, 20):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(link.replace("page_size=2", f"page_size={size}"))
        assert len(response.json()["results"]) == size
        counted.append(len(queries))
    assert counted[0] == counted[1], counted


def test_the_notifications_visits_and_events_page_by_cursor(cast, mixed):
    client = api(cast.olga)
    for i in range(5):
        Notification.objects.create(user=cast.olga, kind="sweep", level="warning", text=f"提醒 {i}",
                                    case=mixed[0], created_at=NOW - timedelta(minutes=i))
    mine = list(Notification.objects.filter(user=cast.olga).order_by("-pk").values_list("pk", flat=True))
    assert sum(pages(client, f"{API}/notifications/", {"page_size": 2}), []) == mine
    by_time = list(Notification.objects.filter(user=cast.olga).order_by("created_at", "pk").values_list("pk", flat=True))
    assert sum(pages(client, f"{API}/notifications/", {"page_size": 2, "ordering": "created_at"}), []) == by_time
    events = list(CaseEvent.objects.filter(case=mixed[0]).order_by("at", "pk").values_list("pk", flat=True))
    assert len(events) == 2
    assert pages(client, f"{API}/cases/{mixed[0].pk}/events/", {"page_size": 1}) == [[events[0]], [events[1]]]
    assert pages(client, f"{API}/visits/", {"page_size": 1}) == [[]]


def test_updated_after_gives_what_was_written_since_in_the_order_written(cast, mixed, time_machine):
    client = api(cast.olga)
    synced = NOW
    time_machine.move_to(NOW + timedelta(minutes=5), tick=False)
    moved = step(mixed[1], "accept", cast.olga, assignee=cast.mia.pk, lead_department=cast.justice.pk)
    time_machine.move_to(NOW + timedelta(minutes=10), tick=False)
    arrived = report(cast, at=NOW + timedelta(minutes=10))
    params = {"updated_after": synced.isoformat(), "ordering": "updated_at"}
    rows = client.get(f"{API}/cases/", params).json()["results"]
    assert [row["id"] for row in rows] == [moved.pk, arrived.pk]
    assert [row["updated_at"] for row in rows] == ["2026-03-20T10:05:00.000000+08:00",
                                                   "2026-03-20T10:10:00.000000+08:00"]
    # The next sync starts from the last moment it holds: nothing twice, nothing missed.
    again = client.get(f"{API}/cases/", {**params, "updated_after": rows[-1]["updated_at"]}).json()["results"]
    assert again == []
    assert Case.objects.filter(updated_at__gt=synced).count() == 2


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00+08:00", "0001-01-01T00:00:00+14:00"])
def test_an_unreadable_updated_after_is_a_400(cast, mixed, value):
    response = api(cast.olga).get(f"{API}/cases/", {"updated_after": value})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"updated_after"}


@pytest.mark.parametrize("window", [1, 3, 4000])
@pytest.mark.parametrize("params", [{}, {"stage": "reported"}, {"risk": "major"}], ids=["all", "reported", "major"])
def test_by_nearest_deadline_the_pages_read_from_the_deadlines_are_the_sorted_ones(cast, mixed, monkeypatch, window,
                                                                                    params):
    monkeypatch.setattr(CasePagination, "LARGEST_WINDOW", window)
    found = sum(pages(api(cast.olga), f"{API}/cases/", {**params, "ordering": "next_due_at", "page_size": 2}), [])
    selected = set(Case.objects.filter(**params).values_list("pk", flat=True))
    assert found == [pk for pk in expected_order(cast.olga, "next_due_at") if pk in selected]
    assert found
