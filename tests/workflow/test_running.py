"""The earliest due and warning times of a case's running clocks and the nearest due time
of its open ones, kept on the case row by the database (workflow.running): after every step of every road of the state machine they
equal a recount from the clocks; a pause, a resumption, a supervision order, a clock moved,
moved to another case or deleted by hand keep them too; the cards read off them are those
of the clocks (workflow.counts.card) at every moment; and `recount` rebuilds them for a
database written with the triggers off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Q

from cases.models import Case
from tests.conftest import local, report
from tests.workflow.test_counts import ROADS
from workflow import counts, running, services
from workflow.models import Deadline, DeadlineKind

pytestmark = pytest.mark.django_db


def cards_by_the_clocks(at: Any) -> dict[int, str]:
    """Each case's card at `at` from its clocks one by one (counts.card): red if any is
    red, else yellow if any is yellow."""
    out: dict[int, str] = {}
    for clock in Deadline.objects.all():
        card = counts.card(clock, at)
        if card == "red" or (card == "yellow" and out.get(clock.case_id) != "red"):
            out[clock.case_id] = card
    return out


def cards_by_the_rows(at: Any) -> dict[int, str]:
    """Each case's card at `at` as every list and count reads it (counts.overdue, warned)."""
    rows = Case.objects.annotate(red=counts.overdue(at), warned=counts.warned(at)).values_list("pk", "red", "warned")
    return {pk: "red" if red else "yellow" for pk, red, warned in rows if red or warned}


def assert_cards_agree(moments: list[Any]) -> None:
    for at in moments:
        assert cards_by_the_rows(at) == cards_by_the_clocks(at), at


def test_every_step_of_every_road_keeps_them_equal_to_the_clocks(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 30, 10), tick=False)
    for name, (steps, _, _) in ROADS.items():
        case = report(cast, at=local(2026, 3, 2, 9), title=name)
        assert running.differences() == {}, name
        for day, (operation, actor, data) in enumerate(steps, start=3):
            values = {key: getattr(cast, value).pk if key in ("assignee", "lead_department") else value
                      for key, value in data.items()}
            case = services.transition(case, operation, actor=getattr(cast, actor), data=values,
                                       at=local(2026, 3, day, 10))
            assert running.differences() == {}, (name, operation)
    # Open cases with running clocks, and closed ones with none: both are there.
    assert Case.objects.filter(running_due_at__isnull=False).exists()
    assert Case.objects.filter(stage=Case.Stage.CLOSED, running_due_at__isnull=True).exists()
    # Before any warning, while some are yellow, and once every running clock is past due.
    assert_cards_agree([local(2026, 3, 2, 9), local(2026, 3, 9, 10), local(2026, 4, 30, 10), local(2027, 3, 1)])


def test_a_pause_a_resumption_and_a_supervision_order_keep_them(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 11, 30, 10), tick=False)
    case = report(cast, at=local(2026, 11, 2, 9))
    case = services.transition(case, "accept", actor=cast.olga, at=local(2026, 11, 3, 10),
                               data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    clock = case.deadlines.get(met_at__isnull=True)
    row = Case.objects.get(pk=case.pk)
    assert (row.running_due_at, row.running_warn_at) == (clock.due_at, clock.warn_at)
    case = services.transition(case, "pause_deadline", actor=cast.olga, at=local(2026, 11, 4, 9),
                               data={"deadline": clock.pk, "reason": "等待伤情鉴定"})
    # Paused: no clock runs, so no card however late it gets; it is still the nearest deadline.
    assert Case.objects.filter(pk=case.pk, running_due_at__isnull=True, running_warn_at__isnull=True,
                               next_due_at=clock.due_at).exists()
    assert case.pk not in cards_by_the_rows(local(2027, 1, 1))
    case = services.transition(case, "resume_deadline", actor=cast.olga, at=local(2026, 11, 20, 9),
                               data={"deadline": clock.pk})
    clock.refresh_from_db()
    assert Case.objects.get(pk=case.pk).running_due_at == clock.due_at > local(2026, 11, 20, 9)
    services.transition(case, "supervise", actor=cast.sam, at=local(2026, 11, 21, 10),
                        data={"instructions": "五个工作日内化解。", "days": 5})
    assert running.differences() == {}
    assert Deadline.objects.filter(case=case, kind=DeadlineKind.SUPERVISION, met_at__isnull=True).exists()
    assert_cards_agree([local(2026, 11, 21, 11), local(2026, 11, 26, 10), local(2026, 12, 31)])


def test_writers_other_than_the_service_keep_them(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 30, 10), tick=False)
    first, second = (report(cast, at=local(2026, 3, 2 + i, 9), title=f"案{i}") for i in range(2))
    clock = Deadline.objects.get(case=first, met_at__isnull=True)
    # Moved by hand, in SQL through the ORM: later, then earlier than the other clock.
    Deadline.objects.filter(pk=clock.pk).update(due_at=clock.due_at + timedelta(days=30),
                                                warn_at=clock.warn_at + timedelta(days=30))
    assert Case.objects.get(pk=first.pk).running_due_at == clock.due_at + timedelta(days=30)
    # A window of the parties' (司法确认) never makes a card, however near.
    Deadline.objects.create(case=first, kind=DeadlineKind.JUDICIAL_CONFIRMATION, rule=clock.rule, duration=1,
                            unit=clock.unit, started_at=clock.started_at, due_at=local(2026, 3, 3),
                            warn_at=local(2026, 3, 3), escalate_at=local(2026, 3, 4), legal_basis="")
    row = Case.objects.get(pk=first.pk)
    assert row.running_due_at == clock.due_at + timedelta(days=30)
    # It is the nearest deadline all the same.
    assert row.next_due_at == local(2026, 3, 3)
    # Given to another case, then met, then deleted: both cases follow.
    Deadline.objects.filter(pk=clock.pk).update(case=second)
    assert Case.objects.get(pk=first.pk).running_due_at is None
    assert running.differences() == {}
    Deadline.objects.filter(case=second).update(met_at=local(2026, 4, 1))
    assert Case.objects.filter(pk=second.pk, running_due_at__isnull=True, running_warn_at__isnull=True,
                               next_due_at__isnull=True).exists()
    Deadline.objects.filter(case=second).update(met_at=None)
    Deadline.objects.filter(pk=clock.pk).delete()
    assert running.differences() == {}
    # The sweep's marks are not watched: they move no time.
    Deadline.objects.filter(case=second).update(warned_at=local(2026, 4, 1), next_action_at=None)
    assert running.differences() == {}
    assert_cards_agree([local(2026, 3, 2), local(2026, 3, 20), local(2026, 4, 30, 10), local(2026, 6, 1)])


def test_recount_rebuilds_what_was_written_without_the_triggers(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 30, 10), tick=False)
    kept = report(cast, at=local(2026, 3, 2, 9))
    running.remove()
    try:
        late = report(cast, at=local(2026, 2, 2, 9), title="触发器关闭时登记")
        Deadline.objects.filter(case=kept).update(met_at=local(2026, 3, 3))
        assert set(running.differences()) == {kept.pk, late.pk}
        call_command("recount_tally")
        assert running.differences() == {}
        assert Case.objects.filter(Q(pk=kept.pk) & Q(running_due_at__isnull=True)).exists()
    finally:
        running.install()
    call_command("recount_tally", "--check")
