"""One format on the wire (issue 19): JSON said as UTF-8, every moment RFC 3339 with six
fraction digits and the offset, a list's query refused when it names a parameter or an
ordering the list does not read, and every refusal of a request's shape in the business
rules' flat form, counted from 1."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, Party
from notifications.models import Notification
from tests.conftest import DISPUTE, PARTIES, Cast, local, report, step, token_for

pytestmark = pytest.mark.django_db

API = "/api/v1"
JSON_UTF8 = "application/json; charset=utf-8"
MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")
LOOKS_LIKE_A_MOMENT = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 20, 10), tick=False)


def api(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def test_every_json_answer_says_utf_8(cast: Cast) -> None:
    case = report(cast)
    client = api(cast.olga)
    answers = {
        "list": client.get(f"{API}/cases/"),
        "detail": client.get(f"{API}/cases/{case.pk}/"),
        "invalid": client.post(f"{API}/cases/", {}, format="json"),
        "not found": client.get(f"{API}/cases/999999/"),
        "unknown parameter": client.get(f"{API}/cases/", {"stag": "closed"}),
        "not json": client.post(f"{API}/cases/", "a=b", content_type="application/x-www-form-urlencoded"),
        "not logged in": api().get(f"{API}/cases/"),
        "reference": client.get(f"{API}/sources/"),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {"list": 200, "detail": 200, "invalid": 400, "not found": 404, "unknown parameter": 400,
                        "not json": 415, "not logged in": 401, "reference": 200}
    assert {name: response["Content-Type"] for name, response in answers.items()} == dict.fromkeys(answers, JSON_UTF8)
    # Chinese text as UTF-8 itself, not escaped.
    assert "东湾村".encode() in answers["detail"].content


def test_a_body_too_large_is_a_json_413_said_as_utf_8(cast: Cast, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api(cast.alice).post(f"{API}/cases/", {**DISPUTE, "summary": "长" * 2000, "parties": PARTIES},
                                    format="json")
    assert (response.status_code, response["Content-Type"], response.json()["code"]) == (413, JSON_UTF8, "too_large")
    assert not Case.objects.exists()


def test_moments_have_six_fraction_digits_and_the_offset_whether_or_not_they_have_microseconds(cast: Cast) -> None:
    whole = report(cast, at=local(2026, 3, 2, 9, 0, 0))
    fraction = report(cast, at=local(2026, 3, 2, 9, 0, 0, 120000))
    step(whole, "note", cast.olga, local(2026, 3, 3, 9, 30, 15, 7), text="已联系。")
    reminder = Notification.objects.create(user=cast.olga, kind="sweep", level="warning", text="提醒", case=whole,
                                           created_at=local(2026, 3, 4, 8, 0, 0))
    client = api(cast.olga)
    listed = {row["id"]: row for row in client.get(f"{API}/cases/").json()["results"]}
    assert listed[whole.pk]["reported_at"] == "2026-03-02T09:00:00.000000+08:00"
    assert listed[fraction.pk]["reported_at"] == "2026-03-02T09:00:00.120000+08:00"
    assert client.get(f"{API}/cases/{fraction.pk}/").json()["reported_at"] == "2026-03-02T09:00:00.120000+08:00"
    events = client.get(f"{API}/cases/{whole.pk}/events/").json()["results"]
    assert [e["at"] for e in events] == ["2026-03-02T09:00:00.000000+08:00", "2026-03-03T09:30:15.000007+08:00"]
    assert {n["id"]: n["created_at"] for n in client.get(f"{API}/notifications/").json()["results"]}[reminder.pk] \
        == "2026-03-04T08:00:00.000000+08:00"
    # And every other moment of these answers in the same form, the deadlines' too.
    answers = [client.get(f"{API}/cases/{whole.pk}/").json(), listed, events,
               client.get(f"{API}/notifications/").json(), client.post(f"{API}/auth/token/", {
                   "username": "olga", "password": "pw-olga"}, format="json").json()]
    moments = [s for answer in answers for s in strings(answer) if LOOKS_LIKE_A_MOMENT.match(s)]
    assert len(moments) > 10 and [m for m in moments if not MOMENT.match(m)] == []


@pytest.mark.parametrize("path, params, named", [
    ("/cases/", {"stag": "closed"}, {"stag"}),
    ("/cases/", {"stage": "closed", "page": "2", "format": "json"}, {"page", "format"}),
    ("/cases/", {"ordering": "-reported"}, {"ordering"}),
    ("/cases/", {"ordering": "reported_at,-reported_at"}, {"ordering"}),
    ("/cases/", {"ordering": ""}, {"ordering"}),
    ("/notifications/", {"unread": "true", "read": "true"}, {"read"}),
    ("/notifications/", {"ordering": "text"}, {"ordering"}),
    ("/visits/", {"villages": "1"}, {"villages"}),
    ("/cases/{id}/events/", {"kind": "note"}, {"kind"}),
], ids=["misspelt filter", "page numbers and format", "unknown ordering", "ordering twice by one field",
        "empty ordering", "notifications", "notifications ordering", "visits", "events"])
def test_a_query_parameter_or_ordering_a_list_does_not_read_is_a_400_naming_it(cast, path, params, named):
    case = report(cast)
    response = api(cast.olga).get(API + path.replace("{id}", str(case.pk)), params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and set(body["errors"]) == named, body


def test_every_documented_parameter_of_a_list_is_read(cast: Cast) -> None:
    case = report(cast)
    client = api(cast.olga)
    values = {"cursor": None, "page_size": "5", "overdue": "true", "unread": "false",
              "due_before": "2026-04-01T00:00:00+08:00", "updated_after": "2026-03-01T00:00:00+08:00",
              "after": "1", "before": "2026-04-01T00:00:00+08:00"}
    schema = client.get(f"{API}/schema/", {"format": "json"}).json()
    for path in ("/api/v1/cases/", "/api/v1/notifications/", "/api/v1/visits/", "/api/v1/cases/{id}/events/"):
        for parameter in schema["paths"][path]["get"]["parameters"]:
            name = parameter["name"]
            if parameter["in"] != "query" or values.get(name, "") is None:
                continue
            referenced = parameter["schema"].get("$ref", "").rsplit("/", 1)[-1]
            offered = parameter["schema"].get("items", {}).get("enum")
            choices = offered or (schema["components"]["schemas"][referenced]["enum"] if referenced else None)
            value = values.get(name) or (choices[-1] if choices
                                         else str(case.pk) if parameter["schema"].get("type") == "integer" else None)
            if name == "after" and path == "/api/v1/visits/":
                value = values["before"]
            response = client.get(path.replace("{id}", str(case.pk)), {name: value})
            assert response.status_code == 200, (path, name, value, response.content)


def test_shape_errors_are_flat_and_counted_from_1_like_the_business_rules(cast: Cast) -> None:
    payload = {**DISPUTE, "village": cast.dongwan.pk, "people_involved": "many",
               "parties": [PARTIES[0], {"name": "李四", "role": "bystander", "birth_date": "1980-13-01"}],
               "on_the_spot": {"lead_department": "司法所", "outcome": "agreement_oral", "summary": "已调解。"}}
    response = api(cast.olga).post(f"{API}/cases/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and isinstance(body["message"], str)
    assert sorted(body["errors"]) == ["on_the_spot.lead_department", "parties[2].birth_date", "parties[2].role",
                                      "people_involved"]
    assert all(isinstance(m, list) and m and all(isinstance(x, str) for x in m) for m in body["errors"].values())
    # The business rules name the same party the same way.
    ruled = api(cast.olga).post(f"{API}/cases/", {**DISPUTE, "village": cast.dongwan.pk, "parties": [
        PARTIES[0], {**PARTIES[1], "phone": "12345"}]}, format="json").json()
    assert list(ruled["errors"]) == ["parties[2].phone"]
    assert Case.objects.count() == Party.objects.count() == CaseEvent.objects.count() == 0


def test_a_body_that_is_no_object_is_refused_under_all(cast: Cast) -> None:
    response = api(cast.olga).post(f"{API}/cases/", ["kind", "dispute"], format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["__all__"]
    assert not Case.objects.exists()


def test_too_many_parties_are_named_under_parties(cast: Cast) -> None:
    from cases.forms import MAX_PARTIES

    payload = {**DISPUTE, "village": cast.dongwan.pk, "parties": [PARTIES[1]] * (MAX_PARTIES + 1)}
    response = api(cast.olga).post(f"{API}/cases/", payload, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["parties"]
    assert not Case.objects.exists()


def test_the_updated_at_of_a_case_is_shown_in_the_list_and_the_detail(cast: Cast, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 20, 10) + timedelta(seconds=1, microseconds=5), tick=False)
    case = report(cast)
    client = api(cast.olga)
    assert client.get(f"{API}/cases/{case.pk}/").json()["updated_at"] == "2026-03-20T10:00:01.000005+08:00"
    assert client.get(f"{API}/cases/").json()["results"][0]["updated_at"] == "2026-03-20T10:00:01.000005+08:00"
