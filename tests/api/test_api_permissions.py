"""The permission matrix of tests/workflow/test_permissions.py, over the REST API: every operation ×
every member of the cast, each with their own token. Allowed → 200 and one new event;
may see but may not act → 403; may not see → 404 (never 403); nothing changed on a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.conftest import token_for
from tests.workflow.test_permissions import EVERYONE, FILES, MATRIX, investigating, visible_in
from workflow.models import Deadline

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def clients(cast) -> dict[str, APIClient]:
    """One API client per member of the cast, authenticated by their own token."""
    made = {}
    for username in EVERYONE:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token " + token_for(getattr(cast, username)))
        made[username] = client
    return made


def state(case: Case) -> tuple[Any, ...]:
    row = Case.objects.get(pk=case.pk)
    return (
        (row.stage, row.assignee_id, row.lead_department_id, row.responsible_unit_id, row.outcome),
        list(CaseEvent.objects.filter(case=case).values_list("pk", "kind")),
        list(Deadline.objects.filter(case=case).order_by("pk").values_list("pk", "due_at", "met_at", "paused_at",
                                                                          "extended_by")),
        Notification.objects.count(),
    )


@pytest.mark.parametrize("name, setup, data, allowed", MATRIX, ids=[row[0] for row in MATRIX])
def test_the_api_applies_the_permission_matrix(cast, clients, name, setup, data, allowed):
    case = setup(cast)
    payload = data(cast, case)
    # The API takes JSON only, which cannot carry a document: those allowed to attach
    # one get past the permission check to a 400 for the missing file.
    uploads = payload.pop(FILES, None)
    url = f"{API}/cases/{case.pk}/transitions/{name}/"
    outcome: dict[str, str] = {}
    for username in EVERYONE:
        before = state(case)
        events_before = CaseEvent.objects.filter(case=case).count()
        # Each attempt runs in a savepoint rolled back afterwards (the test client runs the
        # view in this thread and connection), so everyone meets the same case.
        with transaction.atomic():
            response = clients[username].post(url, payload, format="json")
            assert response["Content-Type"].startswith("application/json")
            body = response.json()
            events_after = CaseEvent.objects.filter(case=case).count()
            if response.status_code == 200:
                outcome[username] = "allowed"
                assert events_after == events_before + 1, username
                event = CaseEvent.objects.filter(case=case).latest("pk")
                assert (event.kind, event.actor_id) == (name, getattr(cast, username).pk)
                assert body["id"] == case.pk and body["stage"] == Case.objects.get(pk=case.pk).stage
            else:
                outcome[username] = {403: "forbidden", 404: "not found"}.get(
                    response.status_code, f"{response.status_code} {body}")
                assert {"code", "message"} <= set(body), body
                assert state(case) == before, username
            transaction.set_rollback(True)
        assert state(case) == before
    visible = visible_in(setup)
    permitted = "allowed" if uploads is None else "400"
    expected = {u: permitted if u in allowed else "forbidden" if u in visible else "not found" for u in EVERYONE}
    # An unexpected status is kept with its body; an expected 400 is compared by status.
    assert {u: o[:3] if o[:3] == "400" else o for u, o in outcome.items()} == expected


def test_each_person_is_offered_on_the_api_exactly_what_the_matrix_allows(cast, clients):
    case = investigating(cast)
    # Also possible while investigating; in the matrix from other stages.
    elsewhere = {"withdraw": {"olga"}, "resume_deadline": {"mia", "olga"}, "decide_extension": {"sam", "carl"},
                 "reply_supervision": {"mia", "olga"}, "close_supervision": {"sam", "carl"}}
    visible = visible_in(investigating)
    for username in EVERYONE:
        response = clients[username].get(f"{API}/cases/{case.pk}/")
        if username not in visible:
            assert response.status_code == 404, username
            continue
        assert response.status_code == 200, username
        offered = {op["name"] for op in response.json()["operations"]}
        expected = {name for name, setup, _, allowed in MATRIX if setup is investigating and username in allowed}
        expected |= {name for name, people in elsewhere.items() if username in people}
        assert offered == expected, username


def test_the_list_and_the_detail_agree_on_who_sees_a_case(cast, clients):
    case = investigating(cast)
    for username in EVERYONE:
        listed = case.pk in [r["id"] for r in clients[username].get(f"{API}/cases/").json()["results"]]
        detail = clients[username].get(f"{API}/cases/{case.pk}/").status_code
        events = clients[username].get(f"{API}/cases/{case.pk}/events/").status_code
        assert (listed, detail, events) == ((True, 200, 200) if username in visible_in(investigating)
                                            else (False, 404, 404)), username
