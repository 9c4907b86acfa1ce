"""The API door under hostile input (issue 14): bodies nested a thousand deep, lone
surrogates, values of the wrong JSON type, thousands of parties and oversized bodies
each get the API's JSON error (a 4xx with a code and a message) and change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from cases.models import Case, CaseEvent, LoginFailure
from tests.api.test_api import API, DISPUTE, api, assert_error, snapshot
from tests.conftest import PARTIES, Cast
from tests.workflow.test_permissions import investigating

pytestmark = pytest.mark.django_db


def post_raw(client: Any, url: str, body: str | bytes) -> Any:
    return client.generic("POST", url, body, content_type="application/json")


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("path", ["/auth/token/", "/cases/", "/cases/{id}/transitions/note/"])
def test_json_nested_a_thousand_deep_is_a_parse_error(cast: Cast, path: str) -> None:
    case = investigating(cast)
    before = snapshot(case)
    client = api() if path == "/auth/token/" else api(cast.mia)
    response = post_raw(client, API + path.format(id=case.pk), nested(5000))
    assert_error(response, 400, "parse_error")
    assert snapshot(case) == before
    assert not LoginFailure.objects.exists()


def test_a_lone_surrogate_in_a_note_is_refused_like_in_a_registration(cast: Cast) -> None:
    case = investigating(cast)
    before = snapshot(case)
    client = api(cast.mia)
    response = post_raw(client, f"{API}/cases/{case.pk}/transitions/note/", '{"text": "\\ud800 电话"}')
    note_errors = assert_error(response, 400, "invalid")["errors"]
    assert snapshot(case) == before
    body = {**DISPUTE, "village": cast.dongwan.pk, "title": "\ud800", "parties": PARTIES}
    registration = post_raw(client, f"{API}/cases/", json.dumps(body, ensure_ascii=True))
    # The same rule, in the same words, at both (cases.validators.validate_readable_text).
    assert assert_error(registration, 400, "invalid")["errors"]["title"] == note_errors["text"]
    assert Case.objects.count() == 1


def test_text_outside_the_basic_plane_is_kept_whole(cast: Cast) -> None:
    case = investigating(cast)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/note/", {"text": "𠀀𪚥 到场 🙂"},
                                  format="json")
    assert response.status_code == 200, response.content
    assert CaseEvent.objects.get(case=case, kind="note").data["text"] == "𠀀𪚥 到场 🙂"


@pytest.mark.parametrize("held_on", [20260304, True, ["2026-03-04"], {"date": "2026-03-04"}, 1.5])
def test_a_session_date_of_the_wrong_json_type_is_refused(cast: Cast, held_on: Any) -> None:
    case = investigating(cast)
    before = snapshot(case)
    body = {"held_on": held_on, "place": "调解室", "participants": "双方", "record": "记录。"}
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/record_session/", body, format="json")
    errors = assert_error(response, 400, "invalid")["errors"]
    assert "held_on" in errors
    assert snapshot(case) == before


@pytest.mark.parametrize("text", [{"a": 1}, ["电话"], [], {}])
def test_an_object_or_list_as_note_text_is_refused_not_stored_as_its_repr(cast: Cast, text: Any) -> None:
    case = investigating(cast)
    before = snapshot(case)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/note/", {"text": text}, format="json")
    errors = assert_error(response, 400, "invalid")["errors"]
    assert "text" in errors
    assert snapshot(case) == before


def test_a_case_takes_as_many_parties_through_the_api_as_on_the_page(cast: Cast) -> None:
    from cases.forms import MAX_PARTIES

    client = api(cast.olga)
    party = {**PARTIES[0], "id_number": "", "phone": ""}
    dispute = {**DISPUTE, "village": cast.dongwan.pk}
    too_many = client.post(f"{API}/cases/", {**dispute, "parties": [party] * (MAX_PARTIES + 1)}, format="json")
    assert_error(too_many, 400, "invalid")
    assert not Case.objects.exists()
    enough = client.post(f"{API}/cases/", {**dispute, "parties": [party] * MAX_PARTIES}, format="json")
    assert enough.status_code == 201, enough.content
    assert Case.objects.get().parties.count() == MAX_PARTIES


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_621_440)
def test_a_body_over_the_limit_gets_the_apis_json_error(cast: Cast) -> None:
    client = api(cast.olga)
    body = json.dumps({**DISPUTE, "summary": "长" * 1_000_000})
    response = post_raw(client, f"{API}/cases/", body)
    assert_error(response, 413, "too_large")
    assert not Case.objects.exists()


def test_a_stale_authorization_header_does_not_stop_a_new_login(cast: Cast) -> None:
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef-no-longer-valid")
    response = client.post(f"{API}/auth/token/", {"username": "olga", "password": "pw-olga"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["token"]


def test_the_service_holds_the_party_limit_for_every_door(cast: Cast) -> None:
    # The import and any later door register through the service, not the API's shape.
    from cases.forms import MAX_PARTIES
    from workflow import services
    from workflow.errors import InvalidData

    party = {**PARTIES[1]}
    with pytest.raises(InvalidData) as refused:
        services.report_case(actor=cast.olga, data={**DISPUTE, "village": cast.dongwan.pk},
                             parties=[party] * (MAX_PARTIES + 1))
    assert list(refused.value.errors) == ["parties"]
    assert not Case.objects.exists()
