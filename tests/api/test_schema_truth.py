"""The served schema tells the truth to generators and validators (issue 19): OpenAPI 3.1
that validates, the same whatever Accept-Language says, nulls where the server sends
them, each choice set one enum with member names, every status documented with its
headers; and the check that runs on every API test's answers (tests/api/conftest.py)
does fail on an answer the schema does not describe."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from cases.models import DeviceToken, Source
from tests.api.conftest import mismatch
from tests.conftest import Cast, report, token_for

pytestmark = pytest.mark.django_db

API = "/api/v1"


def served(language: str | None = None) -> dict[str, Any]:
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = APIClient().get(f"{API}/schema/", {"format": "json"}, **headers)
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return served()


def enums(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in schema["components"]["schemas"].items() if "enum" in body}


def test_the_schema_is_openapi_3_1_and_valid(schema):
    assert schema["openapi"] == "3.1.0"
    validate(schema)


def test_the_schema_is_the_same_whatever_the_language_asked(schema):
    assert served("zh-hans") == served("en") == served("en-US,en;q=0.9") == schema


def test_each_choice_set_is_one_named_enum_with_member_names(schema):
    found = enums(schema)
    value_sets = [tuple(sorted(map(str, body["enum"]))) for body in found.values()]
    assert len(value_sets) == len(set(value_sets))
    # Named by what they hold, never by a hash drf-spectacular made up for a collision.
    assert not [name for name in found if re.search(r"[0-9a-f]{3}Enum$", name)]
    for name, body in found.items():
        names = body["x-enum-varnames"]
        assert len(names) == len(body["enum"]) == len(set(names)), name
        assert all(n.isascii() and n.isidentifier() and n == n.upper() for n in names), (name, names)
    source = found["SourceEnum"]
    assert dict(zip(source["enum"], source["x-enum-varnames"], strict=True)) == {s.value: s.name for s in Source}
    assert dict(zip(source["enum"], source["x-enum-varnames"], strict=True))["12345"] == "HOTLINE_12345"
    ethnic = dict(zip(found["EthnicityEnum"]["enum"], found["EthnicityEnum"]["x-enum-varnames"], strict=True))
    assert (ethnic["汉族"], ethnic["基诺族"], ethnic["其他"]) == ("ETHNICITY_01", "ETHNICITY_56", "ETHNICITY_97")


def test_list_filters_refer_to_the_enums_instead_of_repeating_them(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/cases/"]["get"]["parameters"]}
    assert {name: parameters[name]["schema"] for name in ("stage", "kind", "category", "risk", "source")} == {
        name: {"$ref": f"#/components/schemas/{name.capitalize()}Enum"}
        for name in ("stage", "kind", "category", "risk", "source")}
    inline = [(path, p["name"]) for path, operations in schema["paths"].items()
              for operation in operations.values() if isinstance(operation, dict)
              for p in operation.get("parameters", []) if "title" in p.get("schema", {})]
    assert inline == []


def test_what_may_be_null_is_said_to_be(schema):
    detail = schema["components"]["schemas"]["CaseDetail"]["properties"]
    for name in ("village", "lead_department"):
        assert detail[name]["oneOf"] == [{"$ref": "#/components/schemas/UnitRef"}, {"type": "null"}], name
    for name in ("next_due_at", "accepted_at", "resolved_at", "closed_at", "updated_at"):
        assert detail[name]["type"] == ["string", "null"] and detail[name]["format"] == "date-time", name
    for name in ("lead_department_id", "assignee_id", "leader_id"):
        assert detail[name]["type"] == ["integer", "null"], name


def test_every_status_is_documented_with_its_headers(schema):
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = set()
            if {} not in operation.get("security", []):
                expected.add("401")
                header = responses.get("401", {}).get("headers", {}).get("WWW-Authenticate")
                if header is None:
                    missing.append(f"{method} {path} 401 WWW-Authenticate")
            if "requestBody" in operation:
                expected |= {"400", "413", "415"}
            if any(p["name"] == "cursor" for p in operation.get("parameters", [])):
                expected.add("400")
            missing += [f"{method} {path} {status}" for status in sorted(expected - set(responses))]
    assert missing == []
    login = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["429"]
    assert login["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def test_a_401_names_the_scheme_and_a_429_says_when_to_retry(cast: Cast, settings: Any) -> None:
    refused = APIClient().get(f"{API}/cases/")
    assert (refused.status_code, refused["WWW-Authenticate"]) == (401, "Token")
    settings.LOGIN_FAILURE_LIMIT = 1
    client = APIClient()
    client.post(f"{API}/auth/token/", {"username": "olga", "password": "wrong"}, format="json")
    throttled = client.post(f"{API}/auth/token/", {"username": "olga", "password": "wrong"}, format="json")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert not DeviceToken.objects.filter(user=cast.olga).exists()


def test_a_stale_token_does_not_stop_a_login(cast: Cast) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(cast.olga)}")
    assert client.delete(f"{API}/auth/token/").status_code == 204
    assert client.get(f"{API}/cases/").status_code == 401  # the token is gone, the app still sends it
    login = client.post(f"{API}/auth/token/", {"username": "olga", "password": "pw-olga"}, format="json")
    assert login.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    assert client.get(f"{API}/cases/").status_code == 200
    assert DeviceToken.objects.filter(user=cast.olga).count() == 1


def test_the_check_on_every_answer_fails_on_one_the_schema_does_not_describe(cast: Cast, served_openapi) -> None:
    case = report(cast)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(cast.olga)}")
    answer = client.get(f"{API}/cases/{case.pk}/")
    assert mismatch(served_openapi, answer, b"") is None
    answer.content = json.dumps({**answer.json(), "village": "东湾村"}).encode()
    assert "does not match the schema" in mismatch(served_openapi, answer, b"")
    answer.content = json.dumps({**answer.json(), "village": None, "lead_department": None}).encode()
    assert mismatch(served_openapi, answer, b"") is None  # nulls are allowed where the server sends them
    answer.status_code = 418
    assert "does not match the schema" in mismatch(served_openapi, answer, b"")
    sent = client.post(f"{API}/cases/", {"kind": "dispute"}, format="json")
    assert sent.status_code == 400 and mismatch(served_openapi, sent, b'{"kind": "dispute"}') is None
    sent.status_code = 201
    assert "calls the request invalid" in mismatch(served_openapi, sent, b'{"kind": "dispute"}')
