"""Each operation typed from its form (issue 19): a path and a named request schema per
operation in the served schema, a body of the wrong type refused by that shape (400 in
the API's error shape, nothing changed) before the form, the bodies clients already send
still served, and the responses' enums and required fields typed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.utils import translation

from api.operations import NAMED_ONLY, type_of
from cases.models import Case, CaseEvent
from screening.returns import CONFIRMED, DISMISSED
from tests.api.test_api import API, api, assert_error, published_schema, snapshot
from tests.conftest import Cast, local
from tests.workflow.test_permissions import investigating, reported, with_extension_requested
from workflow.flow import operations
from workflow.forms import ReferForm
from workflow.models import DeadlineKind, Step

pytestmark = pytest.mark.django_db

NOW = local(2026, 3, 4, 10)


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(scope="module")
def schema(django_db_setup: Any, django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return published_schema()


def resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The schema a property stands for, through references (alone or as a lone allOf)."""
    while "$ref" in node or len(node.get("allOf", ())) == 1:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node \
            else node["allOf"][0]
    return node


def typed(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A property's typed schema: the first of oneOf where the text of the value is taken
    as well (an id, a flag, an amount), with the bounds stated beside it."""
    node = resolved(schema, node)
    if "oneOf" in node and "type" in node["oneOf"][0]:
        return {**node["oneOf"][0], **{k: v for k, v in node.items() if k != "oneOf"}}
    return node


def enum_of(schema: dict[str, Any], node: dict[str, Any]) -> set[Any]:
    """The values a property's schema allows, through references and oneOf/allOf."""
    node = resolved(schema, node)
    values = set(node.get("enum", ()))
    for part in (*node.get("oneOf", ()), *node.get("allOf", ()), *node.get("anyOf", ())):
        values |= enum_of(schema, part)
    return values


def form_of(name: str) -> type[forms.Form]:
    return next(iter(operations()[name].get_transitions())).custom["form"]


def request_bodies(schema: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    operation = schema["paths"][f"/api/v1/cases/{{id}}/transitions/{name}/"]["post"]
    return {media: resolved(schema, body["schema"]) for media, body in operation["requestBody"]["content"].items()}


# --- the schema ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(operations()))
def test_each_operation_has_its_own_typed_request_schema_from_its_form(schema: dict[str, Any], name: str) -> None:
    fields = form_of(name).base_fields
    bodies = request_bodies(schema, name)
    files = {f for f, field in fields.items() if isinstance(field, forms.FileField)}
    full = bodies["multipart/form-data" if files else "application/json"]
    assert list(full["properties"]) == list(fields)
    assert set(full.get("required", ())) == {f for f, field in fields.items()
                                              if field.required and f not in NAMED_ONLY.get(name, ())}
    expected_type = {"string": "string", "integer": "integer", "boolean": "boolean", "decimal": "string",
                     "date": "string", "date-time": "string"}
    for field_name, field in fields.items():
        prop = typed(schema, full["properties"][field_name])
        kind = type_of(field)
        if kind == "file":
            assert (prop.get("format"), prop.get("contentMediaType")) == ("binary", "application/octet-stream")
        elif isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            assert enum_of(schema, full["properties"][field_name]) - {""} == {
                str(v) for v, _ in field.choices if v != ""}, field_name
        else:
            assert prop["type"] == expected_type[kind], field_name
            assert prop.get("format") == {"date": "date", "date-time": "date-time"}.get(kind, prop.get("format"))
        if kind == "string" and getattr(field, "max_length", None) and not isinstance(field, forms.ChoiceField):
            assert prop["maxLength"] == field.max_length
    if files:
        required_file = any(fields[f].required for f in files)
        assert set(bodies) == ({"multipart/form-data"} if required_file else {"application/json",
                                                                              "multipart/form-data"})
        if not required_file:
            assert list(bodies["application/json"]["properties"]) == [f for f in fields if f not in files]
    else:
        assert set(bodies) == {"application/json"}


def test_a_reference_field_is_an_id_and_a_date_is_a_date(schema: dict[str, Any]) -> None:
    accept = request_bodies(schema, "accept")["application/json"]
    assert {name: typed(schema, prop)["type"] for name, prop in accept["properties"].items()} == {
        "assignee": "integer", "lead_department": "integer"}
    # An id sent as its digits, as the untyped API took it, is documented as well.
    assert accept["properties"]["assignee"]["oneOf"][1] == {"type": "string", "pattern": "^[0-9]+$"}
    assert set(accept["required"]) == {"assignee", "lead_department"}
    session = request_bodies(schema, "record_session")["application/json"]["properties"]
    assert (session["held_on"]["type"], session["held_on"]["format"]) == ("string", "date")
    assert enum_of(schema, request_bodies(schema, "refer")["application/json"]["properties"]["channel"]) == {
        value for value, _ in ReferForm.CHANNELS}
    correct = request_bodies(schema, "correct")["application/json"]
    assert correct["required"] == ["reason"]  # the facts are named only when changed


def test_the_events_kinds_and_stages_are_enumerated(schema: dict[str, Any]) -> None:
    event = resolved(schema, {"$ref": "#/components/schemas/Event"})
    assert enum_of(schema, event["properties"]["kind"]) == {
        *operations(), "report", *(f"deadline_{step}" for step in Step.values), CONFIRMED, DISMISSED}
    assert enum_of(schema, event["properties"]["to_stage"]) == set(Case.Stage.values)
    assert enum_of(schema, event["properties"]["from_stage"]) == {*Case.Stage.values, ""}
    data = resolved(schema, event["properties"]["data"])
    assert enum_of(schema, data["properties"]["deadlines_opened"]["items"]) == set(DeadlineKind.values)


def test_the_deadlines_outcome_and_errors_are_typed(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    detail = components["CaseDetail"]["properties"]
    deadline = resolved(schema, detail["deadlines"]["items"])
    assert enum_of(schema, deadline["properties"]["kind"]) == set(DeadlineKind.values)
    assert enum_of(schema, deadline["properties"]["card"]) == {"red", "yellow", ""}
    assert enum_of(schema, deadline["properties"]["unit"]) == {"calendar", "working", "hours"}
    outcome = resolved(schema, detail["outcome"])
    assert set(outcome["properties"]) == {"kind", "summary", "review"}
    operation = resolved(schema, detail["operations"]["items"])
    field = resolved(schema, operation["properties"]["fields"]["items"])
    assert set(field["required"]) == {"name", "label", "type", "required", "help_text", "max_length", "choices",
                                      "choices_url"}
    errors = components["Error"]["properties"]["errors"]
    assert (errors["type"], errors["additionalProperties"]["type"],
            errors["additionalProperties"]["items"]["type"]) == ("object", "array", "string")


@pytest.mark.parametrize("component, fields", [
    ("CaseDetail", {"risk", "amount", "is_group", "is_legacy", "is_repeat", "stage", "outcome", "deadlines",
                    "operations", "parties"}),
    ("CaseList", {"risk", "stage", "overdue", "next_due_at"}),
    ("Notification", {"read_at", "delivered_at", "level"}),
    ("Deadline", {"card", "paused_at", "provisional"}),
])
def test_fields_always_sent_are_required(schema: dict[str, Any], component: str, fields: set[str]) -> None:
    assert fields <= set(schema["components"]["schemas"][component]["required"])


# --- bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("name, body, field", [
    ("accept", {"assignee": "mia", "lead_department": 8}, "assignee"),
    ("accept", {"assignee": 4, "lead_department": [8]}, "lead_department"),
    ("accept", {"assignee": True, "lead_department": 8}, "assignee"),
    ("reject", {"reason": {"text": "重复"}}, "reason"),
    ("reject", {"reason": False}, "reason"),
    ("reject", {"reason": 12}, "reason"),
])
def test_a_body_of_the_wrong_type_is_refused_by_the_shape_and_nothing_changes(cast: Cast, name: str,
                                                                              body: dict[str, Any],
                                                                              field: str) -> None:
    case = reported(cast)
    before = snapshot(case)
    errors = assert_error(api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/{name}/", body, format="json"),
                          400, "invalid")["errors"]
    assert list(errors) == [field]
    assert snapshot(case) == before


def test_a_choice_outside_the_enum_is_refused_and_nothing_changes(cast: Cast) -> None:
    case = with_extension_requested(cast)
    before = snapshot(case)
    clock = case.deadlines.get(kind="investigation").pk
    errors = assert_error(api(cast.sam).post(f"{API}/cases/{case.pk}/transitions/decide_extension/",
                                             {"deadline": clock, "approve": "maybe"}, format="json"),
                          400, "invalid")["errors"]
    assert list(errors) == ["approve"]
    assert snapshot(case) == before


def test_a_missing_field_is_refused_in_the_forms_words(cast: Cast) -> None:
    case = reported(cast)
    before = snapshot(case)
    errors = assert_error(api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/accept/", {}, format="json"),
                          400, "invalid")["errors"]
    with translation.override("zh-hans"):
        required = str(forms.Field.default_error_messages["required"])
    assert errors == {"assignee": [required], "lead_department": [required]}
    assert snapshot(case) == before


def test_ids_as_text_and_numbers_as_json_numbers_are_still_served(cast: Cast) -> None:
    case = reported(cast)
    response = api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/accept/",
                                   {"assignee": str(cast.mia.pk), "lead_department": str(cast.justice.pk)},
                                   format="json")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert (case.stage, case.assignee_id, case.lead_department_id) == ("investigating", cast.mia.pk,
                                                                       cast.justice.pk)


def test_a_correction_takes_a_boolean_and_a_number(cast: Cast) -> None:
    case = investigating(cast)
    response = api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/correct/",
                                   {"is_group": True, "amount": 15000.5, "reason": "核实后更正。"}, format="json")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert (case.is_group, case.amount) == (True, Decimal("15000.50"))
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert (event.kind, set(event.data["changes"])) == ("correct", {"is_group", "amount"})
    assert response.json()["is_group"] is True and response.json()["amount"] == "15000.50"


def test_a_boolean_the_shape_reads_is_the_one_the_form_reads(cast: Cast) -> None:
    # "yes" and "no" are flags to the shape; the form, which reads only true/false, gets those.
    case = investigating(cast)
    client = api(cast.olga)
    found = []
    for flag in ("yes", "no"):
        response = client.post(f"{API}/cases/{case.pk}/transitions/correct/",
                               {"is_group": flag, "reason": "核实后更正。"}, format="json")
        assert response.status_code == 200, response.content
        found.append(Case.objects.get(pk=case.pk).is_group)
    assert found == [True, False]


def test_the_deadlines_card_follows_the_clock(cast: Cast, time_machine: Any) -> None:
    case = investigating(cast)  # its investigation: warned on 8 March, due on 10 March
    client = api(cast.olga)
    cards = []
    for day in (4, 9, 11):
        time_machine.move_to(local(2026, 3, day, 10), tick=False)
        shown = client.get(f"{API}/cases/{case.pk}/").json()["deadlines"]
        cards.append([(d["kind"], d["card"]) for d in shown])
    assert cards == [[("investigation", "")], [("investigation", "yellow")], [("investigation", "red")]]


def test_the_events_data_and_outcome_as_typed(cast: Cast) -> None:
    case = investigating(cast)
    response = api(cast.mia).post(f"{API}/cases/{case.pk}/transitions/resolve/",
                                  {"outcome": "agreement_oral", "summary": "当场和解。"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == {"kind": "agreement_oral", "summary": "当场和解。"}
    events = api(cast.mia).get(f"{API}/cases/{case.pk}/events/").json()["results"]
    assert [(e["kind"], e["from_stage"], e["to_stage"]) for e in events] == [
        ("report", "", "reported"), ("accept", "reported", "investigating"), ("resolve", "investigating", "resolved")]
    assert events[1]["data"]["assignee"] == cast.mia.pk and events[1]["data"]["lead_department"] == cast.justice.pk
    assert events[2]["data"]["deadlines_opened"] == list(
        CaseEvent.objects.get(case=case, kind="resolve").data["deadlines_opened"])
