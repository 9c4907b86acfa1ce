"""The deadline sweep on a simulated clock: the ladder of yellow card, red card and
escalation, who hears of each, office hours, supervision orders, and faults."""

from __future__ import annotations

from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from cases.models import CaseEvent
from notifications.models import Notification
from tests.conftest import PETITION, local, report
from workflow import counts, services
from workflow.calendar import get_calendar
from workflow.models import Deadline, SupervisionOrder
from workflow.sweep import next_office_time, sweep, work_queue

pytestmark = pytest.mark.django_db


def run_sweep(moment: str) -> str:
    out = StringIO()
    call_command("sweep_deadlines", "--now", moment, stdout=out)
    return out.getvalue()


def received(**filters: Any) -> set[tuple[str, str]]:
    return set(Notification.objects.filter(**filters).values_list("kind", "user__username"))


def accepted(cast: Any, at: Any = None) -> Any:
    case = report(cast, at=local(2026, 3, 2, 9))
    return services.transition(case, "accept", actor=cast.olga, at=at or local(2026, 3, 2, 10),
                               data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})


def test_the_ladder_takes_each_step_once_and_tells_exactly_those_concerned(cast):
    case = accepted(cast)
    clock = Deadline.objects.get(case=case, kind="investigation")
    # 7 日 from Monday 2 March: due Monday 9 March; warned 2 日 ahead (Saturday 7th, a rest
    # day), escalated 1 日 after.
    assert (clock.warn_at, clock.due_at, clock.escalate_at) == (
        local(2026, 3, 7, 23, 59, 59), local(2026, 3, 9, 23, 59, 59), local(2026, 3, 10, 23, 59, 59))

    assert "0 warnings, 0 overdue, 0 escalations" in run_sweep("2026-03-07T12:00")
    # The yellow card falls due late on a Saturday: it waits for Monday morning.
    assert "1 warnings deferred" in run_sweep("2026-03-08T10:00")
    assert received(deadline=clock) == set()
    assert "0 warnings" in run_sweep("2026-03-09T08:29")
    assert "1 warnings, 0 overdue" in run_sweep("2026-03-09T08:30")
    concerned = {"olga", "lena", "mia"}  # officer, lead department's liaison, assignee
    assert received(deadline=clock) == {("warning", u) for u in concerned}
    assert "0 warnings, 0 overdue, 0 escalations" in run_sweep("2026-03-09T09:00")

    assert "0 warnings, 1 overdue, 0 escalations" in run_sweep("2026-03-10T00:00")
    assert received(deadline=clock, kind="overdue") == {("overdue", u) for u in concerned}
    # Escalation reaches the supervisors of the unit above too — carl of 青阳县, not sam.
    assert "0 warnings, 0 overdue, 1 escalations" in run_sweep("2026-03-11T00:00")
    assert received(deadline=clock, kind="escalation") == {("escalation", u) for u in concerned | {"carl"}}

    before = Notification.objects.count()
    assert "0 warnings, 0 overdue, 0 escalations" in run_sweep("2026-03-20T00:00")
    assert Notification.objects.count() == before
    clock.refresh_from_db()
    assert (clock.warned_at, clock.breached_at, clock.escalated_at, clock.next_action_at) == (
        local(2026, 3, 9, 8, 30), local(2026, 3, 10), local(2026, 3, 11), None)
    assert counts.card(clock, local(2026, 3, 20)) == "red"
    kinds = list(CaseEvent.objects.filter(case=case, kind__startswith="deadline_").values_list("kind", "actor"))
    assert kinds == [("deadline_warning", None), ("deadline_overdue", None), ("deadline_escalation", None)]
    text = Notification.objects.get(deadline=clock, kind="overdue", user=cast.mia).text
    assert case.number in text and "2026-03-09 23:59" in text


def test_a_late_sweep_takes_every_passed_step_but_sends_only_the_highest(cast):
    case = accepted(cast)
    clock = Deadline.objects.get(case=case, kind="investigation")
    assert "0 warnings, 0 overdue, 1 escalations" in run_sweep("2026-03-12T10:00")
    clock.refresh_from_db()
    assert clock.warned_at == clock.breached_at == clock.escalated_at == local(2026, 3, 12, 10)
    assert {k for k, _ in received(deadline=clock)} == {"escalation"}


def test_a_met_or_paused_deadline_is_not_swept(cast):
    case = accepted(cast)
    services.transition(case, "start_mediation", actor=cast.mia, at=local(2026, 3, 3, 9), data={"findings": "属实。"})
    mediation = Deadline.objects.get(case=case, kind="mediation")
    services.transition(case, "pause_deadline", actor=cast.mia, at=local(2026, 3, 4, 9),
                        data={"deadline": mediation.pk, "reason": "等待鉴定。"})
    run_sweep("2026-06-01T10:00")
    # Only the news of its report and acceptance, nothing from the sweep.
    assert not Notification.objects.filter(case=case).exclude(kind__in=["report", "accept"]).exists()


@pytest.mark.parametrize(
    "moment, opening",
    [
        # Friday evening before the Spring Festival: Saturday 14 Feb 2026 is a make-up
        # working day (调休), so the warning goes out that morning.
        (local(2026, 2, 13, 22), local(2026, 2, 14, 8, 30)),
        # The evening before Labour Day: 1–5 May are off, Wednesday 6 May is the next.
        (local(2026, 4, 30, 22), local(2026, 5, 6, 8, 30)),
        # New Year's Eve 2025: 1–3 Jan 2026 off, Sunday 4 Jan a make-up working day.
        (local(2025, 12, 31, 22), local(2026, 1, 4, 8, 30)),
        (local(2026, 3, 9, 7, 0), local(2026, 3, 9, 8, 30)),
        (local(2026, 3, 9, 10, 0), local(2026, 3, 9, 10, 0)),
    ],
)
def test_office_hours_follow_the_official_calendar(moment, opening):
    assert next_office_time(moment, get_calendar()) == opening


def test_a_warning_at_night_before_a_holiday_goes_out_on_the_next_working_morning(cast):
    # Reported Tuesday 28 April 2026: the 3 working days are 29 and 30 April and 6 May
    # (1–5 May are the Labour Day holiday); the yellow card comes one working day
    # earlier, at the end of Thursday 30 April — a holiday evening.
    case = report(cast, at=local(2026, 4, 28, 9))
    clock = Deadline.objects.get(case=case, kind="acceptance")
    assert clock.warn_at == local(2026, 4, 30, 23, 59, 59)
    assert "1 warnings deferred" in run_sweep("2026-05-01T09:00")
    clock.refresh_from_db()
    assert clock.next_action_at == local(2026, 5, 6, 8, 30) and clock.warned_at is None
    assert "0 warnings" in run_sweep("2026-05-05T16:00")
    assert "1 warnings" in run_sweep("2026-05-06T08:30")
    assert received(deadline=clock) == {("warning", "olga")}


def test_a_major_risk_warning_goes_out_at_once_at_night(cast):
    case = report(cast, at=local(2026, 2, 13, 21), risk="major", is_group=True, people_involved=60)
    clock = Deadline.objects.get(case=case, kind="major_report")
    assert clock.warn_at == local(2026, 2, 13, 22)
    assert "1 warnings" in run_sweep("2026-02-13T22:00")
    assert received(deadline=clock) == {("warning", "olga")}


def test_a_supervision_order_is_answered_and_closed(cast):
    case = accepted(cast)
    services.transition(case, "supervise", actor=cast.sam, at=local(2026, 3, 3, 9),
                        data={"instructions": "请三个工作日内报告进展。", "days": 3})
    order = SupervisionOrder.objects.get(case=case)
    assert order.deadline.kind == "supervision" and order.deadline.due_at == local(2026, 3, 6, 23, 59, 59)
    assert set(Notification.objects.filter(kind="supervise").values_list("user__username", flat=True)) == {
        "olga", "mia"}
    services.transition(case, "reply_supervision", actor=cast.mia, at=local(2026, 3, 5, 9),
                        data={"order": order.pk, "reply": "已组织双方见面，正在调解。"})
    order.refresh_from_db()
    assert (order.replied_by, order.deadline.met_at) == (cast.mia, local(2026, 3, 5, 9))
    assert Notification.objects.filter(kind="reply_supervision", user=cast.sam).count() == 1
    services.transition(case, "close_supervision", actor=cast.sam, at=local(2026, 3, 6, 9), data={"order": order.pk})
    order.refresh_from_db()
    assert order.closed_by == cast.sam
    run_sweep("2026-03-20T10:00")
    assert not Notification.objects.filter(deadline=order.deadline).exists()


def test_an_unanswered_supervision_order_escalates_like_any_deadline(cast):
    case = accepted(cast)
    services.transition(case, "supervise", actor=cast.sam, at=local(2026, 3, 3, 9),
                        data={"instructions": "尽快化解。", "days": 1})
    order = SupervisionOrder.objects.get(case=case)
    run_sweep("2026-03-06T10:00")  # due 4 March, escalation after one more working day
    assert received(deadline=order.deadline) == {("escalation", u) for u in ("olga", "lena", "mia", "carl")}


def test_closing_a_case_stops_its_supervision_orders(cast):
    case = accepted(cast)
    services.transition(case, "supervise", actor=cast.sam, data={"instructions": "x"}, at=local(2026, 3, 3, 9))
    services.transition(case, "withdraw", actor=cast.olga, data={"reason": "撤回。"}, at=local(2026, 3, 3, 10))
    assert not Deadline.objects.open().filter(case=case).exists()


def test_with_the_channel_layer_down_the_sweep_commits_its_notifications(cast, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    class DownLayer:
        async def group_send(self, *args: Any) -> None:
            raise ConnectionError("redis is down")

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a: DownLayer())
    accepted(cast)
    with django_capture_on_commit_callbacks(execute=True) as pushes:
        result = sweep(local(2026, 3, 10, 9))
    assert pushes and result.notifications == 3
    assert Notification.objects.filter(kind="overdue").count() == 3


def test_the_sweep_reads_the_partial_index(cast):
    case = report(cast)
    clock = Deadline.objects.get(case=case)
    # Many clocks not yet due (and many already met) around the few that are.
    Deadline.objects.bulk_create(
        Deadline(case=case, kind="acceptance", rule=clock.rule, duration=3, unit="working",
                 started_at=clock.started_at, due_at=clock.due_at, warn_at=clock.warn_at,
                 escalate_at=clock.escalate_at, next_action_at=local(2027, 1, 1 + i % 28),
                 met_at=local(2026, 3, 3) if i % 2 else None)
        for i in range(4000)
    )
    sql, params = work_queue(local(2026, 3, 4, 9), 500).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE workflow_deadline")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "deadline_sweep_queue" in plan, plan


def test_the_command_refuses_a_bad_moment():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO-8601"):
        run_sweep("next tuesday")


def test_counts_are_per_recipient_and_step(cast):
    for _ in range(3):
        accepted(cast)
    sweep(local(2026, 3, 10, 9))
    counts = Counter(Notification.objects.filter(kind="overdue").values_list("user__username", flat=True))
    assert counts == {"olga": 3, "lena": 3, "mia": 3}


def test_a_looping_sweeper_survives_a_failed_sweep(monkeypatch):
    import workflow.management.commands.sweep_deadlines as command

    calls: list[int] = []

    def flaky(moment: Any) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        if len(calls) == 3:
            raise KeyboardInterrupt  # ends the loop for the test
        return "0 warnings"

    monkeypatch.setattr(command, "sweep", flaky)
    monkeypatch.setattr(command.time, "sleep", lambda s: None)
    out, err = StringIO(), StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("sweep_deadlines", "--loop", "1", stdout=out, stderr=err)
    assert "sweep failed" in err.getvalue() and "database restarting" in err.getvalue()
    assert "sweep: 0 warnings" in out.getvalue() and len(calls) == 3


def test_a_petition_draws_one_yellow_and_one_red_card_for_its_registration_duty(cast):
    # 信访工作条例 第二十二、二十三条: registered, routed and the petitioner told within 15 日
    # of Monday 2 March — one duty, due Tuesday 17 March; warned 3 日 ahead.
    case = report(cast, at=local(2026, 3, 2, 9), **PETITION)
    run_sweep("2026-03-16T09:00")
    run_sweep("2026-03-18T09:00")
    cards = Counter(Notification.objects.filter(case=case, user=cast.olga).exclude(kind="report")
                    .values_list("kind", flat=True))
    assert cards == {"warning": 1, "overdue": 1}
    assert Deadline.objects.filter(case=case).count() == 1
