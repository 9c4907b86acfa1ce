"""Bad input gets a clear error naming the problem, and the database is exactly as
before: stage, events, deadlines, grants, notifications."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from cases.models import Case, CaseEvent, CaseGroupObjectPermission, CaseUserObjectPermission, Party
from notifications.models import Notification
from tests.conftest import DISPUTE, PARTIES, local, report
from workflow import services
from workflow.errors import CaseNotFound, ConditionUnmet, InvalidData, NotPermitted, UnknownOperation, WrongStage
from workflow.models import Deadline, Extension

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in English here; test_translations covers zh-hans.
    with translation.override("en"):
        yield


def snapshot(case: Case) -> dict[str, Any]:
    case = Case.objects.get(pk=case.pk)
    return {
        "case": (case.stage, case.assignee_id, case.lead_department_id, case.responsible_unit_id, case.outcome),
        "events": list(CaseEvent.objects.filter(case=case).values_list("pk", "kind")),
        "deadlines": list(Deadline.objects.filter(case=case).values_list("pk", "due_at", "met_at", "paused_at",
                                                                          "extended_by", "excluded")),
        "extensions": list(Extension.objects.filter(deadline__case=case).values_list("pk", "approved")),
        "grants": list(CaseUserObjectPermission.objects.filter(content_object=case).values_list("pk"))
        + list(CaseGroupObjectPermission.objects.filter(content_object=case).values_list("pk")),
        "notifications": Notification.objects.count(),
    }


def refused(case: Case, name: str, actor: Any, data: dict[str, Any], error: type, message: str) -> Any:
    before = snapshot(case)
    with pytest.raises(error) as caught:
        services.transition(case.pk, name, actor=actor, data=data, at=local(2026, 3, 6, 9))
    assert message in caught.value.message
    assert snapshot(case) == before
    return caught.value


@pytest.fixture
def accepted(cast):
    return services.transition(
        report(cast), "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk},
    )


def test_an_unknown_transition_is_named(cast, accepted):
    refused(accepted, "approve_everything", cast.olga, {}, UnknownOperation, "“approve_everything”")


def test_a_transition_from_the_wrong_stage_names_the_current_stage(cast, accepted):
    error = refused(accepted, "follow_up", cast.olga, {"record": "x", "satisfaction": "satisfied"}, WrongStage,
                    "while the case is “Investigating”")
    assert error.status == 409 and error.details["stage"] == "investigating"


def test_missing_required_data_names_each_field(cast, accepted):
    error = refused(accepted, "resolve", cast.mia, {"outcome": "agreement_written"}, InvalidData, "summary")
    # A written agreement also needs its signed document (issue 15).
    assert set(error.errors) == {"summary", "agreement"}
    error = refused(accepted, "resolve", cast.mia, {"outcome": "bribe", "summary": "x"}, InvalidData, "outcome")
    assert "not one of the available choices" in error.errors["outcome"][0]


def test_accept_needs_an_assignee_and_a_lead_department(cast):
    case = report(cast)
    error = refused(case, "accept", cast.olga, {}, InvalidData, "assignee")
    assert set(error.errors) == {"assignee", "lead_department"}
    # A village is not a department, and someone of another township cannot take the case.
    error = refused(case, "accept", cast.olga, {"assignee": cast.owen.pk, "lead_department": cast.dongwan.pk},
                    InvalidData, "lead department: Choose a department")
    assert "not a member of the responsible unit" in error.errors["assignee"][0]


def test_an_actor_without_the_permission_is_refused(cast, accepted):
    error = refused(accepted, "resolve", cast.olga, {"outcome": "agreement_oral", "summary": "x"}, NotPermitted,
                    "You may not “Resolve”")
    assert error.status == 403


def test_a_case_out_of_reach_is_not_found_rather_than_forbidden(cast, accepted):
    error = refused(accepted, "note", cast.nina, {"text": "?"}, CaseNotFound, "No such case")
    assert error.status == 404
    with pytest.raises(CaseNotFound):
        services.transition(999999, "note", actor=cast.olga, data={"text": "?"})


def test_escalating_from_the_top_of_the_tree_is_refused(cast):
    case = report(cast, actor=cast.cora, responsible_unit=cast.county.pk, village="")
    refused(case, "escalate", cast.carl, {"reason": "?"}, ConditionUnmet, "no unit above")


def test_an_extension_beyond_the_rules_cap_is_refused(cast, accepted):
    clock = Deadline.objects.get(case=accepted, kind="investigation")
    error = refused(accepted, "request_extension", cast.mia, {"deadline": clock.pk, "amount": 8, "reason": "x"},
                    InvalidData, "At most 7 calendar days")
    assert set(error.errors) == {"amount"}


def test_an_extension_approved_by_its_own_requester_is_refused(cast, accepted):
    clock = Deadline.objects.get(case=accepted, kind="investigation")
    services.transition(accepted, "request_extension", actor=cast.olga,
                        data={"deadline": clock.pk, "amount": 3, "reason": "补充调查。"})
    # olga may not decide at all; sam may, but not for a request of his own.
    refused(accepted, "decide_extension", cast.olga, {"deadline": clock.pk, "approve": "yes"}, NotPermitted,
            "Decide extension")
    clock2 = Deadline.objects.get(case=accepted, kind="investigation")
    assert clock2.extended_by == 0


def test_the_same_person_cannot_request_and_approve(cast, accepted):
    from cases.models import Membership, Role

    Membership.objects.create(user=cast.sam, unit=cast.liulin, role=Role.OFFICER)
    clock = Deadline.objects.get(case=accepted, kind="investigation")
    services.transition(accepted, "request_extension", actor=cast.sam,
                        data={"deadline": clock.pk, "amount": 3, "reason": "补充调查。"})
    refused(accepted, "decide_extension", cast.sam, {"deadline": clock.pk, "approve": "yes"}, NotPermitted,
            "someone other than the person who requested it")


def test_a_second_extension_is_refused(cast, accepted):
    clock = Deadline.objects.get(case=accepted, kind="investigation")
    services.transition(accepted, "request_extension", actor=cast.mia,
                        data={"deadline": clock.pk, "amount": 3, "reason": "补充调查。"})
    refused(accepted, "request_extension", cast.mia, {"deadline": clock.pk, "amount": 1, "reason": "再延。"},
            InvalidData, "already had its one extension")


def test_a_rule_without_extensions_refuses_any(cast):
    case = report(cast)
    clock = Deadline.objects.get(case=case, kind="acceptance")
    refused(case, "request_extension", cast.olga, {"deadline": clock.pk, "amount": 1, "reason": "x"}, InvalidData,
            "allows no extension")


def test_a_malformed_id_number_is_refused_at_intake_and_nothing_is_saved(cast):
    bad = [{**PARTIES[0], "id_number": "110105194912310021"}, {**PARTIES[1], "phone": "12345"}]
    with pytest.raises(InvalidData) as caught:
        services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk}, parties=bad)
    assert caught.value.errors["parties[1].id_number"] == ["The check digit of this ID number is wrong."]
    assert "parties[2].phone" in caught.value.errors
    assert (Case.objects.count(), Party.objects.count(), CaseEvent.objects.count(), Deadline.objects.count()) == (
        0, 0, 0, 0,
    )


@pytest.mark.parametrize(
    "id_number, message",
    [
        ("11010519491231002", "17 digits followed by a digit or X"),
        ("11010519490231002X", "birth date"),
        ("110105194912310021", "check digit"),
    ],
)
def test_id_numbers_are_checked_for_shape_birth_date_and_check_digit(cast, id_number, message):
    with pytest.raises(InvalidData) as caught:
        services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk},
                             parties=[{**PARTIES[0], "id_number": id_number}])
    assert message in caught.value.errors["parties[1].id_number"][0]


def test_a_lower_case_x_check_character_is_accepted_and_stored_upper_case(cast):
    case = services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk},
                                parties=[{**PARTIES[0], "id_number": "11010519491231002x"}])
    assert case.parties.get().id_number == "11010519491231002X"


def test_intake_without_parties_or_by_an_outsider_is_refused(cast):
    with pytest.raises(InvalidData) as caught:
        services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk}, parties=[])
    assert "at least one party" in caught.value.errors["parties"][0]
    with pytest.raises(NotPermitted):
        services.report_case(actor=cast.nina, data={**DISPUTE, "village": cast.dongwan.pk}, parties=PARTIES)
    assert Case.objects.count() == 0
