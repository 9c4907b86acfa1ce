"""The reference endpoints a grid app fills its forms from (issue 19): who the user is
(/me/), the departments they may name (/departments/), and each operation's choices for
one case (/cases/{id}/operations/{name}/choices/), all read from the rule of reach and
the operations' own forms; refused as the transition would be."""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case, CaseEvent, Role
from tests.api.test_api import API, api, assert_error, snapshot
from tests.conftest import PETITION, Cast, local, person, report
from tests.workflow.test_permissions import investigating, reported
from workflow.forms import ReferForm, ResolveForm

pytestmark = pytest.mark.django_db

NOW = local(2026, 3, 4, 10)


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def choices_of(cast_user: Any, case: Case, name: str, **params: Any) -> dict[str, list[tuple[Any, str]]]:
    response = api(cast_user).get(f"{API}/cases/{case.pk}/operations/{name}/choices/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["operation"] == name
    return {field["name"]: [(c["value"], c["label"]) for c in field["choices"]] for field in body["fields"]}


# --- /me/ ---------------------------------------------------------------------------


def test_me_names_the_user_and_each_unit_with_the_roles_held_there(cast: Cast) -> None:
    dual = person("dual", (cast.liulin, Role.OFFICER), (cast.dongwan, Role.REPORTER), (cast.liulin, Role.SUPERVISOR))
    dual.first_name, dual.last_name = "芳", "王"
    dual.save()
    response = api(dual).get(f"{API}/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": dual.pk, "username": "dual", "name": dual.get_full_name(),
        "units": [
            {"id": cast.liulin.pk, "code": "QY-LL", "name": "柳林镇", "level": "township",
             "roles": ["officer", "supervisor"]},
            {"id": cast.dongwan.pk, "code": "QY-LL-DW", "name": "东湾村", "level": "village", "roles": ["reporter"]},
        ],
    }


def test_me_without_a_full_name_gives_the_username(cast: Cast) -> None:
    body = api(cast.pete).get(f"{API}/me/").json()
    assert (body["name"], body["units"]) == ("pete", [
        {"id": cast.police.pk, "code": "QY-LL-PCS", "name": "柳林派出所", "level": "department",
         "roles": ["liaison"]}])


def test_me_needs_a_login(cast: Cast) -> None:
    assert_error(api().get(f"{API}/me/"), 401)


# --- /departments/ --------------------------------------------------------------------


@pytest.mark.parametrize("username, expected", [
    ("olga", ["police", "justice", "labour_bureau"]),  # 柳林镇's own and the county's
    ("sam", ["police", "justice", "labour_bureau"]),   # decides objections: names a new lead
    ("owen", ["labour_bureau"]),                        # 桃源镇 has no department of its own
    ("cora", ["labour_bureau"]),
    ("carl", ["labour_bureau"]),
    ("alice", []), ("mia", []), ("vic", []), ("pete", []),  # accept, route or share no case
])
def test_the_departments_are_those_the_user_may_name(cast: Cast, username: str, expected: list[str]) -> None:
    body = api(getattr(cast, username)).get(f"{API}/departments/").json()
    units = [getattr(cast, name) for name in expected]
    assert body == [{"id": u.pk, "code": u.code, "name": u.name, "level": "department", "parent_id": u.parent_id}
                    for u in units]


def test_every_department_the_accept_form_offers_is_listed(cast: Cast) -> None:
    case = reported(cast)
    offered = {value for value, _ in choices_of(cast.olga, case, "accept")["lead_department"]}
    listed = {row["id"] for row in api(cast.olga).get(f"{API}/departments/").json()}
    assert offered == {cast.police.pk, cast.justice.pk, cast.labour_bureau.pk} == listed


# --- /cases/{id}/operations/{name}/choices/ -------------------------------------------


def test_accept_offers_the_people_and_departments_its_form_allows(cast: Cast) -> None:
    case = reported(cast)
    choices = choices_of(cast.olga, case, "accept")
    assert set(choices) == {"assignee", "lead_department"}
    assert sorted(choices["assignee"]) == sorted(
        (u.pk, f"{u.username}（{u.username}）") for u in (cast.mia, cast.olga, cast.pete, cast.lena))
    assert choices["lead_department"] == [(cast.police.pk, "柳林派出所"), (cast.justice.pk, "柳林司法所"),
                                          (cast.labour_bureau.pk, "县人社局")]


def test_naming_the_lead_department_adds_its_people_who_may_then_be_assigned(cast: Cast) -> None:
    case = reported(cast)
    choices = choices_of(cast.olga, case, "accept", lead_department=cast.labour_bureau.pk)
    assert {value for value, _ in choices["assignee"]} == {cast.mia.pk, cast.olga.pk, cast.pete.pk, cast.lena.pk,
                                                           cast.hans.pk}
    response = api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/accept/",
                                   {"assignee": cast.hans.pk, "lead_department": cast.labour_bureau.pk}, format="json")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert (case.assignee_id, case.lead_department_id, case.stage) == (cast.hans.pk, cast.labour_bureau.pk,
                                                                       "investigating")


def test_resolve_offers_the_outcomes_of_the_cases_kind(cast: Cast) -> None:
    dispute = investigating(cast)
    assert choices_of(cast.mia, dispute, "resolve") == {
        "outcome": [(value, str(label)) for value, label in ResolveForm.DISPUTE_OUTCOMES]}
    petition = report(cast, at=local(2026, 3, 2, 9), **PETITION)
    api(cast.olga).post(f"{API}/cases/{petition.pk}/transitions/accept/",
                        {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}, format="json")
    assert choices_of(cast.mia, petition, "resolve") == {
        "outcome": [(value, str(label)) for value, label in ResolveForm.PETITION_OUTCOMES]}


def test_a_deadline_operation_offers_the_cases_open_clocks(cast: Cast) -> None:
    case = investigating(cast)
    clock = case.deadlines.get(kind="investigation")
    assert [value for value, _ in choices_of(cast.olga, case, "pause_deadline")["deadline"]] == [clock.pk]
    assert [value for value, _ in choices_of(cast.olga, case, "refer")["channel"]] == [
        value for value, _ in ReferForm.CHANNELS]


def test_a_case_out_of_reach_is_a_404_and_nothing_changes(cast: Cast) -> None:
    case = reported(cast)
    before = snapshot(case)
    assert_error(api(cast.owen).get(f"{API}/cases/{case.pk}/operations/accept/choices/"), 404)
    assert_error(api(cast.owen).get(f"{API}/cases/abc/operations/accept/choices/"), 404)
    assert snapshot(case) == before


@pytest.mark.parametrize("username, name, status, code", [
    ("olga", "resolve", 409, "wrong_stage"),
    ("alice", "accept", 403, "forbidden"),
    ("olga", "fly", 400, "unknown_operation"),
])
def test_an_operation_not_available_is_refused_as_the_transition_would_be(cast: Cast, username: str, name: str,
                                                                         status: int, code: str) -> None:
    case = reported(cast)
    client = api(getattr(cast, username))
    asked = assert_error(client.get(f"{API}/cases/{case.pk}/operations/{name}/choices/"), status, code)
    applied = assert_error(client.post(f"{API}/cases/{case.pk}/transitions/{name}/", {}, format="json"), status, code)
    assert asked == applied
    if code == "wrong_stage":
        assert asked["stage"] == "reported"
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_an_unmet_condition_is_a_409(cast: Cast) -> None:
    case = investigating(cast)  # of general risk: no leader takes it in charge
    body = assert_error(api(cast.sam).get(f"{API}/cases/{case.pk}/operations/take_charge/choices/"), 409,
                        "condition_unmet")
    applied = api(cast.sam).post(f"{API}/cases/{case.pk}/transitions/take_charge/", {}, format="json")
    assert applied.json() == body


def test_the_cases_operations_point_to_the_choices_of_their_reference_fields(cast: Cast) -> None:
    case = reported(cast)
    operations = {op["name"]: op for op in api(cast.olga).get(f"{API}/cases/{case.pk}/").json()["operations"]}
    url = f"{API}/cases/{case.pk}/operations/accept/choices/"
    assert operations["accept"]["fields"] == [
        {"name": "assignee", "label": "承办人", "type": "integer", "required": True, "help_text": "",
         "max_length": None, "choices": None, "choices_url": url},
        {"name": "lead_department", "label": "牵头部门", "type": "integer", "required": True, "help_text": "",
         "max_length": None, "choices": None, "choices_url": url},
    ]
    assert operations["reject"]["fields"] == [
        {"name": "reason", "label": "理由", "type": "string", "required": True, "help_text": "", "max_length": 4000,
         "choices": None, "choices_url": None}]
