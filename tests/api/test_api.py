"""The REST API v1 contract (docs/interfaces.md, issue 6): every endpoint's status, shape and
values checked against the database; filters, ordering and pagination; token login and
its throttle; the error codes, each with nothing changed."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, Category, DeviceToken, LoginFailure, Party, Source
from notifications.models import Notification
from tests.conftest import DISPUTE, PARTIES, PETITION, Cast, local, report, token_for
from tests.workflow.test_permissions import investigating, reported
from workflow import flow, services
from workflow.models import Deadline
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db

API = "/api/v1"

LIST_KEYS = {
    "id", "number", "kind", "title", "category", "source", "risk", "stage", "village", "responsible_unit",
    "lead_department_id", "assignee_id", "reported_at", "next_due_at", "overdue", "updated_at",
}
DETAIL_KEYS = LIST_KEYS | {
    "petition_type", "summary", "people_involved", "amount", "is_group", "is_legacy", "is_repeat",
    "lead_department", "co_departments", "leader_id", "review_level", "closure", "outcome", "satisfaction",
    "accepted_at", "resolved_at", "closed_at",
    "parties", "deadlines", "operations", "occurred_at", "occurred_place",
}
UNIT_KEYS = {"id", "code", "name", "level"}
PAGE_KEYS = {"next", "previous", "results"}


def api(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def all_ids(client: APIClient, url: str, params: dict[str, Any] | None = None) -> list[int]:
    """Every id of a paginated list, following `next`."""
    found: list[int] = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        found += ids(response)
        following = response.json()["next"]
        if following is None:
            return found
        response = client.get(following)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and {"code", "message"} <= set(body), body
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def snapshot(case: Case) -> dict[str, Any]:
    """What an error must leave untouched."""
    case = Case.objects.get(pk=case.pk)
    return {
        "case": (case.stage, case.assignee_id, case.lead_department_id, case.responsible_unit_id, case.outcome,
                 case.closed_at),
        "events": list(CaseEvent.objects.filter(case=case).values_list("pk", "kind")),
        "deadlines": list(Deadline.objects.filter(case=case).order_by("pk").values_list(
            "pk", "kind", "due_at", "met_at", "paused_at", "extended_by", "excluded")),
        "notifications": Notification.objects.count(),
        "cases": Case.objects.count(),
    }


# --- cases: list ------------------------------------------------------------------


@pytest.fixture
def spread(cast: Cast) -> dict[str, Case]:
    """Cases across villages, townships, kinds and stages; two registered just now, the
    rest in March (so long overdue)."""
    now = timezone.now()
    march = report(cast, at=local(2026, 3, 2, 9))
    fresh = report(cast, actor=cast.bob, village=cast.xiling.pk, at=now - timedelta(minutes=5),
                   category="neighbours", source="visit", risk="significant")
    petition = report(cast, at=local(2026, 3, 2, 10), **PETITION)
    services.transition(petition, "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    taoyuan = report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 4, 9),
                     risk="major", source="12345")
    closed = report(cast, at=now - timedelta(minutes=10))
    services.transition(closed, "reject", actor=cast.olga, at=now - timedelta(minutes=9), data={"reason": "重复登记。"})
    accusation = report(cast, actor=cast.cora, kind="petition", petition_type="accusation",
                        accused_unit=cast.liulin.pk, responsible_unit=cast.county.pk, village="",
                        category="village_affairs", source="letter", at=local(2026, 3, 5, 9))
    return {"march": march, "fresh": fresh, "petition": petition, "taoyuan": taoyuan, "closed": closed,
            "accusation": accusation}


@pytest.mark.parametrize("username", ["alice", "olga", "carl", "hans"])
def test_the_case_list_holds_exactly_the_cases_the_user_may_see(cast, spread, username):
    user = getattr(cast, username)
    listed = all_ids(api(user), f"{API}/cases/")
    assert sorted(listed) == sorted(visible_to(user).values_list("pk", flat=True))
    assert len(listed) == len(set(listed))
    expected = {"alice": {"march", "petition", "closed"},
                "olga": {"march", "fresh", "petition", "closed"},
                "carl": set(spread),
                "hans": set()}[username]
    assert set(listed) == {spread[name].pk for name in expected}


def test_each_listed_case_shows_its_row_in_the_database(cast, spread):
    response = api(cast.carl).get(f"{API}/cases/")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == PAGE_KEYS
    assert len(body["results"]) == visible_to(cast.carl).count() == len(spread)
    now = timezone.now()
    for row in body["results"]:
        assert set(row) == LIST_KEYS
        case = Case.objects.get(pk=row["id"])
        assert (row["number"], row["kind"], row["title"], row["category"], row["source"], row["risk"], row["stage"]) \
            == (case.number, case.kind, case.title, case.category, case.source, case.risk, case.stage)
        assert row["responsible_unit"] == {"id": case.responsible_unit.pk, "code": case.responsible_unit.code,
                                           "name": case.responsible_unit.name,
                                           "level": case.responsible_unit.level}
        assert (row["village"] or {}).get("id") == case.village_id
        assert (row["lead_department_id"], row["assignee_id"]) == (case.lead_department_id, case.assignee_id)
        assert when(row["reported_at"]) == case.reported_at
        open_dues = sorted(Deadline.objects.open().filter(case=case).values_list("due_at", flat=True))
        assert when(row["next_due_at"]) == (open_dues[0] if open_dues else None)
        assert row["overdue"] == any(due < now for due in open_dues)
    # Newest first unless asked otherwise.
    newest_first = visible_to(cast.carl).order_by("-reported_at")
    assert ids(response) == list(newest_first.values_list("pk", flat=True))


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"stage": "reported"}, {"march", "fresh", "taoyuan", "accusation"}),
        ({"stage": "investigating"}, {"petition"}),
        ({"stage": "closed"}, {"closed"}),
        ({"kind": "petition"}, {"petition", "accusation"}),
        ({"category": "neighbours"}, {"fresh"}),
        ({"risk": "major"}, {"taoyuan"}),
        ({"source": "12345"}, {"taoyuan"}),
        ({"unit": "taoyuan"}, {"taoyuan"}),
        ({"unit": "county"}, {"accusation"}),
        ({"village": "xiling"}, {"fresh"}),
        ({"village": "dongwan"}, {"march", "petition", "closed"}),
        ({"overdue": "true"}, {"march", "petition", "taoyuan", "accusation"}),
        ({"overdue": "false"}, {"fresh", "closed"}),
        # The petition's 60-day handling clock runs to May.
        ({"due_before": "2026-04-01T00:00:00+08:00"}, {"march", "taoyuan", "accusation"}),
        ({"due_before": "2026-06-01T00:00:00+08:00"}, {"march", "petition", "taoyuan", "accusation"}),
        ({"due_before": "2026-03-01T00:00:00+08:00"}, set()),
        # An offset Python accepts and PostgreSQL would refuse (past ±15:59): the same moment.
        ({"due_before": "2026-03-31T00:00:00-19:09"}, {"march", "taoyuan", "accusation"}),
        ({"stage": "reported", "overdue": "true", "village": "dongwan"}, {"march"}),
    ],
    ids=lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else None,
)
def test_each_filter_narrows_the_list_to_the_matching_cases(cast, spread, params, expected):
    units = {"taoyuan": cast.taoyuan, "county": cast.county, "xiling": cast.xiling, "dongwan": cast.dongwan}
    params = {k: units[v].pk if k in ("unit", "village") else v for k, v in params.items()}
    listed = all_ids(api(cast.carl), f"{API}/cases/", params)
    assert set(listed) == {spread[name].pk for name in expected}
    assert len(listed) == len(expected)


def test_the_overdue_and_due_before_filters_agree_with_the_open_deadlines(cast, spread):
    moment = local(2026, 4, 1)
    by_deadlines = set(Deadline.objects.open().filter(due_at__lt=moment).values_list("case_id", flat=True))
    listed = all_ids(api(cast.carl), f"{API}/cases/", {"due_before": moment.isoformat()})
    assert set(listed) == by_deadlines
    overdue = set(Deadline.objects.open().filter(due_at__lt=timezone.now()).values_list("case_id", flat=True))
    assert set(all_ids(api(cast.carl), f"{API}/cases/", {"overdue": "true"})) == overdue


def test_filters_never_widen_what_the_user_may_see(cast, spread):
    # 南山村 belongs to 桃源镇: olga asking for it by unit or village gets nothing.
    client = api(cast.olga)
    assert all_ids(client, f"{API}/cases/", {"unit": cast.taoyuan.pk}) == []
    assert all_ids(client, f"{API}/cases/", {"village": cast.nanshan.pk}) == []
    assert all_ids(client, f"{API}/cases/", {"kind": "petition"}) == [spread["petition"].pk]


@pytest.mark.parametrize("ordering", ["number", "-number", "reported_at", "-reported_at"])
def test_the_list_is_ordered_as_asked(cast, spread, ordering):
    listed = all_ids(api(cast.carl), f"{API}/cases/", {"ordering": ordering})
    in_db = list(visible_to(cast.carl).order_by(ordering).values_list("pk", flat=True))
    assert listed == in_db


@pytest.mark.parametrize("ordering", ["next_due_at", "-next_due_at"])
def test_the_list_by_nearest_deadline_puts_cases_without_one_last(cast, spread, ordering):
    listed = all_ids(api(cast.carl), f"{API}/cases/", {"ordering": ordering})
    visible = set(visible_to(cast.carl).values_list("pk", flat=True))
    nearest: dict[int, Any] = {}
    for case_id, due in Deadline.objects.filter(met_at__isnull=True, case_id__in=visible).values_list(
            "case_id", "due_at"):
        nearest[case_id] = min(due, nearest.get(case_id, due))
    assert nearest and visible - set(nearest), "the spread has cases with and without an open deadline"
    sign = -1 if ordering.startswith("-") else 1
    with_due = sorted(nearest, key=lambda pk: (sign * nearest[pk].timestamp(), pk))
    assert listed == with_due + sorted(visible - set(nearest))


@pytest.mark.parametrize("ordering", ["stage", "-risk"])
def test_ordering_by_a_shared_value_groups_the_cases_by_it(cast, spread, ordering):
    # Ties have no defined order (the filter adds no tie-breaker); only the key is checked.
    field = ordering.lstrip("-")
    listed = all_ids(api(cast.carl), f"{API}/cases/", {"ordering": ordering})
    values = [getattr(Case.objects.get(pk=pk), field) for pk in listed]
    assert values == sorted(values, reverse=ordering.startswith("-"))
    assert sorted(listed) == sorted(c.pk for c in spread.values())


@pytest.mark.parametrize(
    "params, field",
    [
        ({"due_before": "notadate"}, "due_before"),
        ({"stage": "nonsense"}, "stage"),
        ({"kind": "lawsuit"}, "kind"),
        ({"category": "x"}, "category"),
        ({"risk": "extreme"}, "risk"),
        ({"source": "rumour"}, "source"),
        ({"village": "abc"}, "village"),
        ({"unit": "abc"}, "unit"),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else None,
)
def test_an_invalid_filter_value_is_a_400_naming_the_filter(cast, spread, params, field):
    body = assert_error(api(cast.carl).get(f"{API}/cases/", params), 400, "invalid")
    assert field in body["errors"]


def test_an_invalid_overdue_value_is_a_400(cast, spread):
    body = assert_error(api(cast.carl).get(f"{API}/cases/", {"overdue": "maybe"}), 400, "invalid")
    assert "overdue" in body["errors"]


SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


@pytest.mark.parametrize("params", [{"village": "1e30"}, {"unit": "99999999999999999999"}, {"village": "-1e30"}],
                         ids=["village=1e30", "unit=2^66", "village=-1e30"])
def test_an_out_of_range_unit_or_village_is_not_a_server_error(cast, spread, params):
    client = api(cast.carl)
    client.raise_request_exception = False
    response = client.get(f"{API}/cases/", params)
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        assert response.json()["results"] == []


def test_page_numbers_are_refused_for_the_cursor(cast, spread):
    body = assert_error(api(cast.carl).get(f"{API}/cases/", {"page": 99}), 400, "invalid")
    assert set(body["errors"]) == {"page"}


def many_cases(cast: Cast, n: int, start: int = 0) -> list[Case]:
    return [report(cast, at=local(2026, 3, 2, 9) + timedelta(minutes=start + i), title=f"纠纷 {start + i}")
            for i in range(n)]


def test_the_list_costs_the_same_number_of_queries_for_5_or_20_cases(cast):
    client = api(cast.olga)
    client.get(f"{API}/cases/")  # warm: the token row, content types, permissions
    many_cases(cast, 5)
    with CaptureQueriesContext(connection) as five:
        response = client.get(f"{API}/cases/")
    assert len(response.json()["results"]) == 5
    many_cases(cast, 20, start=5)
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(f"{API}/cases/")
    assert len(response.json()["results"]) == 20
    assert len(twenty) == len(five), [q["sql"] for q in twenty.captured_queries]


def test_the_list_is_paginated_with_next_and_previous(cast):
    made = many_cases(cast, 23)
    client = api(cast.olga)
    first = client.get(f"{API}/cases/").json()
    assert len(first["results"]) == 20
    assert first["previous"] is None and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 3 and second["next"] is None and second["previous"]
    assert {r["id"] for r in first["results"] + second["results"]} == {c.pk for c in made}
    assert client.get(second["previous"]).json()["results"] == first["results"]


# --- cases: detail ----------------------------------------------------------------


def test_the_detail_shows_the_case_its_open_deadlines_and_the_users_operations(cast):
    case = investigating(cast)
    assert Deadline.objects.filter(case=case, met_at__isnull=False).exists()  # acceptance was met
    response = api(cast.mia).get(f"{API}/cases/{case.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert (body["id"], body["number"], body["stage"], body["summary"]) == (case.pk, case.number, "investigating",
                                                                            case.summary)
    assert body["lead_department"]["id"] == cast.justice.pk and set(body["lead_department"]) == UNIT_KEYS
    assert body["assignee_id"] == cast.mia.pk
    assert when(body["accepted_at"]) == Case.objects.get(pk=case.pk).accepted_at

    open_rows = list(Deadline.objects.open().filter(case=case).order_by("due_at"))
    assert [d["id"] for d in body["deadlines"]] == [d.pk for d in open_rows]
    for shown, row in zip(body["deadlines"], open_rows, strict=True):
        assert (shown["kind"], when(shown["due_at"]), when(shown["started_at"]), when(shown["warn_at"])) \
            == (row.kind, row.due_at, row.started_at, row.warn_at)
        assert shown["legal_basis"] == row.legal_basis

    offered = services.available_operations(Case.objects.get(pk=case.pk), cast.mia)
    assert {op["name"] for op in body["operations"]} == {t.slug for t in offered}
    for op in body["operations"]:
        assert set(op) == {"name", "label", "fields"}
        step = next(t for t in offered if t.slug == op["name"])
        form = step.custom["form"](case=case, actor=cast.mia)
        assert [field["name"] for field in op["fields"]] == list(form.fields)
        assert all(set(field) == {"name", "label", "type", "required", "help_text", "max_length", "choices",
                                  "choices_url"} for field in op["fields"])


def test_a_viewer_is_offered_no_operations(cast):
    case = investigating(cast)
    body = api(cast.vic).get(f"{API}/cases/{case.pk}/").json()
    assert body["operations"] == []


def test_party_details_are_masked_unless_the_user_may_see_them(cast):
    case = reported(cast)
    parties = list(Party.objects.filter(case=case).order_by("pk"))
    shown_to_alice = api(cast.alice).get(f"{API}/cases/{case.pk}/").json()["parties"]
    shown_to_olga = api(cast.olga).get(f"{API}/cases/{case.pk}/").json()["parties"]
    assert [p["id_number"] for p in shown_to_alice] == [p.masked_id_number for p in parties]
    assert [p["phone"] for p in shown_to_alice] == [p.masked_phone for p in parties]
    assert PARTIES[0]["id_number"] not in json.dumps(shown_to_alice)
    assert PARTIES[0]["phone"] not in json.dumps(shown_to_alice)
    assert [(p["name"], p["role"], p["id_number"], p["phone"]) for p in shown_to_olga] \
        == [(p.name, p.role, p.id_number, p.phone) for p in parties]


def test_the_detail_of_a_case_without_village_or_lead_department_shows_nulls(cast, spread):
    body = api(cast.carl).get(f"{API}/cases/{spread['accusation'].pk}/").json()
    assert body["village"] is None and body["lead_department"] is None and body["lead_department_id"] is None


# --- cases: create ----------------------------------------------------------------


def test_creating_a_case_registers_it_with_its_parties_and_a_report_event_by_the_token_user(cast):
    payload = {**DISPUTE, "village": cast.dongwan.pk, "parties": PARTIES}
    response = api(cast.alice).post(f"{API}/cases/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DETAIL_KEYS
    case = Case.objects.get(pk=body["id"])
    assert body["number"] == case.number and case.number.startswith("QY-LL-")
    assert (case.stage, case.kind, case.title, case.category, case.source) \
        == ("reported", "dispute", DISPUTE["title"], DISPUTE["category"], DISPUTE["source"])
    assert (case.village_id, case.responsible_unit_id, case.reporter_id) == (cast.dongwan.pk, cast.liulin.pk,
                                                                            cast.alice.pk)
    assert str(case.amount) == DISPUTE["amount"] and case.people_involved == DISPUTE["people_involved"]
    assert sorted(Party.objects.filter(case=case).values_list("name", "role", "id_number", "phone")) \
        == sorted((p["name"], p["role"], p["id_number"], p["phone"]) for p in PARTIES)
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.actor_id, event.to_stage) == ("report", cast.alice.pk, "reported")
    opened = Deadline.objects.open().filter(case=case).order_by("due_at")
    assert [d["id"] for d in body["deadlines"]] == list(opened.values_list("pk", flat=True))
    assert body["deadlines"]


def test_creating_a_petition_without_its_type_is_refused_like_the_intake_page(cast):
    payload = {**PETITION, "village": cast.dongwan.pk, "petition_type": "", "parties": PARTIES}
    body = assert_error(api(cast.alice).post(f"{API}/cases/", payload, format="json"), 400, "invalid")
    assert "petition_type" in body["errors"]
    assert Case.objects.count() == Party.objects.count() == CaseEvent.objects.count() == 0


@pytest.mark.parametrize(
    "parties, field",
    [
        ([], "parties"),
        ([{**PARTIES[0], "id_number": "110105194912310021"}], "parties[1].id_number"),
        ([PARTIES[0], {**PARTIES[1], "phone": "12345"}], "parties[2].phone"),
    ],
    ids=["no parties", "bad id number", "bad phone"],
)
def test_creating_a_case_with_invalid_parties_is_a_400_and_stores_nothing(cast, parties, field):
    payload = {**DISPUTE, "village": cast.dongwan.pk, "parties": parties}
    body = assert_error(api(cast.alice).post(f"{API}/cases/", payload, format="json"), 400, "invalid")
    assert field in body["errors"], body
    assert Case.objects.count() == Party.objects.count() == CaseEvent.objects.count() == Deadline.objects.count() == 0


def test_creating_a_case_for_a_village_out_of_reach_is_a_403_and_stores_nothing(cast):
    payload = {**DISPUTE, "village": cast.nanshan.pk, "parties": PARTIES}
    assert_error(api(cast.alice).post(f"{API}/cases/", payload, format="json"), 403, "forbidden")
    assert Case.objects.count() == CaseEvent.objects.count() == 0


def test_creating_a_case_with_the_wrong_types_is_a_400(cast):
    payload = {**DISPUTE, "village": "东湾村", "people_involved": "many", "parties": PARTIES}
    body = assert_error(api(cast.alice).post(f"{API}/cases/", payload, format="json"), 400, "invalid")
    assert {"village", "people_involved"} <= set(body["errors"])
    assert Case.objects.count() == 0


def test_creating_a_case_from_a_multipart_form_without_its_json_part_is_a_400(cast):
    # Multipart carries a registration as JSON in the part "data" (with a settlement's
    # signed agreement beside it); flat form fields are no registration.
    payload = {**DISPUTE, "village": cast.dongwan.pk, "parties[0]name": "张三", "parties[0]role": "applicant"}
    response = api(cast.alice).post(f"{API}/cases/", payload, format="multipart")
    assert_error(response, 400, "parse_error")
    assert Case.objects.count() == 0


# --- cases: events ----------------------------------------------------------------


def test_the_events_list_is_the_case_audit_trail_in_order(cast):
    case = investigating(cast)
    services.transition(case, "note", actor=cast.lena, data={"text": "已电话联系。"}, at=local(2026, 3, 4, 9))
    response = api(cast.olga).get(f"{API}/cases/{case.pk}/events/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_KEYS and len(body["results"]) == 3
    rows = list(CaseEvent.objects.filter(case=case).order_by("at", "pk"))
    assert [set(e) for e in body["results"]] == [{"id", "kind", "from_stage", "to_stage", "actor", "at", "data"}] * 3
    assert [(e["id"], e["kind"], e["from_stage"], e["to_stage"], e["actor"], when(e["at"]), e["data"])
            for e in body["results"]] \
        == [(r.pk, r.kind, r.from_stage, r.to_stage, r.actor.username, r.at, r.data) for r in rows]
    assert [e["kind"] for e in body["results"]] == ["report", "accept", "note"]


def test_a_system_event_has_no_actor(cast):
    case = services.transition(reported(cast), "reject", actor=None, data={"reason": "系统导入：重复登记。"})
    events = api(cast.olga).get(f"{API}/cases/{case.pk}/events/").json()["results"]
    assert events[-1]["kind"] == "reject" and events[-1]["actor"] is None


# --- transitions ------------------------------------------------------------------


def test_a_transition_applies_the_operation_and_answers_with_the_case(cast):
    case = reported(cast)
    payload = {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}
    response = api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/accept/", payload, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == DETAIL_KEYS
    case.refresh_from_db()
    assert (body["stage"], case.stage) == ("investigating", "investigating")
    assert (case.assignee_id, case.lead_department_id) == (cast.mia.pk, cast.justice.pk)
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert (event.kind, event.actor_id, event.from_stage, event.to_stage) \
        == ("accept", cast.olga.pk, "reported", "investigating")
    assert [d["kind"] for d in body["deadlines"]] == list(
        Deadline.objects.open().filter(case=case).order_by("due_at").values_list("kind", flat=True))
    assert "accept" not in {op["name"] for op in body["operations"]}


def test_a_form_encoded_transition_is_refused_as_unsupported_and_changes_nothing(cast):
    # Form encoding makes every value a list (a note would be stored as "['hello']"):
    # the API speaks JSON only.
    case = investigating(cast)
    events = CaseEvent.objects.filter(case=case).count()
    response = api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/note/", "text=hello",
                                   content_type="application/x-www-form-urlencoded")
    assert_error(response, 415)
    assert CaseEvent.objects.filter(case=case).count() == events


def test_an_operation_that_takes_the_case_out_of_reach_still_answers_without_a_server_error(cast):
    townwide = report(cast, actor=cast.olga, village="", responsible_unit=cast.liulin.pk)
    client = api(cast.olga)
    client.raise_request_exception = False
    response = client.post(f"{API}/cases/{townwide.pk}/transitions/escalate/", {"reason": "需县级协调。"},
                           format="json")
    # The escalation happened either way.
    townwide.refresh_from_db()
    assert (townwide.stage, townwide.responsible_unit_id) == ("escalated", cast.county.pk)
    assert CaseEvent.objects.filter(case=townwide, kind="escalate", actor=cast.olga).exists()
    assert response.status_code < 500, response.status_code


# --- error codes: nothing changed -------------------------------------------------


def test_invalid_transition_data_is_a_400_with_field_errors_and_nothing_changed(cast):
    case = reported(cast)
    before = snapshot(case)
    body = assert_error(api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/accept/",
                                            {"assignee": 999999}, format="json"), 400, "invalid")
    assert {"assignee", "lead_department"} <= set(body["errors"])
    assert all(isinstance(m, list) and m for m in body["errors"].values())
    assert snapshot(case) == before


def test_an_operation_the_user_may_not_take_on_a_visible_case_is_a_403_and_nothing_changed(cast):
    case = reported(cast)
    before = snapshot(case)
    payload = {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}
    for username in ["vic", "alice", "sam", "mia"]:
        assert_error(api(getattr(cast, username)).post(f"{API}/cases/{case.pk}/transitions/accept/", payload,
                                                       format="json"), 403, "forbidden")
    assert snapshot(case) == before


def test_an_invisible_case_is_a_404_for_transition_detail_and_events_and_nothing_changed(cast):
    case = reported(cast)
    before = snapshot(case)
    client = api(cast.nina)
    payload = {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}
    accept = assert_error(client.post(f"{API}/cases/{case.pk}/transitions/accept/", payload, format="json"), 404)
    detail = assert_error(client.get(f"{API}/cases/{case.pk}/"), 404)
    events = assert_error(client.get(f"{API}/cases/{case.pk}/events/"), 404)
    # The answer for a case out of reach is the answer for a case that does not exist.
    missing = assert_error(client.get(f"{API}/cases/{case.pk + 1000}/"), 404)
    assert detail == missing
    assert accept["code"] == events["code"] == detail["code"] == "not_found"
    assert snapshot(case) == before


def test_an_invisible_case_in_the_wrong_stage_is_still_a_404_not_a_409(cast):
    case = investigating(cast)
    before = snapshot(case)
    payload = {"assignee": cast.owen.pk, "lead_department": cast.police.pk}
    assert_error(api(cast.owen).post(f"{API}/cases/{case.pk}/transitions/accept/", payload, format="json"), 404)
    assert snapshot(case) == before


@pytest.mark.parametrize("path", ["/cases/abc/", "/cases/abc/events/", "/cases/abc/transitions/note/",
                                  "/cases/99999999999999999999999/", "/cases/-1/transitions/note/"])
def test_a_case_id_that_is_not_a_case_is_a_json_404(cast, path):
    case = reported(cast)
    before = snapshot(case)
    client = api(cast.olga)
    response = client.post(f"{API}{path}", {"text": "?"}, format="json") if "transitions" in path \
        else client.get(f"{API}{path}")
    assert_error(response, 404)
    assert snapshot(case) == before


def test_an_operation_from_the_wrong_stage_is_a_409_naming_the_stage_and_nothing_changed(cast):
    case = investigating(cast)
    before = snapshot(case)
    payload = {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}
    body = assert_error(api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/accept/", payload, format="json"),
                        409, "wrong_stage")
    assert body["stage"] == "investigating"
    assert snapshot(case) == before


def test_an_unknown_operation_is_a_json_error_and_nothing_changed(cast):
    case = reported(cast)
    before = snapshot(case)
    assert_error(api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/fly/", {}, format="json"), 400,
                 "unknown_operation")
    assert snapshot(case) == before


@pytest.mark.parametrize(
    "body, content_type",
    [("[1, 2]", "application/json"), ('"accept"', "application/json"), ("null", "application/json"),
     ("not json", "application/json"), ("{\"assignee\": ", "application/json")],
    ids=["a JSON list", "a JSON string", "null", "not JSON", "truncated JSON"],
)
def test_a_malformed_transition_body_is_a_json_400_and_nothing_changed(cast, body, content_type):
    case = reported(cast)
    before = snapshot(case)
    assert_error(api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/accept/", body, content_type=content_type),
                 400)
    assert snapshot(case) == before


@pytest.mark.parametrize("body", ["[1, 2]", '"case"', "null", "not json", "{\"kind\": "],
                         ids=["a JSON list", "a JSON string", "null", "not JSON", "truncated JSON"])
def test_a_malformed_create_body_is_a_json_400_and_stores_nothing(cast, body):
    assert_error(api(cast.alice).post(f"{API}/cases/", body, content_type="application/json"), 400)
    assert Case.objects.count() == CaseEvent.objects.count() == 0


# --- notifications ----------------------------------------------------------------


@pytest.fixture
def inbox(cast: Cast) -> dict[str, Notification]:
    case = reported(cast)
    # The news of the report itself (tests/workflow/test_report_news.py) is not part of
    # this inbox.
    Notification.objects.filter(kind="report").delete()
    now = timezone.now()

    def note(user: Any, level: str, read: bool = False) -> Notification:
        return Notification.objects.create(user=user, kind="sweep", level=level, text=f"{user.username} {level}",
                                           case=case, created_at=now, read_at=now if read else None)

    return {
        "olga_warning": note(cast.olga, "warning"),
        "olga_overdue_read": note(cast.olga, "overdue", read=True),
        "mia_warning": note(cast.mia, "warning"),
        "olga_overdue": note(cast.olga, "overdue"),
    }


def test_the_notifications_list_holds_only_the_users_own(cast, inbox):
    response = api(cast.olga).get(f"{API}/notifications/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_KEYS
    mine = list(Notification.objects.filter(user=cast.olga).order_by("-pk"))
    assert ids(response) == [n.pk for n in mine]
    for row, n in zip(body["results"], mine, strict=True):
        assert set(row) == {"id", "kind", "level", "case_id", "deadline_id", "text", "created_at", "delivered_at",
                            "read_at"}
        assert (row["kind"], row["level"], row["case_id"], row["text"], when(row["read_at"])) \
            == (n.kind, n.level, n.case_id, n.text, n.read_at)
    assert ids(api(cast.mia).get(f"{API}/notifications/")) == [inbox["mia_warning"].pk]
    assert ids(api(cast.hans).get(f"{API}/notifications/")) == []


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"unread": "true"}, {"olga_warning", "olga_overdue"}),
        ({"unread": "false"}, {"olga_overdue_read"}),
        ({"level": "overdue"}, {"olga_overdue_read", "olga_overdue"}),
        ({"after": "olga_overdue_read"}, {"olga_overdue"}),
        ({"after": "olga_overdue_read", "unread": "true"}, {"olga_overdue"}),
        ({"after": "olga_overdue"}, set()),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else None,
)
def test_the_notification_filters_narrow_to_the_matching_rows(cast, inbox, params, expected):
    params = {k: inbox[v].pk if k == "after" else v for k, v in params.items()}
    assert set(ids(api(cast.olga).get(f"{API}/notifications/", params))) == {inbox[n].pk for n in expected}


@pytest.mark.parametrize("params", [{"after": "x"}, {"level": "purple"}], ids=["after=x", "level=purple"])
def test_an_invalid_notification_filter_is_a_400(cast, inbox, params):
    assert_error(api(cast.olga).get(f"{API}/notifications/", params), 400, "invalid")


def test_an_invalid_unread_value_is_a_400(cast, inbox):
    assert_error(api(cast.olga).get(f"{API}/notifications/", {"unread": "maybe"}), 400, "invalid")


def test_marking_a_notification_read_sets_read_at_once(cast, inbox):
    target = inbox["olga_warning"]
    client = api(cast.olga)
    response = client.post(f"{API}/notifications/{target.pk}/read/")
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.read_at is not None
    assert response.json()["id"] == target.pk and when(response.json()["read_at"]) == target.read_at
    first = target.read_at
    client.post(f"{API}/notifications/{target.pk}/read/")
    target.refresh_from_db()
    assert target.read_at == first
    # The others are untouched.
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


@pytest.mark.parametrize("which", ["mia_warning", "missing", "abc"])
def test_marking_someone_elses_or_no_notification_read_is_a_404_and_nothing_changed(cast, inbox, which):
    target = {"mia_warning": inbox["mia_warning"].pk, "missing": 99999999, "abc": "abc"}[which]
    before = list(Notification.objects.order_by("pk").values_list("pk", "read_at"))
    assert_error(api(cast.olga).post(f"{API}/notifications/{target}/read/"), 404)
    assert list(Notification.objects.order_by("pk").values_list("pk", "read_at")) == before


# --- reference data ---------------------------------------------------------------


@pytest.mark.parametrize("path, choices", [("categories", Category.choices), ("sources", Source.choices)])
def test_the_reference_lists_are_the_model_choices(cast, path, choices):
    response = api(cast.alice).get(f"{API}/{path}/")
    assert response.status_code == 200
    assert response.json() == [{"value": value, "label": str(label)} for value, label in choices]


@pytest.mark.parametrize(
    "username, expected",
    [
        ("alice", ["dongwan"]),
        ("bob", ["xiling"]),
        ("olga", ["liulin", "dongwan", "xiling"]),
        ("carl", ["county", "liulin", "taoyuan", "dongwan", "xiling", "nanshan"]),
        ("hans", []),
        ("vic", []),
    ],
)
def test_the_units_are_those_the_user_may_report_for(cast, username, expected):
    response = api(getattr(cast, username)).get(f"{API}/units/")
    assert response.status_code == 200
    body = response.json()
    assert all(set(u) == UNIT_KEYS for u in body)
    assert sorted(u["id"] for u in body) == sorted(getattr(cast, name).pk for name in expected)
    assert all(u["level"] != "department" for u in body)


def test_each_unit_offered_is_accepted_when_reporting(cast):
    for username in ["alice", "olga"]:
        client = api(getattr(cast, username))
        for unit in client.get(f"{API}/units/").json():
            target = {"village": unit["id"]} if unit["level"] == "village" else {"village": None,
                                                                                 "responsible_unit": unit["id"]}
            response = client.post(f"{API}/cases/", {**DISPUTE, **target, "parties": PARTIES,
                                                             "repeats_seen": True}, format="json")
            assert response.status_code == 201, (username, unit, response.content)


# --- schema and docs --------------------------------------------------------------

PATHS = {
    "/api/v1/auth/token/": {"post", "delete"},
    "/api/v1/auth/tokens/": {"get"},
    "/api/v1/auth/tokens/{handle}/": {"delete"},
    "/api/v1/cases/": {"get", "post"},
    "/api/v1/cases/{id}/": {"get"},
    "/api/v1/cases/{id}/events/": {"get"},
    # Each operation of the state machine at its own path (issue 19).
    **{f"/api/v1/cases/{{id}}/transitions/{name}/": {"post"} for name in flow.operations()},
    "/api/v1/cases/{id}/operations/{name}/choices/": {"get"},
    "/api/v1/cases/{id}/documents/": {"get"},
    "/api/v1/cases/{id}/documents/{document_id}/": {"get"},
    "/api/v1/me/": {"get"},
    "/api/v1/departments/": {"get"},
    "/api/v1/notifications/": {"get"},
    "/api/v1/notifications/{id}/read/": {"post"},
    "/api/v1/categories/": {"get"},
    "/api/v1/sources/": {"get"},
    "/api/v1/units/": {"get"},
    "/api/v1/visits/": {"get", "post"},
    # The screening returns and the pages' figures (issue 19).
    "/api/v1/returns/": {"get", "post"},
    "/api/v1/ledgers/{kind}/": {"get"},
    "/api/v1/monthly-table/": {"get"},
    "/api/v1/assessment/": {"get"},
    "/api/v1/meeting/": {"get"},
}


def test_the_schema_is_openapi_3_with_every_path(cast):
    response = api(cast.alice).get(f"{API}/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert str(schema["openapi"]).startswith("3.")
    assert {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()} == PATHS
    as_json = api(cast.alice).get(f"{API}/schema/", {"format": "json"})
    assert as_json.status_code == 200 and "json" in as_json["Content-Type"]
    assert json.loads(as_json.content) == schema
    for name in flow.operations():
        transition = schema["paths"][f"/api/v1/cases/{{id}}/transitions/{name}/"]["post"]
        assert transition["operationId"] == f"cases_transitions_{name}"
        assert {"400", "403", "404", "409"} <= set(transition["responses"])


def published_schema() -> dict[str, Any]:
    return yaml.safe_load(APIClient().get(f"{API}/schema/").content)


def documented_parameters(path: str, method: str = "get") -> dict[str, dict[str, Any]]:
    operation = published_schema()["paths"][path][method]
    return {p["name"]: p.get("schema", {}) for p in operation.get("parameters", [])}


@pytest.mark.parametrize(
    "path, name, expected",
    [
        ("/api/v1/cases/", "overdue", {"type": "boolean"}),
        ("/api/v1/cases/", "unit", {"type": "integer"}),
        ("/api/v1/cases/", "village", {"type": "integer"}),
        ("/api/v1/cases/", "due_before", {"type": "string", "format": "date-time"}),
        ("/api/v1/notifications/", "unread", {"type": "boolean"}),
        ("/api/v1/notifications/", "after", {"type": "integer"}),
    ],
    ids=["cases overdue", "cases unit", "cases village", "cases due_before", "notifications unread",
         "notifications after"],
)
def test_each_filter_is_documented_with_the_type_the_api_accepts(cast, path, name, expected):
    documented = documented_parameters(path)[name]
    assert {key: documented.get(key) for key in expected} == expected, documented


def test_the_events_list_documents_only_its_own_parameters(cast):
    assert set(documented_parameters("/api/v1/cases/{id}/events/")) == {"id", "cursor", "page_size"}


def test_every_error_status_the_api_answers_is_documented(cast):
    missing = []
    for path, operations in published_schema()["paths"].items():
        for method, operation in operations.items():
            anonymous_allowed = {} in operation.get("security", [])
            expected = set() if anonymous_allowed else {"401"}
            if method == "get" and path in ("/api/v1/cases/", "/api/v1/notifications/", "/api/v1/visits/"):
                expected |= {"400"}  # a query parameter it does not read, or a value it cannot
            missing += [f"{method.upper()} {path} {code}" for code in sorted(expected - set(operation["responses"]))]
    assert missing == []


def test_the_docs_page_uses_only_local_assets(cast):
    response = APIClient().get(f"{API}/docs/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assets = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert len(assets) >= 3, assets
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    for asset in assets:
        assert asset.startswith("/" + settings.STATIC_URL.lstrip("/"))
        assert finders.find(asset.split("/static/", 1)[1]), asset
    assert f"{API}/schema/" in page


# --- token login ------------------------------------------------------------------


def login(username: str, password: str) -> Any:
    return APIClient().post(f"{API}/auth/token/", {"username": username, "password": password}, format="json")


def test_a_token_login_returns_a_token_that_authenticates(cast):
    response = login("olga", "pw-olga")
    assert response.status_code == 200
    assert set(response.json()) == {"token", "id", "device", "created", "expiry"}
    token = response.json()["token"]
    # Only a hash is kept: the token itself is nowhere in the database.
    stored = DeviceToken.objects.get(user=cast.olga)
    assert token not in (stored.digest, stored.token_key) and stored.handle == response.json()["id"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(f"{API}/cases/").status_code == 200
    # Logging in again, from another device, gives another token; the first still works.
    assert login("olga", "pw-olga").json()["token"] != token
    assert client.get(f"{API}/cases/").status_code == 200


def test_a_wrong_password_is_a_json_400_and_no_token(cast):
    assert_error(login("olga", "wrong"), 400, "invalid_credentials")
    assert_error(login("nobody", "pw-olga"), 400, "invalid_credentials")
    assert not DeviceToken.objects.exists()


def test_a_login_without_fields_is_a_json_400_naming_them(cast):
    body = assert_error(APIClient().post(f"{API}/auth/token/", {}, format="json"), 400, "invalid")
    assert {"username", "password"} <= set(body["errors"])


def test_after_too_many_failures_even_the_right_password_is_refused_with_429(cast):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert_error(login("olga", "guess"), 400)
    refused = login("olga", "pw-olga")
    assert_error(refused, 429)
    assert int(refused["Retry-After"]) > 0
    assert not DeviceToken.objects.filter(user=cast.olga).exists()


def test_failures_from_one_address_across_usernames_are_throttled_too(cast):
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        assert_error(login(f"guess{i}", "guess"), 400)
    assert_error(login("mia", "pw-mia"), 429)


def test_the_refusal_lifts_once_the_window_has_passed(cast):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        login("olga", "guess")
    assert_error(login("olga", "pw-olga"), 429)
    LoginFailure.objects.update(at=F("at") - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW))
    assert login("olga", "pw-olga").status_code == 200


def test_logging_out_makes_the_token_stop_working(cast):
    token = login("olga", "pw-olga").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.delete(f"{API}/auth/token/").status_code == 204
    assert not DeviceToken.objects.exists()
    assert_error(client.get(f"{API}/cases/"), 401)


@pytest.mark.parametrize(
    "method, path",
    [("get", "/cases/"), ("post", "/cases/"), ("get", "/cases/1/"), ("get", "/cases/1/events/"),
     ("post", "/cases/1/transitions/accept/"), ("get", "/notifications/"), ("post", "/notifications/1/read/"),
     ("get", "/categories/"), ("get", "/sources/"), ("get", "/units/"), ("delete", "/auth/token/")],
)
def test_unauthenticated_requests_get_a_json_401(cast, method, path):
    case = reported(cast)
    before = snapshot(case)
    anonymous = getattr(APIClient(), method)(f"{API}{path}", format="json")
    assert_error(anonymous, 401, "not_authenticated")
    bogus = APIClient()
    bogus.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert_error(getattr(bogus, method)(f"{API}{path}", format="json"), 401)
    assert snapshot(case) == before


def _grant_reads(statements: CaptureQueriesContext) -> int:
    """The reads of one person's grants on cases (workflow.permissions.grants_for_cases)."""
    return sum(1 for q in statements.captured_queries if q["sql"].startswith("SELECT 'm', 0, m.role"))


def test_the_detail_reads_the_users_grants_once(cast):
    case = investigating(cast)
    with CaptureQueriesContext(connection) as statements:
        response = api(cast.mia).get(f"{API}/cases/{case.pk}/")
    assert response.status_code == 200 and response.json()["operations"]
    assert _grant_reads(statements) == 1


def test_a_transition_reads_the_actors_grants_once_before_and_once_after(cast):
    case = investigating(cast)
    with CaptureQueriesContext(connection) as statements:
        response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/note/", {"text": "电话联系当事人。"},
                                      format="json")
    assert response.status_code == 200, response.content
    assert Case.objects.get(pk=case.pk).events.filter(kind="note").exists()
    assert _grant_reads(statements) == 2
