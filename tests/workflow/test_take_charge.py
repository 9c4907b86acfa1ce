"""领导包案 (issue 18): a supervisor of the responsible unit or a unit above takes personal
charge of a major or 历史遗留 case, through the one transition service; Case.leader
records it, an event each time, and the case stays among the leader's own
(workflow.queues.led_by) until it closes or the charge is released."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.conftest import accept, local, report, step
from workflow import services
from workflow.errors import ConditionUnmet, NotPermitted
from workflow.queues import led_by

pytestmark = pytest.mark.django_db

T0 = local(2026, 3, 2, 9)
T1 = local(2026, 3, 4, 10)


def major(cast) -> Case:
    return accept(cast, report(cast, at=T0, risk="major"), local(2026, 3, 3, 9))


def take(case: Case, actor, at=T1, **data) -> Case:
    return services.transition(case, "take_charge", actor=actor, data=data, at=at)


def offered(case: Case, user) -> set[str]:
    return {t.slug for t in services.available_operations(Case.objects.get(pk=case.pk), user)}


@pytest.mark.parametrize("username", ["sam", "carl"])
def test_a_supervisor_of_the_unit_or_above_takes_charge_of_a_major_case(cast, username):
    leader = getattr(cast, username)
    case = take(major(cast), leader, instructions="每周听取一次汇报。")
    assert Case.objects.get(pk=case.pk).leader == leader
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert (event.kind, event.actor, event.at, event.data) == (
        "take_charge", leader, T1, {"instructions": "每周听取一次汇报。", "leader": leader.pk})
    assert list(led_by(leader)) == [case]
    # The officers and the assignee hear who leads the case now.
    told = set(Notification.objects.filter(case=case, kind="take_charge").values_list("user__username", flat=True))
    assert told == {"olga", "mia"}


def test_a_historical_legacy_case_may_be_taken_in_charge(cast):
    case = take(report(cast, at=T0, is_legacy=True), cast.sam)
    assert Case.objects.get(pk=case.pk).leader == cast.sam


def test_an_ordinary_case_is_not_offered_nor_taken_in_charge(cast):
    case = accept(cast, report(cast, at=T0, risk="significant"), local(2026, 3, 3, 9))
    assert "take_charge" not in offered(case, cast.sam)
    with pytest.raises(ConditionUnmet):
        take(case, cast.sam)
    assert Case.objects.get(pk=case.pk).leader is None


@pytest.mark.parametrize("username", ["olga", "mia", "cora", "vic", "alice"])
def test_only_supervisors_take_charge(cast, username):
    case = major(cast)
    assert "take_charge" not in offered(case, getattr(cast, username))
    with pytest.raises(NotPermitted):
        take(case, getattr(cast, username))


def test_a_second_leader_waits_for_the_first_to_release_it(cast):
    case = take(major(cast), cast.sam)
    assert "take_charge" not in offered(case, cast.carl)
    with pytest.raises(ConditionUnmet):
        take(case, cast.carl)
    assert "release_charge" in offered(case, cast.carl)
    services.transition(case, "release_charge", actor=cast.carl, data={"reason": "改由县领导包案。"},
                        at=local(2026, 3, 5, 9))
    assert Case.objects.get(pk=case.pk).leader is None
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert (event.kind, event.data) == ("release_charge", {"reason": "改由县领导包案。", "previous_leader": cast.sam.pk})
    # Released by someone else: the leader hears of it.
    assert Notification.objects.filter(case=case, kind="release_charge", user=cast.sam).exists()
    assert not led_by(cast.sam).exists()
    take(case, cast.carl, at=local(2026, 3, 5, 10))
    assert list(led_by(cast.carl)) == [case]


def test_the_leader_releasing_it_is_not_told_of_it(cast):
    case = take(major(cast), cast.sam)
    services.transition(case, "release_charge", actor=cast.sam, data={"reason": "已化解稳定。"}, at=local(2026, 3, 5, 9))
    assert not Notification.objects.filter(case=case, kind="release_charge").exists()


def test_a_case_not_led_offers_no_release(cast):
    case = major(cast)
    assert "release_charge" not in offered(case, cast.sam)
    with pytest.raises(ConditionUnmet):
        services.transition(case, "release_charge", actor=cast.sam, data={"reason": "?"}, at=T1)


def test_the_led_case_stays_with_its_leader_until_closed(cast):
    case = take(major(cast), cast.sam)
    # Escalated to the county, it stays among the township leader's (they see it through its village).
    case = step(case, "escalate", cast.olga, local(2026, 3, 5, 9), reason="需县级协调。")
    assert list(led_by(cast.sam)) == [case]
    case = step(case, "send_back", cast.carl, local(2026, 3, 6, 9), instructions="属地化解。")
    case = step(case, "resolve", cast.mia, local(2026, 3, 9, 9), outcome="agreement_oral", summary="口头协议。")
    assert list(led_by(cast.sam)) == [case]
    step(case, "follow_up", cast.mia, local(2026, 3, 20, 9), record="回访。", satisfaction="satisfied")
    assert not led_by(cast.sam).exists()
    # The record keeps who led it.
    assert Case.objects.get(pk=case.pk).leader == cast.sam


def test_the_system_takes_nothing_in_charge(cast):
    with pytest.raises(NotPermitted):
        take(major(cast), None)


def test_the_api_offers_and_applies_take_charge(cast):
    from tests.api.test_api import API, api

    case = major(cast)
    client = api(cast.sam)
    names = {op["name"] for op in client.get(f"{API}/cases/{case.pk}/").json()["operations"]}
    assert {"take_charge", "correct"} <= names and "release_charge" not in names
    response = client.post(f"{API}/cases/{case.pk}/transitions/take_charge/", {}, format="json")
    assert response.status_code == 200, response.content
    assert Case.objects.get(pk=case.pk).leader == cast.sam
    assert response.json()["leader_id"] == cast.sam.pk
    names = {op["name"] for op in response.json()["operations"]}
    assert "release_charge" in names and "take_charge" not in names
    refused = api(cast.olga).post(f"{API}/cases/{case.pk}/transitions/release_charge/", {"reason": "?"},
                                  format="json")
    assert refused.status_code == 403
