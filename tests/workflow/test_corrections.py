"""Correcting a case's facts after intake (issue 18): through the one transition service,
by the responsible unit's officers and supervisors, each correction an event holding the
old and new values of what changed; raising the risk to major opens the 2-hour report
clock and tells the unit above; changing the village changes who sees the case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.conftest import PETITION, accept, local, report, step
from workflow import services, tally
from workflow.errors import InvalidData, NotPermitted
from workflow.models import Deadline
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db

T0 = local(2026, 3, 2, 9)
T1 = local(2026, 3, 4, 10)


def correct(case: Case, actor, at=T1, **data):
    return services.transition(case, "correct", actor=actor, data={"reason": "登记时填错。", **data}, at=at)


def last_event(case: Case) -> CaseEvent:
    return CaseEvent.objects.filter(case=case).latest("pk")


def test_a_correction_records_only_what_changed_with_old_and_new_values(cast):
    case = accept(cast, report(cast, at=T0), local(2026, 3, 3, 9))
    # As the case page sends it: every fact, the unchanged ones as they were.
    case = correct(case, cast.olga, risk="general", category="neighbours", people_involved="5", amount="8000",
                   is_group="false", village=str(cast.dongwan.pk))
    case.refresh_from_db()
    assert (case.category, case.people_involved, case.amount) == ("neighbours", 5, Decimal("8000.00"))
    event = last_event(case)
    assert (event.kind, event.actor, event.at, event.from_stage, event.to_stage) == (
        "correct", cast.olga, T1, "investigating", "investigating")
    assert event.data == {
        "reason": "登记时填错。",
        "changes": {"category": {"from": "land_forest", "to": "neighbours"},
                    "people_involved": {"from": 2, "to": 5},
                    "amount": {"from": "12000.00", "to": "8000"}},
    }


def test_a_program_names_only_the_facts_it_corrects(cast):
    case = report(cast, at=T0)
    correct(case, cast.olga, is_group="true", amount="")
    case.refresh_from_db()
    assert case.is_group is True and case.amount is None and case.category == "land_forest"
    assert last_event(case).data["changes"] == {"is_group": {"from": False, "to": True},
                                                "amount": {"from": "12000.00", "to": None}}


@pytest.mark.parametrize("data", [{}, {"risk": "general", "people_involved": "2"}])
def test_a_correction_that_changes_nothing_is_refused_and_nothing_is_written(cast, data):
    case = report(cast, at=T0)
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(InvalidData) as refused:
        correct(case, cast.olga, **data)
    assert set(refused.value.errors) == {"__all__"} and refused.value.errors["__all__"][0]
    assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.parametrize(("data", "field"), [
    ({"amount": "-1"}, "amount"),
    ({"people_involved": ""}, "people_involved"),
    ({"risk": "catastrophic"}, "risk"),
    ({"category": ""}, "category"),
    # Found by the page fuzzer: past the database's integers, the save failed (a 500).
    ({"people_involved": str(2**63)}, "people_involved"),
    ({"amount": "1" * 20}, "amount"),
])
def test_values_are_validated_as_at_intake(cast, data, field):
    case = report(cast, at=T0)
    with pytest.raises(InvalidData) as refused:
        correct(case, cast.olga, **data)
    assert field in refused.value.errors
    assert Case.objects.get(pk=case.pk).amount == Decimal("12000.00")


def test_the_reason_is_required(cast):
    case = report(cast, at=T0)
    with pytest.raises(InvalidData) as refused:
        services.transition(case, "correct", actor=cast.olga, data={"risk": "significant"}, at=T1)
    assert set(refused.value.errors) == {"reason"}
    assert Case.objects.get(pk=case.pk).risk == "general"


def test_a_village_outside_the_holding_unit_is_refused(cast):
    case = report(cast, at=T0)
    with pytest.raises(InvalidData) as refused:
        correct(case, cast.olga, village=str(cast.nanshan.pk))
    assert "village" in refused.value.errors
    assert Case.objects.get(pk=case.pk).village == cast.dongwan


@pytest.mark.parametrize(("username", "allowed"), [
    ("olga", True), ("sam", True), ("carl", False), ("cora", False), ("mia", False), ("alice", False),
    ("vic", False)])
def test_officers_and_supervisors_of_the_responsible_unit_correct(cast, username, allowed):
    case = accept(cast, report(cast, at=T0), local(2026, 3, 3, 9))
    if allowed:
        correct(case, getattr(cast, username), risk="significant")
        assert Case.objects.get(pk=case.pk).risk == "significant"
    else:
        with pytest.raises(NotPermitted):
            correct(case, getattr(cast, username), risk="significant")
        assert Case.objects.get(pk=case.pk).risk == "general"


def test_raising_the_risk_to_major_opens_the_two_hour_clock_and_tells_the_unit_above(cast):
    case = accept(cast, report(cast, at=T0), local(2026, 3, 3, 9))
    assert not Deadline.objects.filter(case=case, kind="major_report").exists()
    correct(case, cast.olga, risk="major")
    clock = Deadline.objects.get(case=case, kind="major_report")
    # The same clock as a case registered as major: 2 hours, from the correction.
    assert (clock.started_at, clock.due_at, clock.met_at) == (T1, local(2026, 3, 4, 12), None)
    assert (clock.duration, clock.unit) == (2, "hours")
    assert last_event(case).data["deadlines_opened"] == ["major_report"]
    told = Notification.objects.filter(case=case, kind="correct")
    assert {n.user.username for n in told} == {"cora", "carl"}
    assert {n.level for n in told} == {"escalated"}
    assert "登记时填错。" in told.first().text


def test_a_major_case_registered_so_is_not_given_a_second_clock(cast):
    case = report(cast, at=T0, risk="major")
    correct(case, cast.olga, risk="significant")
    correct(case, cast.olga, risk="major", at=local(2026, 3, 2, 10))
    assert Deadline.objects.filter(case=case, kind="major_report").count() == 1


def test_a_risk_lowered_or_raised_below_major_opens_no_clock_and_tells_nobody(cast):
    case = report(cast, at=T0)
    correct(case, cast.olga, risk="significant")
    assert not Deadline.objects.filter(case=case, kind="major_report").exists()
    assert not Notification.objects.filter(case=case, kind="correct").exists()


def test_raised_on_a_resolved_case_the_unit_above_hears_but_no_clock_runs(cast):
    # The report clock runs while the case is handled below (workflow.deadlines.PLAN).
    case = step(accept(cast, report(cast, at=T0), local(2026, 3, 3, 9)), "resolve", cast.mia, local(2026, 3, 4, 9),
                outcome="agreement_oral", summary="口头协议。")
    correct(case, cast.olga, risk="major", at=local(2026, 3, 5, 9))
    assert not Deadline.objects.filter(case=case, kind="major_report").exists()
    assert Notification.objects.filter(case=case, kind="correct", user=cast.carl).exists()


def test_a_petition_raised_to_major_gets_its_clock_too(cast):
    case = report(cast, at=T0, **PETITION)
    correct(case, cast.olga, risk="major")
    assert Deadline.objects.open().filter(case=case, kind="major_report").count() == 1


def test_changing_the_village_changes_who_sees_the_case(cast):
    case = report(cast, at=T0)
    assert visible_to(cast.alice).filter(pk=case.pk).exists()
    assert not visible_to(cast.bob).filter(pk=case.pk).exists()
    correct(case, cast.olga, village=str(cast.xiling.pk))
    assert Case.objects.get(pk=case.pk).village == cast.xiling
    assert last_event(case).data["changes"] == {"village": {"from": cast.dongwan.pk, "to": cast.xiling.pk}}
    assert not visible_to(cast.alice).filter(pk=case.pk).exists()
    assert visible_to(cast.bob).filter(pk=case.pk).exists()
    # The township's people see it still; the case counts in its new village.
    assert visible_to(cast.olga).filter(pk=case.pk).exists()
    assert Case.objects.within(cast.xiling).filter(pk=case.pk).exists()
    assert not Case.objects.within(cast.dongwan).filter(pk=case.pk).exists()
    # The rollup the oversight pages read moved the case with it (workflow.tally).
    assert tally.differences() == {}


def test_a_closed_case_is_not_corrected(cast):
    from workflow.errors import WrongStage

    case = step(report(cast, at=T0), "reject", cast.olga, local(2026, 3, 3, 9), reason="不属于受理范围。")
    with pytest.raises(WrongStage):
        correct(case, cast.olga, risk="major")


def test_the_api_offers_and_applies_a_correction(cast):
    from tests.api.test_api import API, api

    case = report(cast, at=T0)
    client = api(cast.olga)
    detail = client.get(f"{API}/cases/{case.pk}/").json()
    offered = {op["name"]: op["fields"] for op in detail["operations"]}
    assert [field["name"] for field in offered["correct"]] == [
        "risk", "category", "people_involved", "amount", "is_group", "village", "reason"]
    # Each fact is named only when it changes; the reason always.
    assert [field["name"] for field in offered["correct"] if field["required"]] == ["reason"]
    response = client.post(f"{API}/cases/{case.pk}/transitions/correct/",
                           {"risk": "major", "is_group": True, "reason": "实为群体性纠纷。"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["risk"], response.json()["is_group"]) == ("major", True)
    assert last_event(case).data["changes"] == {"risk": {"from": "general", "to": "major"},
                                                "is_group": {"from": False, "to": True}}
    assert Deadline.objects.open().filter(case=case, kind="major_report").exists()
    unchanged = client.post(f"{API}/cases/{case.pk}/transitions/correct/", {"risk": "major", "reason": "再次确认。"},
                            format="json")
    assert unchanged.status_code == 400 and "__all__" in unchanged.json()["errors"]
