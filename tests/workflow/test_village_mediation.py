"""小事不出村 (docs/workflow.md: Roads beside the main one): a village's people's mediation
committee holds and mediates its own dispute through the transition service — its
director (an officer of the village) accepts and hands it to a village mediator, who
mediates and resolves it; the township sees and supervises it and takes it over when it
is escalated; a petition stays with the township. Asserted on what the database holds:
events, clocks, notifications and the monthly table."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from cases.models import Case, CaseEvent, Role
from cases.periods import parse_period
from notifications.models import Notification
from reports.ledgers import monthly_table
from tests.conftest import PETITION, Cast, local, person, report, step
from workflow import counts, services
from workflow.errors import InvalidData, NotPermitted
from workflow.models import Deadline
from workflow.permissions import assignable_users, can, visible_to
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db
MARCH = parse_period("2026-03")


@pytest.fixture
def committee(cast: Cast) -> dict[str, Any]:
    """东湾村's people's mediation committee: its director (调委会主任, an officer of the
    village) and a mediator (调解员 of the village)."""
    return {"director": person("dora", (cast.dongwan, Role.OFFICER)),
            "mediator": person("vera", (cast.dongwan, Role.MEDIATOR))}


def village_dispute(cast: Cast, **overrides: Any) -> Case:
    """alice registers a dispute of 东湾村 for the village's own committee."""
    return report(cast, village_mediation=True, **overrides)


def accepted(cast: Cast, committee: dict[str, Any], case: Case) -> Case:
    """The director accepts it; the village mediator carries it, 柳林司法所 (which guides
    people's mediation, 人民调解法 第五条) leads it."""
    return step(case, "accept", committee["director"], local(2026, 3, 2, 15), assignee=committee["mediator"].pk,
                lead_department=cast.justice.pk)


def test_a_village_worker_registers_a_dispute_for_the_village_committee(cast: Cast, committee: dict) -> None:
    case = village_dispute(cast)
    township = report(cast, title="东湾村另一宗纠纷")
    assert (case.responsible_unit, case.village, case.registered_unit) == (cast.dongwan, cast.dongwan, cast.dongwan)
    event = CaseEvent.objects.get(case=case, kind="report")
    assert event.data["village_mediation"] is True and event.data["responsible_unit"] == cast.dongwan.pk
    # The same clock on the same rule as a township's dispute: rules go by kind, not by level.
    clock = Deadline.objects.get(case=case, kind="acceptance")
    theirs = Deadline.objects.get(case=township, kind="acceptance")
    assert (clock.rule_id, clock.due_at, clock.legal_basis) == (theirs.rule_id, theirs.due_at, theirs.legal_basis)
    # The news of it goes to the committee's director, not the township's officers.
    told = set(Notification.objects.filter(case=case, kind=services.REPORT_NEWS).values_list("user__username",
                                                                                                flat=True))
    assert told == {"dora"}
    # The township sees it; its officer and mediator do not act on it.
    assert set(visible_to(cast.olga).filter(pk=case.pk)) == {case}
    assert not can(cast.olga, "accept_case", case)
    assert can(committee["director"], "accept_case", case)
    assert set(assignable_users(case)) == {committee["director"], committee["mediator"]}


def test_a_petition_stays_with_the_township(cast: Cast) -> None:
    with pytest.raises(InvalidData) as flagged:
        report(cast, **PETITION, village_mediation=True)
    assert "信访工作条例" in flagged.value.errors["village_mediation"][0]
    with pytest.raises(InvalidData) as named:
        report(cast, actor=cast.olga, **PETITION, responsible_unit=cast.dongwan.pk)
    assert list(named.value.errors) == ["responsible_unit"]
    # A worker of another village does not register for this village's committee.
    with pytest.raises(NotPermitted):
        report(cast, actor=cast.bob, village_mediation=True)
    assert not Case.objects.exists()


def test_the_village_mediator_carries_the_dispute_to_resolution(cast: Cast, committee: dict) -> None:
    mediator = committee["mediator"]
    case = accepted(cast, committee, village_dispute(cast))
    # The township's mediator is not the committee's to hand it to.
    with pytest.raises(InvalidData):
        step(case, "assign", committee["director"], local(2026, 3, 2, 16), assignee=cast.mia.pk)
    step(case, "start_mediation", mediator, local(2026, 3, 3, 9), findings="两户宅基地界址不清。")
    step(case, "record_session", mediator, local(2026, 3, 3, 10), held_on="2026-03-03", place="东湾村调解室",
         participants="张三、李四", record="双方同意重新丈量。")
    case = step(case, "resolve", mediator, local(2026, 3, 4, 10), outcome="agreement_oral", summary="重新丈量，口头协议。")
    assert (case.stage, case.responsible_unit_id, case.assignee_id) == (Case.Stage.RESOLVED, cast.dongwan.pk,
                                                                        mediator.pk)
    assert list(CaseEvent.objects.filter(case=case).order_by("at", "pk").values_list("kind", flat=True)) == [
        "report", "accept", "start_mediation", "record_session", "resolve"]
    met = dict(Deadline.objects.filter(case=case, met_at__isnull=False).values_list("kind", "met_at"))
    assert set(met) == {"acceptance", "investigation", "mediation"}
    assert Deadline.objects.open().filter(case=case).get().kind == "follow_up"
    # Counted in the village's township, and in the village: 排查, 调处, 成功.
    for unit in (cast.liulin, cast.dongwan):
        total = monthly_table(unit, MARCH)[-1]
        assert (total.found, total.handled, total.succeeded) == (1, 1, 1), unit
    assert counts.tally_cases(Case.objects.within(cast.liulin)) == {"found": 1, "handled": 1, "succeeded": 1}


def test_the_township_supervises_and_hears_of_it_when_late(cast: Cast, committee: dict) -> None:
    case = accepted(cast, committee, village_dispute(cast))
    assert can(cast.sam, "supervise_case", case)
    step(case, "supervise", cast.sam, local(2026, 3, 3, 9), instructions="抓紧调处，三日内回复。")
    told = set(Notification.objects.filter(case=case, kind="supervise").values_list("user__username", flat=True))
    assert told == {"dora", "vera"}
    # The investigation clock (7 日) runs out; escalated for supervision to the township's supervisors.
    clock = Deadline.objects.get(case=case, kind="investigation")
    sweep(clock.escalate_at)
    alerted = {(n.user.username, n.kind) for n in Notification.objects.filter(deadline=clock)}
    assert {("vera", "escalation"), ("dora", "escalation"), ("sam", "escalation")} <= alerted
    assert CaseEvent.objects.filter(case=case, kind="deadline_escalation", data__deadline=clock.pk).exists()


def test_escalation_moves_it_to_the_township_and_back(cast: Cast, committee: dict) -> None:
    case = accepted(cast, committee, village_dispute(cast))
    case = step(case, "escalate", committee["director"], local(2026, 3, 3, 9), reason="涉及宅基地审批，村里调解不了。")
    assert (case.stage, case.responsible_unit_id) == (Case.Stage.ESCALATED, cast.liulin.pk)
    told = set(Notification.objects.filter(case=case, kind="escalate").values_list("user__username", flat=True))
    assert told == {"olga", "sam"}
    assert Deadline.objects.open().filter(case=case).get().kind == "take_over"
    # The township takes it over as the county takes over a township's case ...
    taken = step(case, "take_over", cast.olga, local(2026, 3, 4, 9), assignee=cast.mia.pk)
    assert (taken.stage, taken.responsible_unit_id, taken.assignee_id) == (Case.Stage.INVESTIGATING, cast.liulin.pk,
                                                                           cast.mia.pk)
    # ... and the committee still follows it, as a village follows its township's cases.
    assert can(committee["director"], "note_case", taken) and not can(committee["director"], "accept_case", taken)
    assert set(Case.objects.within(cast.dongwan)) == {taken}


def test_the_township_sends_an_escalated_dispute_back_to_the_committee(cast: Cast, committee: dict) -> None:
    case = step(village_dispute(cast), "escalate", committee["director"], local(2026, 3, 3, 9), reason="需镇里协调。")
    case = step(case, "send_back", cast.sam, local(2026, 3, 4, 9), instructions="由村调委会继续调解。")
    assert (case.stage, case.responsible_unit_id, case.accepted_at) == (Case.Stage.INVESTIGATING, cast.dongwan.pk,
                                                                        local(2026, 3, 4, 9))
    case = step(case, "assign", committee["director"], local(2026, 3, 4, 10), assignee=committee["mediator"].pk)
    case = step(case, "resolve", committee["mediator"], local(2026, 3, 5, 10), outcome="agreement_oral",
                summary="双方和解。")
    assert case.stage == Case.Stage.RESOLVED


def test_the_township_finds_it_on_the_board_and_in_the_queue(cast: Cast, committee: dict, client: Any) -> None:
    # Registered in March 2026: its investigation clock is overdue on any day this runs.
    case = accepted(cast, committee, village_dispute(cast))
    # The board's selection: the supervisor's visible open cases within the units supervised.
    assert case in visible_to(cast.sam).open().within(cast.liulin).filter(counts.overdue())
    client.force_login(cast.sam)
    board = client.get(reverse("desk:board:index"))
    assert board.status_code == 200 and cast.dongwan.name in board.content.decode()
    client.force_login(cast.olga)
    assert case.number in client.get(reverse("desk:queue:index"), {"village": cast.dongwan.pk}).content.decode()
