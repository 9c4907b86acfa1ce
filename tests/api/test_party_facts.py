"""The API takes and returns the facts the printed forms need: a party's sex, ethnicity,
date of birth and occupation, and when and where the matter arose; typed in the schema,
checked as at every door (cases.forms), refused as the API refuses (400, nothing written),
and a date of birth shown only with the full ID number it is part of."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, Party, PersonalDataAccess
from tests.conftest import DISPUTE, PARTIES, Cast, local, token_for
from workflow.models import Deadline

pytestmark = pytest.mark.django_db

API = "/api/v1"
NOW = local(2026, 3, 10, 9, 0)
FEMALE_ID = PARTIES[0]["id_number"]  # 11010519491231002X: born 1949-12-31, a woman
MALE_ID = "110105198005060010"  # born 1980-05-06, a man


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def create(cast: Cast, parties: list[dict[str, Any]], **data: Any) -> Any:
    payload = {**DISPUTE, "village": cast.dongwan.pk, "parties": parties, **data}
    return api(cast.alice).post(f"{API}/cases/", payload, format="json")


def refused(response: Any) -> dict[str, Any]:
    """The API's 400 with its errors, after checking nothing was written."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and body["message"] and isinstance(body["errors"], dict), body
    assert Case.objects.count() == Party.objects.count() == CaseEvent.objects.count() == Deadline.objects.count() == 0
    return body["errors"]


def test_a_case_is_created_with_the_facts_and_returns_them(cast: Cast) -> None:
    response = create(cast, [
        {"name": "张三", "role": "applicant", "id_number": FEMALE_ID, "phone": "13800138000", "ethnicity": "回族",
         "occupation": "农民", "address": "青阳县柳林镇东湾村三组"},
        {"name": "王五", "role": "respondent", "id_number": MALE_ID, "sex": "male", "birth_date": "1980-05-06"},
        {"name": "李四", "role": "respondent", "sex": "female", "birth_date": "1975-02-03", "ethnicity": "汉族"},
    ], occurred_at="2026-03-08T14:30:00+08:00", occurred_place="东湾村三组水塘边")
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(pk=body["id"])
    assert (case.occurred_at, case.occurred_place) == (local(2026, 3, 8, 14, 30), "东湾村三组水塘边")
    assert list(case.parties.order_by("pk").values_list("name", "sex", "birth_date", "ethnicity", "occupation",
                                                        "address")) == [
        ("张三", "female", date(1949, 12, 31), "回族", "农民", "青阳县柳林镇东湾村三组"),
        ("王五", "male", date(1980, 5, 6), "", "", ""),
        ("李四", "female", date(1975, 2, 3), "汉族", "", ""),
    ]
    assert (datetime.fromisoformat(body["occurred_at"]), body["occurred_place"]) == (local(2026, 3, 8, 14, 30),
                                                                                      "东湾村三组水塘边")
    # alice may not see ID numbers in full: nor the dates of birth read from them, only the ages.
    assert [(p["sex"], p["ethnicity"], p["birth_date"], p["age"], p["occupation"]) for p in body["parties"]] == [
        ("female", "回族", None, 76, "农民"), ("male", "", None, 45, ""), ("female", "汉族", None, 51, "")]
    assert "1949-12-31" not in json.dumps(body)


def test_the_date_of_birth_is_returned_to_those_who_see_the_full_id_number(cast: Cast) -> None:
    create(cast, [{"name": "张三", "role": "applicant", "id_number": FEMALE_ID}])
    case = Case.objects.get()
    for user, shown in ((cast.alice, None), (cast.vic, None), (cast.olga, "1949-12-31")):
        party = api(user).get(f"{API}/cases/{case.pk}/").json()["parties"][0]
        assert (party["birth_date"], party["age"], party["sex"]) == (shown, 76, "female"), user
    # Shown in full, and recorded as such, to olga alone.
    assert list(PersonalDataAccess.objects.values_list("user__username", "door")) == [("olga", "api")]


def test_a_case_without_the_facts_returns_them_empty(cast: Cast) -> None:
    response = create(cast, [{"name": "某公司", "role": "applicant"}])
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["occurred_at"], body["occurred_place"]) == (None, "")
    assert {k: body["parties"][0][k] for k in ("sex", "ethnicity", "birth_date", "age", "occupation")} == {
        "sex": "", "ethnicity": "", "birth_date": None, "age": None, "occupation": ""}


@pytest.mark.parametrize("party, field", [
    ({"sex": "male"}, "parties[1].sex"),
    ({"birth_date": "1949-12-30"}, "parties[1].birth_date"),
])
def test_facts_contradicting_the_id_number_are_a_400_naming_the_field(cast: Cast, party: dict[str, Any],
                                                                       field: str) -> None:
    errors = refused(create(cast, [{"name": "张三", "role": "applicant", "id_number": FEMALE_ID, **party}]))
    assert list(errors) == [field]


@pytest.mark.parametrize("party", [
    {"ethnicity": "火星族"},
    {"ethnicity": "汉"},
    {"sex": "unknown"},
    {"sex": None},
    {"birth_date": "1980-13-01"},
    {"birth_date": 19800101},
])
def test_a_fact_outside_its_type_is_a_400(cast: Cast, party: dict[str, Any]) -> None:
    errors = refused(create(cast, [{"name": "李四", "role": "applicant", **party}]))
    assert list(errors) == [f"parties[1].{next(iter(party))}"], errors


@pytest.mark.parametrize("birth_date", ["2026-03-11", "1899-12-31", "0001-01-01"])
def test_an_impossible_date_of_birth_is_a_400(cast: Cast, birth_date: str) -> None:
    errors = refused(create(cast, [{"name": "李四", "role": "applicant", "birth_date": birth_date}]))
    assert list(errors) == ["parties[1].birth_date"]


@pytest.mark.parametrize("occurred_at", ["2026-03-10T10:00:00+08:00", "2026-03-10T02:00:00Z", "9999-12-31T23:59:59",
                                         "1899-12-31T00:00:00+08:00"])
def test_a_matter_arising_in_the_future_or_after_its_registration_is_a_400(cast: Cast, occurred_at: str) -> None:
    errors = refused(create(cast, PARTIES, occurred_at=occurred_at))
    assert list(errors) == ["occurred_at"]


@pytest.mark.parametrize("occurred_at", ["yesterday", 20260309, "0001-01-01T00:00:00+14:00",
                                         "9999-12-31T23:59:59-12:00"])
def test_an_unreadable_time_of_occurrence_is_a_400_not_a_server_error(cast: Cast, occurred_at: Any) -> None:
    errors = refused(create(cast, PARTIES, occurred_at=occurred_at))
    assert list(errors) == ["occurred_at"]


def test_the_schema_types_the_facts(cast: Cast) -> None:
    client = APIClient()
    client.force_authenticate(cast.alice)
    schema = yaml.safe_load(client.get(f"{API}/schema/").content)["components"]["schemas"]
    party_in, party_out = schema["PartyInputRequest"]["properties"], schema["Party"]["properties"]
    assert schema["SexEnum"]["enum"] == ["male", "female"]
    assert schema["EthnicityEnum"]["enum"][:2] == ["汉族", "蒙古族"] and len(schema["EthnicityEnum"]["enum"]) == 58
    for props in (party_in, party_out):
        assert {ref["$ref"] for ref in props["sex"]["oneOf"]} == {"#/components/schemas/SexEnum",
                                                                  "#/components/schemas/BlankEnum"}
        assert "#/components/schemas/EthnicityEnum" in {ref["$ref"] for ref in props["ethnicity"]["oneOf"]}
        assert (props["birth_date"]["type"], props["birth_date"]["format"]) == (["string", "null"], "date")
    assert party_out["age"]["type"] == ["integer", "null"]
    for name in ("CaseCreateRequest", "CaseDetail"):
        occurred = schema[name]["properties"]["occurred_at"]
        assert (occurred["type"], occurred["format"]) == (["string", "null"], "date-time")
        assert schema[name]["properties"]["occurred_place"]["type"] == "string"
