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
def test_the_api_applies_the_permission_matrix(cast, clients, name, setup, data, allowed, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = setup(cast)
    url = f"{API}/cases/{case.pk}/transitions/{name}/"
    outcome: dict[str, str] = {}
    for username in EVERYONE:
        before = state(case)
        events_before = CaseEvent.objects.filter(case=case).count()
        # A document goes as multipart/form-data, a fresh upload for each person.
        payload = data(cast, case)
        uploads = payload.pop(FILES, None)
        # Each attempt runs in a savepoint rolled back afterwards (the test client runs the
        # view in this thread and connection), so everyone meets the same case.
        with transaction.atomic():
            if uploads is None:
                response = clients[username].post(url, payload, format="json")
            else:
                response = clients[username].post(url, {**payload, **uploads}, format="multipart")
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
    expected = {u: "allowed" if u in allowed else "forbidden" if u in visible else "not found" for u in EVERYONE}
    assert outcome == expected


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
