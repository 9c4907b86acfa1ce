"""The clock of a township's monthly 矛盾纠纷排查情况表 sent upward (报送, docs/reporting.md: The
clock): opened for the month now due in every township that has begun using the system,
due when report_due says, swept into a yellow card to the township and a red card to the
township and the county's officers, each once; stopped by the submission; shown as a card
on the county's page; and a sweep that costs the same queries however many townships."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import MonthlyReport, OrgUnit, Role
from notifications.models import Notification
from reports.submission import freeze_monthly
from tests.conftest import local, person, report, unit
from workflow import counts
from workflow.calendar import get_calendar
from workflow.errors import InvalidData
from workflow.models import ReportDeadline
from workflow.report_clocks import report_due
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db
MARCH = date(2026, 3, 1)
# March's table is due the 5th of April, 清明节 (4–6 April off): Tuesday 7 April. Warned 2
# days ahead of the 5th, late on Friday 3 April: the yellow card waits for the next working
# morning, Tuesday 7 April 08:30.
WARN = local(2026, 4, 3, 23, 59, 59)
DUE = local(2026, 4, 7, 23, 59, 59)
YELLOW_SENT = local(2026, 4, 7, 8, 30)


@pytest.fixture
def begun(cast: Any) -> Any:
    """柳林镇 begins in March: a dispute registered in 东湾村. 桃源镇 has nothing."""
    return report(cast, at=local(2026, 3, 3, 9))


def cards(**filters: Any) -> Counter:
    return Counter(Notification.objects.filter(kind__startswith="report_", **filters)
                   .values_list("kind", "level", "user__username"))


def clock_of(township: OrgUnit, month: date = MARCH) -> ReportDeadline:
    return ReportDeadline.objects.get(unit=township, month=month)


def test_the_clock_opens_for_the_month_due_with_report_dues_time(cast: Any, begun: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 31, 9), tick=False)
    sweep(local(2026, 3, 31, 9))  # February is due, and 柳林镇 had not begun by then
    assert not ReportDeadline.objects.exists()

    time_machine.move_to(local(2026, 4, 1, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    sweep(local(2026, 4, 1, 10))  # a second sweep opens nothing more
    clock = clock_of(cast.liulin)
    due = report_due(cast.liulin, MARCH)
    assert (clock.due_at, clock.warn_at, clock.next_action_at) == (due.due_at, due.warn_at, due.warn_at)
    assert (clock.due_at, clock.warn_at, clock.met_at) == (DUE, WARN, None)
    assert clock.legal_basis == due.legal_basis and "次月5日" in clock.legal_basis
    assert list(ReportDeadline.objects.values_list("unit__name", "month")) == [("柳林镇", MARCH)]


def test_a_missing_table_becomes_a_yellow_then_a_red_card_once_each(cast: Any, begun: Any,
                                                                    time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 1, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    # The warning falls late on a Friday before 清明: it waits for the next working morning.
    sweep(local(2026, 4, 4, 10))
    assert cards() == Counter()
    assert "monthly tables: 1 warnings, 0 overdue, 2 notifications" in str(sweep(YELLOW_SENT))
    township = {("report_warning", "warning", "olga"): 1, ("report_warning", "warning", "sam"): 1}
    assert cards() == township
    sweep(local(2026, 4, 7, 12))
    assert cards() == township

    assert "monthly tables: 0 warnings, 1 overdue, 3 notifications" in str(sweep(local(2026, 4, 8, 0, 0)))
    sweep(local(2026, 4, 8, 9))
    sweep(local(2026, 6, 1, 9))
    # The red card: the township's officer and supervisor, and the county's officer.
    assert cards(kind="report_overdue") == {("report_overdue", "overdue", u): 1 for u in ("olga", "sam", "cora")}
    assert cards(kind="report_warning") == township
    # Nobody else: not 桃源镇, not the villages, not the county's supervisor.
    assert not Notification.objects.filter(kind__startswith="report_").exclude(
        user__username__in=["olga", "sam", "cora"]).exists()
    text = Notification.objects.filter(kind="report_overdue").first().text
    assert "柳林镇" in text and "2026-03" in text and "2026-04-07 23:59" in text
    clock = clock_of(cast.liulin)
    assert (clock.warned_at, clock.breached_at, clock.next_action_at) == (YELLOW_SENT, local(2026, 4, 8), None)
    assert counts.card(clock, local(2026, 4, 8, 9)) == "red"


def test_submitting_stops_the_clock_and_no_card_follows(cast: Any, begun: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 1, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    sweep(YELLOW_SENT)
    time_machine.move_to(local(2026, 4, 7, 10), tick=False)
    sent = freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 7, 10))
    clock = clock_of(cast.liulin)
    assert (clock.met_at, clock.next_action_at, counts.card(clock, local(2026, 4, 9))) == (
        local(2026, 4, 7, 10), None, "")
    assert (sent.due_at, sent.is_late) == (DUE, False)
    sweep(local(2026, 4, 8, 9))
    sweep(local(2026, 5, 1, 9))
    assert not Notification.objects.filter(kind="report_overdue").exists()
    assert cards() == {("report_warning", "warning", "olga"): 1, ("report_warning", "warning", "sam"): 1}


def test_a_late_submission_is_late_and_stops_the_red_clock(cast: Any, begun: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 9, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    sweep(local(2026, 4, 8, 9))
    sent = freeze_monthly(cast.sam, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 9, 9))
    assert (sent.due_at, sent.is_late) == (DUE, True)
    assert clock_of(cast.liulin).met_at == local(2026, 4, 9, 9)
    assert counts.card(clock_of(cast.liulin), local(2026, 4, 9, 10)) == ""


def test_a_submission_before_the_sweep_opens_and_stops_the_clock(cast: Any, begun: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 1, 0, 30), tick=False)
    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 1, 0, 30))
    assert clock_of(cast.liulin).met_at == local(2026, 4, 1, 0, 30)
    sweep(local(2026, 4, 1, 9))
    sweep(local(2026, 4, 9, 9))
    assert ReportDeadline.objects.count() == 1
    assert cards() == Counter()


def test_a_township_that_has_not_begun_gets_no_clock_until_it_does(cast: Any, begun: Any,
                                                                    time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 9, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    sweep(local(2026, 4, 9, 9))
    assert not ReportDeadline.objects.filter(unit=cast.taoyuan).exists()
    assert not Notification.objects.filter(user=cast.owen).exists()
    # 桃源镇 begins with its February table, sent on 9 April: it has used the system since
    # February, so March's table, due and missing, is pressed for at the next sweep.
    freeze_monthly(cast.owen, cast.taoyuan, "2026-02", "赵镇长", at=local(2026, 4, 9, 9))
    sweep(local(2026, 4, 10, 9))
    assert set(ReportDeadline.objects.filter(unit=cast.taoyuan).values_list("month", "met_at")) == {
        (date(2026, 2, 1), local(2026, 4, 9, 9)), (MARCH, None)}
    assert cards(user__username__in=["owen", "cora"]) == {("report_overdue", "overdue", "owen"): 1,
                                                         ("report_overdue", "overdue", "cora"): 2}
    time_machine.move_to(local(2026, 5, 1, 9), tick=False)
    sweep(local(2026, 5, 1, 9))
    assert set(ReportDeadline.objects.filter(month=date(2026, 4, 1)).values_list("unit__name", flat=True)) == {
        "柳林镇", "桃源镇"}


def test_the_county_page_shows_each_townships_card(cast: Any, begun: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 1, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    url, data = reverse("desk:ledgers:monthly"), {"unit": cast.county.pk, "period": "2026-03"}

    def page() -> str:
        client.force_login(cast.carl)  # a login ends after 30 idle minutes, and the days move on
        return client.get(url, data).content.decode()

    def card_of(township: OrgUnit) -> str:
        html = page()
        start = html.index(f'data-township="{township.pk}"')
        return html[start:html.index(">", start)]

    assert 'data-card=""' in card_of(cast.liulin)
    time_machine.move_to(local(2026, 4, 7, 10), tick=False)
    assert 'data-card="yellow"' in card_of(cast.liulin)
    time_machine.move_to(local(2026, 4, 8, 9), tick=False)
    html = page()
    assert f'data-township="{cast.liulin.pk}" data-status="missing" data-card="red"' in html
    # 桃源镇 has not begun: missing by the rule, but no clock and so no card.
    assert f'data-township="{cast.taoyuan.pk}" data-status="missing" data-card=""' in html
    assert "no yellow or red card is sent" not in html
    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 8, 9))
    assert 'data-status="late" data-card=""' in card_of(cast.liulin)


def test_the_sweep_costs_the_same_queries_however_many_townships(cast: Any, begun: Any, time_machine: Any) -> None:
    """March with 柳林镇 alone, then April with four townships more: opening the clocks,
    the yellow cards and the red cards take as many statements for five as for one."""
    counted: dict[str, list[int]] = {}
    rounds = {
        "one": (MARCH, [local(2026, 4, 1, 9), YELLOW_SENT, local(2026, 4, 8, 9)]),
        # April's table: due 6 May (劳动节 1–5 May), warned 3 May, yellow card on the 6th.
        "five": (date(2026, 4, 1), [local(2026, 5, 1, 9), local(2026, 5, 6, 8, 30), local(2026, 5, 7, 9)]),
    }
    for size, (month, moments) in rounds.items():
        if size == "five":
            for n in range(4):
                township = unit(f"QY-X{n}", f"新{n}镇", OrgUnit.Level.TOWNSHIP, cast.county)
                officer = person(f"officer-x{n}", (township, Role.OFFICER))
                person(f"leader-x{n}", (township, Role.SUPERVISOR))
                MonthlyReport.objects.create(unit=township, month=MARCH, signed_by="镇长", submitted_by=officer,
                                             submitted_at=local(2026, 4, 2, 9))
            report(cast, at=local(2026, 4, 2, 9))  # 柳林镇 goes on using it
        townships = list(OrgUnit.objects.filter(level=OrgUnit.Level.TOWNSHIP))
        for township in townships:  # warm: the rules, profiles and calendar are cached
            report_due(township, month)
        get_calendar()
        counted[size] = []
        for moment in moments:
            time_machine.move_to(moment, tick=False)
            with CaptureQueriesContext(connection) as captured:
                sweep(moment)
            counted[size].append(len(captured))
        assert ReportDeadline.objects.filter(month=month, breached_at__isnull=False).count() == (
            1 if size == "one" else 5)
    # The county's officer hears of each red card: one in March, five in April.
    assert cards(kind="report_overdue", user__username="cora") == {("report_overdue", "overdue", "cora"): 6}
    assert counted["one"] == counted["five"], counted


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweepers_at_once_send_each_card_once(time_machine: Any) -> None:
    from tests.conftest import build_cast
    from tests.workflow.test_concurrency import race

    cast = build_cast()
    report(cast, at=local(2026, 3, 3, 9))
    report(cast, actor=cast.nina, at=local(2026, 3, 4, 9), village=cast.nanshan.pk)
    time_machine.move_to(local(2026, 4, 8, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    results = race(lambda i: sweep(local(2026, 4, 8, 9), batch=1) if i < 2 else None)
    assert not [r for r in results if isinstance(r, Exception)], results
    # Both steps came at once for each township: the red card is the one people hear of.
    assert sum(r.reports["overdue"] for r in results[:2]) == 2
    assert cards() == {("report_overdue", "overdue", u): 1 for u in ("olga", "sam", "owen")} | {
        ("report_overdue", "overdue", "cora"): 2}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_people_submitting_at_once_leave_one_table_and_one_stop(time_machine: Any) -> None:
    from tests.conftest import build_cast
    from tests.workflow.test_concurrency import race

    cast = build_cast()
    report(cast, at=local(2026, 3, 3, 9))
    time_machine.move_to(local(2026, 4, 2, 9), tick=False)
    sweep(local(2026, 4, 1, 9))
    people = [cast.olga, cast.sam]
    results = race(lambda i: freeze_monthly(people[i], cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 9, i))
                   if i < 2 else None)
    sent = [r for r in results[:2] if isinstance(r, MonthlyReport)]
    assert len(sent) == 1 and all(isinstance(r, InvalidData) for r in results[:2] if r not in sent), results
    assert MonthlyReport.objects.count() == 1
    assert clock_of(cast.liulin).met_at == sent[0].submitted_at
