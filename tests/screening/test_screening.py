"""Monthly screening returns (排查表): filing, refusals, the clocks the sweep turns into
yellow and red cards, the supervision board; and concealment suspects (瞒报)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from cases.models import Case, CaseEvent, ScreeningItem, ScreeningReturn
from notifications.models import Notification
from screening.returns import (
    concealment_suspects,
    decide_suspect,
    overdue_returns,
    return_statuses,
    submit_return,
)
from tests.conftest import DISPUTE, PARTIES, PETITION, local, report
from workflow import counts
from workflow.errors import CaseNotFound, ConditionUnmet, InvalidData, NotPermitted
from workflow.models import ReturnDeadline
from workflow.return_clocks import return_clock
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Any:
    # The messages are asserted in their English source form.
    with translation.override("en"):
        yield


def file(cast: Any, village: Any, month: str, at: Any, actor: Any = None, **kwargs: Any) -> ScreeningReturn:
    actor = actor or (cast.alice if village == cast.dongwan else cast.bob)
    kwargs.setdefault("signed_off_by", "王村长")
    if "items" not in kwargs:
        kwargs.setdefault("nil", True)
    return submit_return(actor=actor, village=village, month=month, at=at, **kwargs)


def state() -> tuple[int, ...]:
    return (ScreeningReturn.objects.count(), ScreeningItem.objects.count(), Case.objects.count(),
            ReturnDeadline.objects.filter(met_at__isnull=False).count())


def test_a_village_files_its_return_with_found_and_registered_disputes(cast):
    known = report(cast, at=local(2026, 3, 4, 9), source="110")
    filed = submit_return(
        actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长", at=local(2026, 4, 3, 10),
        items=[{"case": known.pk, "note": "已受理"},
               {"report": {"data": {**DISPUTE, "title": "东湾村宅基地纠纷", "category": "housing_plot"},
                           "parties": PARTIES}, "found_at": local(2026, 3, 20, 15)}],
    )
    assert (filed.village, filed.month, filed.is_nil, filed.is_late, filed.submitted_by) == (
        cast.dongwan, date(2026, 3, 1), False, False, cast.alice)
    new = Case.objects.get(title="东湾村宅基地纠纷")
    assert (new.source, new.village, new.reported_at, new.reporter) == (
        "screening", cast.dongwan, local(2026, 3, 20, 15), cast.alice)
    assert set(filed.items.values_list("case", "note")) == {(known.pk, "已受理"), (new.pk, "")}
    clock = ReturnDeadline.objects.get(village=cast.dongwan, month=date(2026, 3, 1))
    assert (clock.met_at, clock.next_action_at) == (local(2026, 4, 3, 10), None)
    # Registered through the service: its audit event and acceptance clock exist.
    assert new.events.get().kind == "report" and new.deadlines.filter(kind="acceptance").exists()


def test_a_nil_report_and_the_township_officer_filing_for_a_village(cast):
    filed = file(cast, cast.xiling, "2026-03", local(2026, 4, 1, 9), actor=cast.olga)
    assert filed.is_nil and filed.submitted_by == cast.olga and not filed.items.exists()


@pytest.mark.parametrize("actor", ["bob", "owen", "mia", "pete"])
def test_only_the_village_and_its_township_officers_file(cast, actor):
    with pytest.raises(NotPermitted):
        file(cast, cast.dongwan, "2026-03", local(2026, 4, 1, 9), actor=getattr(cast, actor))
    assert state() == (0, 0, 0, 0)


def test_a_second_return_for_the_same_month_is_refused_and_nothing_changes(cast):
    file(cast, cast.dongwan, "2026-03", local(2026, 4, 1, 9))
    before = state()
    with pytest.raises(InvalidData, match="already filed its return for 2026-03") as refused:
        file(cast, cast.dongwan, "2026-03", local(2026, 4, 2, 9), actor=cast.olga, nil=False,
             items=[{"report": {"data": DISPUTE, "parties": PARTIES}}])
    assert "month" in refused.value.errors
    assert state() == before


def test_a_return_after_its_month_closed_or_before_it_ended_is_refused(cast):
    # March's return is due Monday 27 April (the 25th is a Saturday) and the month
    # closes at the end of April.
    with pytest.raises(InvalidData, match="closed on 2026-05-01 00:00"):
        file(cast, cast.dongwan, "2026-03", local(2026, 5, 1, 0, 0))
    with pytest.raises(InvalidData, match="once the month is over"):
        file(cast, cast.dongwan, "2026-03", local(2026, 3, 31, 18))
    assert state() == (0, 0, 0, 0) and not ReturnDeadline.objects.exists()
    late = file(cast, cast.dongwan, "2026-03", local(2026, 4, 30, 23))
    assert late.is_late


@pytest.mark.parametrize("kwargs, field, message", [
    ({"nil": True, "items": [{"case": 1}]}, "items", "A nil report lists no disputes"),
    ({"nil": False, "items": []}, "items", "List the disputes found"),
    ({"signed_off_by": " "}, "signed_off_by", "signs the return off"),
    ({"month": "2026-3"}, "month", "YYYY-MM"),
    ({"nil": False, "items": [{"case": 999999}]}, "items[1].case", "no such case in 东湾村"),
    ({"nil": False, "items": [{"report": {"data": {**DISPUTE, "category": "gossip"}, "parties": PARTIES}}]},
     "items[1].category", "gossip"),
])
def test_bad_returns_are_refused_with_the_field_named(cast, kwargs, field, message):
    args = {"nil": True, "signed_off_by": "王村长", "month": "2026-03", **kwargs}
    with pytest.raises(InvalidData) as refused:
        submit_return(actor=cast.alice, village=cast.dongwan, at=local(2026, 4, 2, 9), **args)
    assert field in refused.value.errors and message in refused.value.message
    assert state() == (0, 0, 0, 0)


def test_a_case_of_another_village_cannot_be_listed(cast):
    theirs = report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 3, 9))
    with pytest.raises(InvalidData, match="no such case in 东湾村"):
        file(cast, cast.dongwan, "2026-03", local(2026, 4, 2, 9), nil=False, items=[{"case": theirs.pk}])


def returns_begun(cast: Any) -> None:
    """柳林镇 begins: both its villages file February's return; 桃源镇 never files."""
    file(cast, cast.dongwan, "2026-02", local(2026, 3, 2, 9))
    file(cast, cast.xiling, "2026-02", local(2026, 3, 2, 9))


def received(**filters: Any) -> Counter:
    return Counter(Notification.objects.filter(**filters).values_list("kind", "user__username"))


def test_a_missing_return_becomes_a_yellow_then_red_card_once_each(cast):
    returns_begun(cast)
    file(cast, cast.dongwan, "2026-03", local(2026, 4, 3, 9))
    # April's first sweep opens March's clocks for 柳林镇's villages only.
    assert "screening returns" not in str(sweep(local(2026, 4, 10, 9)))
    assert set(ReturnDeadline.objects.filter(month=date(2026, 3, 1)).values_list("village__name", "met_at")) == {
        ("东湾村", local(2026, 4, 3, 9)), ("西岭村", None)}
    xiling = ReturnDeadline.objects.get(village=cast.xiling, month=date(2026, 3, 1))
    assert (xiling.warn_at, xiling.due_at) == (local(2026, 4, 22, 23, 59, 59), local(2026, 4, 27, 23, 59, 59))
    # The yellow card comes late on a Wednesday: it waits for Thursday morning.
    sweep(local(2026, 4, 23, 0, 30))
    assert not Notification.objects.exists()
    report_text = str(sweep(local(2026, 4, 23, 8, 30)))
    assert "screening returns: 1 warnings, 0 overdue, 2 notifications" in report_text
    assert received() == {("return_warning", "bob"): 1, ("return_warning", "olga"): 1}
    sweep(local(2026, 4, 24, 9))
    assert received() == {("return_warning", "bob"): 1, ("return_warning", "olga"): 1}
    assert list(overdue_returns(cast.liulin, local(2026, 4, 27, 12))) == []

    assert "screening returns: 0 warnings, 1 overdue" in str(sweep(local(2026, 4, 28, 0, 0)))
    sweep(local(2026, 4, 28, 9))
    sweep(local(2026, 6, 1, 9))
    assert received(kind="return_overdue") == {("return_overdue", "bob"): 1, ("return_overdue", "olga"): 1}
    text = Notification.objects.filter(kind="return_overdue").first().text
    assert "西岭村" in text and "2026-03" in text and "2026-04-27 23:59" in text
    xiling.refresh_from_db()
    assert (xiling.warned_at, xiling.breached_at, counts.card(xiling, local(2026, 6, 1, 9)), xiling.next_action_at) == (
        local(2026, 4, 23, 8, 30), local(2026, 4, 28), "red", None)
    # Nobody in 桃源镇 or the county hears of it, and 南山村 owes nothing yet.
    assert not Notification.objects.filter(user__username__in=["owen", "nina", "alice", "sam", "carl"]).exists()
    assert not ReturnDeadline.objects.filter(village=cast.nanshan).exists()


def test_the_board_lists_overdue_returns_within_reach(cast):
    returns_begun(cast)
    sweep(local(2026, 4, 10, 9))
    at = local(2026, 4, 28, 9)
    board = list(overdue_returns(cast.liulin, at))
    assert [(r.village.name, r.month) for r in board] == [("东湾村", date(2026, 3, 1)), ("西岭村", date(2026, 3, 1))]
    assert [r.village.name for r in overdue_returns(cast.olga, at)] == ["东湾村", "西岭村"]
    assert [r.village.name for r in overdue_returns(cast.bob, at)] == ["西岭村"]
    assert list(overdue_returns(cast.owen, at)) == []
    # A late return is no longer overdue; it is recorded as late.
    late = file(cast, cast.xiling, "2026-03", local(2026, 4, 29, 9))
    assert late.is_late
    assert [r.village.name for r in overdue_returns(cast.liulin, local(2026, 4, 29, 10))] == ["东湾村"]
    statuses = {s.village.name: (s.status, s.is_late) for s in return_statuses(cast.liulin, "2026-03",
                                                                               local(2026, 4, 29, 10))}
    assert statuses == {"东湾村": ("missing", False), "西岭村": ("nil", True)}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweepers_at_once_send_each_return_card_once():
    from tests.conftest import build_cast
    from tests.workflow.test_concurrency import race

    cast = build_cast()
    returns_begun(cast)
    sweep(local(2026, 4, 10, 9))
    results = race(lambda i: sweep(local(2026, 4, 28, 9), batch=1) if i < 2 else None)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.returns["overdue"] for r in results[:2]) == 2
    assert received() == {("return_overdue", u): 1 for u in ("alice", "bob", "olga")} | {
        ("return_overdue", "olga"): 2}


# ---------------------------------------------------------------------------------------
# Concealment suspects.


@pytest.fixture
def hand_built_march(cast: Any) -> dict[str, Case]:
    """March 2026 in 柳林镇. 东湾村 lists A and C on its return; B and D came through other
    channels and are not on it; E is April's; F accuses the village itself. 西岭村 files
    nil while G came from the court. 南山村 is another township's."""
    made = {
        "A": report(cast, at=local(2026, 3, 5, 9), source="110", title="A"),
        "B": report(cast, at=local(2026, 3, 10, 9), source="12345", title="B"),
        "C": report(cast, at=local(2026, 3, 12, 9), source="screening", title="C"),
        "D": report(cast, actor=cast.olga, at=local(2026, 3, 31, 23), source="visit", title="D"),
        "E": report(cast, at=local(2026, 4, 1, 0, 30), source="110", title="E"),
        "F": report(cast, actor=cast.olga, at=local(2026, 3, 15, 9),
                    **{**PETITION, "petition_type": "accusation", "accused_unit": cast.dongwan.pk,
                       "source": "letter", "title": "F"}),
        "G": report(cast, actor=cast.olga, at=local(2026, 3, 8, 9), village=cast.xiling.pk, source="court",
                    title="G"),
        "H": report(cast, actor=cast.nina, at=local(2026, 3, 8, 9), village=cast.nanshan.pk, source="110",
                    title="H"),
    }
    file(cast, cast.dongwan, "2026-03", local(2026, 4, 2, 9), nil=False,
         items=[{"case": made["A"].pk}, {"case": made["C"].pk}])
    file(cast, cast.xiling, "2026-03", local(2026, 4, 2, 9))
    return made


def test_suspects_are_the_other_channel_cases_missing_from_the_return(cast, hand_built_march):
    made = hand_built_march
    found = {v.village.name: v for v in concealment_suspects(cast.liulin, "2026-03", at=local(2026, 4, 5))}
    assert set(found) == {"东湾村", "西岭村"}
    assert found["东湾村"].case_ids == [made["B"].pk, made["D"].pk]
    assert found["东湾村"].return_status == "filed"
    assert [(s.number, s.source) for s in found["东湾村"].suspects] == [
        (made["B"].number, "12345"), (made["D"].number, "visit")]
    assert (found["西岭村"].case_ids, found["西岭村"].return_status) == ([made["G"].pk], "nil")
    # A village with no return at all: every other-channel case of the month.
    assert [v.case_ids for v in concealment_suspects(cast.nanshan, "2026-03", at=local(2026, 4, 30))] == [
        [made["H"].pk]]
    assert concealment_suspects(cast.liulin, "2026-02") == []


def test_an_officer_confirms_or_dismisses_a_suspect_as_an_event(cast, hand_built_march):
    made = hand_built_march
    event = decide_suspect(made["B"], actor=cast.olga, confirm=True, reason="网格员知情未报。", at=local(2026, 4, 6, 9))
    assert (event.kind, event.actor, event.from_stage, event.to_stage) == (
        "concealment_confirmed", cast.olga, "reported", "reported")
    assert event.data["month"] == "2026-03" and event.data["reason"] == "网格员知情未报。"
    assert event.data["return_status"] == "filed"
    decide_suspect(made["D"].pk, actor=cast.sam, confirm=False, reason="月末最后一小时来访，来不及列入。",
                   at=local(2026, 4, 6, 10))
    made["B"].refresh_from_db()
    assert made["B"].stage == "reported"
    found = {v.village.name: v for v in concealment_suspects(cast.liulin, "2026-03")}
    assert [(s.title, s.decision, s.decided_by) for s in found["东湾村"].suspects] == [
        ("B", "confirmed", cast.olga.pk), ("D", "dismissed", cast.sam.pk)]


@pytest.mark.parametrize("case, actor, error, message", [
    ("B", "alice", NotPermitted, "officers and supervisors"),
    # 桃源镇's officer may not see 柳林镇's case at all: not found, as at every door.
    ("B", "owen", CaseNotFound, "No such case"),
    ("A", "olga", ConditionUnmet, "not a concealment suspect"),
    ("F", "olga", ConditionUnmet, "not a concealment suspect"),
])
def test_who_and_what_may_be_decided(cast, hand_built_march, case, actor, error, message):
    with pytest.raises(error, match=message):
        decide_suspect(hand_built_march[case], actor=getattr(cast, actor), confirm=True, reason="理由。")
    assert not CaseEvent.objects.filter(kind__startswith="concealment").exists()


def test_a_suspect_is_decided_once_and_with_a_reason(cast, hand_built_march):
    with pytest.raises(InvalidData, match="reason"):
        decide_suspect(hand_built_march["B"], actor=cast.olga, confirm=True, reason=" ")
    decide_suspect(hand_built_march["B"], actor=cast.olga, confirm=True, reason="属实。")
    with pytest.raises(ConditionUnmet, match="decided already"):
        decide_suspect(hand_built_march["B"], actor=cast.sam, confirm=False, reason="改判。")
    assert CaseEvent.objects.filter(kind__startswith="concealment").count() == 1


def test_a_return_clocks_card_reaches_each_person_once_by_the_databases_own_rule(cast):
    clock = return_clock(cast.xiling, date(2026, 3, 1))
    clock.save()
    sweep(local(2026, 4, 28, 9))  # past the due time of 27 April: the red card
    sent = Notification.objects.get(return_deadline=clock, user=cast.olga)
    assert (sent.kind, sent.level) == ("return_overdue", "overdue")
    # A second sweeper that got past its claim could not send it again: the database says no.
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(user=cast.olga, kind=sent.kind, level=sent.level, text="再次", created_at=sent.created_at,
                                    return_deadline=clock)
    assert Notification.objects.filter(return_deadline=clock, user=cast.olga).count() == 1
