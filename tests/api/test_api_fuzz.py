"""Property-based fuzzing of the whole API schema with schemathesis, in-process against
the WSGI application: for every operation, generated requests (bounded, so CI stays
quick) never get a server error (5xx) and never get a response that breaks the schema.

The database holds the cast and cases in every stage. Generated case and notification
ids are often swapped for ids that exist, and bodies for ones that pass, so the fuzzer
reaches the 200 answers as well as the 400s and 404s. Requests carry olga's token (an
officer of 柳林镇: she sees and may act on most of the cases). Each example runs in a
savepoint rolled back afterwards, so every example meets the same world and a failure
replays exactly when Hypothesis shrinks it."""

from __future__ import annotations

import os
import re
from typing import Any

import jsonschema
import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from werkzeug.test import Client

from cases.models import CaseEvent
from config.wsgi import application
from notifications.models import Notification
from tests.conftest import DISPUTE, PARTIES, Cast, local, report, token_for
from tests.workflow.test_permissions import MATRIX, escalated, investigating, resolved, with_supervision_order
from workflow import services
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application).exclude(
    # Logging out mid-run would leave the rest of the examples unauthenticated.
    method="DELETE", path="/api/v1/auth/token/",
)

FUZZ = settings(
    # Bounded for CI; API_FUZZ_EXAMPLES=500 digs deeper by hand.
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", 25)),
    deadline=None,
    database=None,  # nothing written to the working tree; failures print their reproduction
    # The world is seeded per test (function scope) on purpose; generation speed and
    # rejected draws are not what this test is about.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)

# Filled by the `world` fixture before each test's examples are generated; read by the
# hook below at draw time.
WORLD: dict[str, Any] = {"cases": [], "notifications": [], "bodies": {}, "create": None, "townwide": None}
# Each operation of the state machine has a path of its own (issue 19).
TRANSITION = re.compile(r"^/api/v1/cases/\{id\}/transitions/(?P<name>[a-z_]+)/$")


@schema.hook("flatmap_case")
def aim_at_the_seeded_world(context: Any, case: Any) -> Any:
    operation = context.operation
    params = dict(case.path_parameters or {})
    id_choice = st.just(params.get("id"))
    if "id" in params:
        known = WORLD["notifications"] if operation.path.startswith("/api/v1/notifications/") else WORLD["cases"]
        if known:
            # Mostly ids that exist (the coverage phase already tries odd ones).
            original = params["id"]
            id_choice = st.sampled_from([*known, None]).map(lambda pk: original if pk is None else pk)
    valid = None
    transition = TRANSITION.match(operation.path)
    if transition:
        valid = WORLD["bodies"].get(transition["name"])
    elif operation.path == "/api/v1/cases/" and operation.method.upper() == "POST":
        valid = WORLD["create"]
    body_choice = st.just(case.body)
    if valid is not None and isinstance(case.body, dict):
        body_choice = st.sampled_from([case.body, valid, {**case.body, **valid}])

    def aimed(choice: tuple[Any, Any]) -> Any:
        if "id" in params:
            case.path_parameters = {**params, "id": choice[0]}
        case.body = choice[1]
        return case

    return st.tuples(id_choice, body_choice).map(aimed)


def seed(cast: Cast) -> dict[str, Any]:
    """Cases in every stage, clocks and orders to act on, notifications for olga."""
    staged = [
        report(cast, at=local(2026, 3, 2, 9)),
        investigating(cast),
        resolved(cast),
        escalated(cast),
        with_supervision_order(cast),
    ]
    mediating = services.transition(investigating(cast), "start_mediation", actor=cast.mia,
                                    at=local(2026, 3, 4, 9), data={"findings": "属实。"})
    closed = services.transition(report(cast, at=local(2026, 3, 2, 9)), "reject", actor=cast.olga,
                                 at=local(2026, 3, 3, 9), data={"reason": "不属于受理范围。"})
    # A township-level case without a village, which olga sees and may act on.
    townwide = report(cast, actor=cast.olga, village="", responsible_unit=cast.liulin.pk, at=local(2026, 3, 5, 9))
    elsewhere = report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 2, 9))
    cases = [*staged, mediating, closed, townwide, elsewhere]
    deadline = staged[1].deadlines.get(kind="investigation").pk
    order = staged[4].supervision_orders.get().pk
    now = timezone.now()
    notes = [Notification.objects.create(user=user, kind="sweep", level=level, text="超期提醒", case=staged[1],
                                         created_at=now, read_at=None if i % 2 else now)
             for i, (user, level) in enumerate([(cast.olga, "warning"), (cast.olga, "overdue"),
                                                (cast.olga, "supervision"), (cast.mia, "warning")])]
    # The matrix's data for each operation, aimed at the investigating case's clock and
    # the supervised case's order. Not the document upload's: its file is no JSON, and a
    # body holding it made the example fail before it was sent.
    bodies = {name: data(cast, staged[1]) for name, _setup, data, _allowed in MATRIX
              if name not in ("decide_extension", "resume_deadline", "reply_supervision", "close_supervision",
                              "attach_document")}
    bodies.update({
        "decide_extension": {"deadline": deadline, "approve": "yes"},
        "resume_deadline": {"deadline": deadline},
        "reply_supervision": {"order": order, "reply": "已约谈双方。"},
        "close_supervision": {"order": order},
    })
    create = {**DISPUTE, "village": cast.dongwan.pk, "parties": PARTIES, "repeats_seen": True}
    return {"cases": [c.pk for c in cases], "notifications": [n.pk for n in notes], "bodies": bodies,
            "create": create, "townwide": townwide.pk}


@pytest.fixture
def in_process_requests() -> Any:
    """Serve the WSGI calls inside the test's transaction. Django closes the database
    connection when a request finishes; its test client turns that off for its own
    requests, and schemathesis calls the application directly, so do the same here."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(cast: Cast, in_process_requests: None) -> Any:
    WORLD.update(seed(cast))
    # Someone to log in as; olga's own token is never at stake.
    get_user_model().objects.create_user("fuzz", password="pw-fuzz")
    yield cast
    WORLD.update({"cases": [], "notifications": [], "bodies": {}, "create": None, "townwide": None})


def call(case: Any, user: Any) -> Any:
    """Send one generated request as `user`, in a savepoint rolled back afterwards."""
    token = token_for(user)
    # The rollback also takes the failures of generated logins with it, so the throttle
    # never turns a later example's login into a 429.
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Token {token}"})
        transaction.set_rollback(True)
    return response


# Both checks on each response: one pass of the examples instead of two.
@schema.parametrize()
@FUZZ
def test_no_request_gets_a_server_error_and_every_response_matches_the_schema(case, world):
    response = call(case, world.olga)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def _nullable_as_json_schema(node: Any) -> Any:
    # OpenAPI 3.0 `nullable: true` is not JSON Schema; spell it as "or null".
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def every_schema_error(path: str, method: str, status: int, body: Any) -> list[tuple[str, Any, str]]:
    """All the ways a response body breaks its documented schema (schemathesis reports
    the first), as (field, value, message)."""
    raw = schema.raw_schema
    documented = raw["paths"][path][method.lower()]["responses"][str(status)]
    validator = jsonschema.Draft7Validator({
        "allOf": [_nullable_as_json_schema(documented["content"]["application/json"]["schema"])],
        "components": _nullable_as_json_schema(raw["components"]),
    })
    return [(str(e.absolute_path[-1]) if e.absolute_path else "", e.instance, e.message)
            for e in validator.iter_errors(body)]


# --- what the fuzzer found, pinned ---------------------------------------------------


def test_a_case_with_blank_and_empty_fields_answers_in_the_published_shape(world):
    """Found by the fuzzer: a case not yet closed answered closure "" outside the schema's
    enum, and a case without a village or lead department answered null where the schema
    promised an object. Here a township case olga registered (no village, no lead
    department, not closed) is read, listed and acted on."""
    client = Client(application)
    headers = {"Authorization": f"Token {token_for(world.olga)}"}
    townwide = WORLD["townwide"]
    read = client.get(f"/api/v1/cases/{townwide}/", headers=headers)
    assert read.status_code == 200
    assert (read.json["closure"], read.json["village"], read.json["lead_department"]) == ("", None, None)
    assert every_schema_error("/api/v1/cases/{id}/", "GET", 200, read.json) == []
    listed = client.get("/api/v1/cases/", headers=headers)
    assert townwide in [row["id"] for row in listed.json["results"]]
    assert every_schema_error("/api/v1/cases/", "GET", 200, listed.json) == []
    noted = client.post(f"/api/v1/cases/{townwide}/transitions/note/", json={"text": "已登记。"}, headers=headers)
    assert noted.status_code == 200
    assert every_schema_error("/api/v1/cases/{id}/transitions/note/", "POST", 200, noted.json) == []


def test_an_operation_that_takes_the_case_out_of_reach_answers_in_the_published_shape(world):
    """Found by the fuzzer: olga escalating the township case without a village — after
    which the county holds it and she no longer sees it — answered 500, after the
    escalation had been committed."""
    client = Client(application)
    headers = {"Authorization": f"Token {token_for(world.olga)}"}
    townwide = WORLD["townwide"]
    response = client.post(f"/api/v1/cases/{townwide}/transitions/escalate/", json={"reason": "需县级协调。"},
                           headers=headers)
    assert response.status_code == 200
    assert every_schema_error("/api/v1/cases/{id}/transitions/escalate/", "POST", 200, response.json) == []
    assert response.json["stage"] == "escalated" and response.json["operations"] == []
    assert CaseEvent.objects.filter(case_id=townwide, kind="escalate", actor=world.olga).exists()
    assert not visible_to(world.olga).filter(pk=townwide).exists()
