"""The 督办 board (issues 15 and 16): for each unit supervised and each township or
village beneath it, how many open cases show a red card, a yellow one, are escalated and
are under a supervision order, and how many returns are overdue — each what the database
holds, each card's figure opening the same cases in the queue; below, the most pressing
cases only (red before yellow, the nearest due first), each row saying who carries the
case, which clock is late or warned and when it falls due (Beijing time), and whether a
supervision order is open; a case under an open order is not offered another, by the
state machine's own rule. The page costs the same queries however many cases and rows
there are (test_page_queries.py asks it against more units)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from cases.models import Case, OrgUnit
from desk.board import PRESSING
from screening.returns import overdue_returns
from tests.conftest import accept, local, report, step
from tests.desk.test_page_queries import County, grow
from workflow import counts, services
from workflow.errors import ConditionUnmet
from workflow.models import SupervisionOrder
from workflow.permissions import supervised_units, visible_to
from workflow.queues import most_pressing
from workflow.return_clocks import open_return_deadlines

pytestmark = pytest.mark.django_db

BOARD = "desk:board:index"


def zh(text: str) -> str:
    """`text` as the pages show it: in the site's language (the catalogue's words, or the
    English until the catalogue has them)."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(text)


def board_html(client: Any, user: Any) -> str:
    client.force_login(user)
    response = client.get(reverse(BOARD))
    assert response.status_code == 200
    return response.content.decode()


def row(html: str, case: Case) -> str:
    """The board's row of `case`."""
    match = re.search(rf'<tr data-case="{case.pk}".*?</tr>', html, flags=re.S)
    assert match, f"no row for {case.number}"
    return match.group(0)


@pytest.fixture
def late_and_warned(cast: Any, time_machine: Any) -> tuple[Case, Case]:
    """On Monday 9 March 2026 at 10:00: one case accepted by olga for mia (福田 米娅) on
    3 March, its 7-day investigation due 10 March, so warned; one registered on 2 March
    and never accepted, its acceptance due 5 March, so overdue."""
    time_machine.move_to(local(2026, 3, 9, 10, 0), tick=False)
    cast.mia.first_name = "米娅"
    cast.mia.save()
    warned = accept(cast, report(cast, title="已受理未办完", at=local(2026, 3, 2, 9, 0)), local(2026, 3, 3, 9, 0))
    late = report(cast, title="一直未受理", at=local(2026, 3, 2, 9, 0))
    return warned, late


def test_each_row_names_the_assignee_or_says_unassigned(cast: Any, client: Any, late_and_warned: Any) -> None:
    warned, late = late_and_warned
    html = board_html(client, cast.sam)
    assert "米娅" in row(html, warned) and zh("unassigned") not in row(html, warned)
    assert zh("unassigned") in row(html, late) and "米娅" not in row(html, late)


def test_each_row_names_the_late_or_warned_clock_and_its_due_time_in_beijing_time(
        cast: Any, client: Any, late_and_warned: Any) -> None:
    warned, late = late_and_warned
    html = board_html(client, cast.sam)
    yellow, red = row(html, warned), row(html, late)
    # The investigation clock: 7 days from 3 March, to the end of 10 March in Beijing
    # (15:59:59 UTC); the acceptance clock: 3 working days from 2 March.
    assert re.search(r'data-deadline="investigation" data-card="yellow".*?调查核实.*?2026-03-10 23:59', yellow, re.S)
    assert re.search(r'data-deadline="acceptance" data-card="red".*?受理时限.*?2026-03-05 23:59', red, re.S)
    assert 'data-deadline="acceptance"' not in yellow  # met at acceptance: no card, not listed
    assert 'data-deadline="investigation"' not in red


def test_a_case_under_an_open_order_shows_it_and_is_not_offered_another(
        cast: Any, client: Any, late_and_warned: Any) -> None:
    warned, late = late_and_warned
    # The row offers the order by name; its form arrives when opened (desk.operation_frames).
    supervise = 'data-operation="supervise"'
    assert supervise in row(board_html(client, cast.sam), warned)
    services.transition(warned, "supervise", actor=cast.sam, at=local(2026, 3, 9, 9, 0),
                        data={"instructions": "请三个工作日内报告进展。", "days": 3})
    html = board_html(client, cast.sam)
    mine = row(html, warned)
    order = SupervisionOrder.objects.get(case=warned)
    # Answer by the end of the third working day after Monday 9 March.
    assert re.search(rf'data-order="{order.pk}".*?{re.escape(zh("under supervision"))}.*?2026-03-12 23:59', mine, re.S)
    assert supervise not in mine and zh("Issue supervision order") not in mine
    # The other case, under no order, is still offered one.
    assert supervise in row(html, late)
    assert zh("under supervision") not in row(html, late)
    # Replied, the order stays open until the supervisor closes it: still no second one.
    step(warned, "reply_supervision", cast.mia, local(2026, 3, 9, 9, 30), order=order.pk, reply="已约谈双方。")
    mine = row(board_html(client, cast.sam), warned)
    assert zh("under supervision") in mine and zh("replied") in mine and supervise not in mine
    step(warned, "close_supervision", cast.sam, local(2026, 3, 9, 9, 40), order=order.pk)
    mine = row(board_html(client, cast.sam), warned)
    assert zh("under supervision") not in mine and supervise in mine


def test_the_machine_refuses_a_second_open_order_on_a_case(cast: Any) -> None:
    case = accept(cast, report(cast), local(2026, 3, 3, 9, 0))
    step(case, "supervise", cast.sam, local(2026, 3, 4, 9, 0), instructions="尽快化解。")
    with pytest.raises(ConditionUnmet):
        step(case, "supervise", cast.carl, local(2026, 3, 4, 10, 0), instructions="县里也要督办。")
    assert SupervisionOrder.objects.filter(case=case).count() == 1
    assert not case.events.filter(kind="supervise", actor=cast.carl).exists()
    # Nor does the case page, which lists what the machine allows, offer it.
    assert "supervise" not in {t.slug for t in services.available_operations(case, cast.carl)}
    order = SupervisionOrder.objects.get(case=case)
    step(case, "close_supervision", cast.sam, local(2026, 3, 5, 9, 0), order=order.pk)
    step(case, "supervise", cast.carl, local(2026, 3, 5, 10, 0), instructions="再次督办。")
    assert SupervisionOrder.objects.filter(case=case, closed_at__isnull=True).get().issued_by == cast.carl


def add_to_board(cast: Any, first: int, last: int) -> None:
    """Cases `first` to `last` - 1 on the board, of every sort a row shows: overdue and
    unassigned, warned with an assignee, under a supervision order, replied to; and one
    in 桃源镇."""
    for i in range(first, last):
        case = report(cast, title=f"纠纷{i}", at=local(2026, 3, 2, 9, 0))
        if i % 4 == 0:
            continue
        accept(cast, case, local(2026, 3, 3, 9, 0))
        if i % 4 >= 2:
            step(case, "supervise", cast.sam, local(2026, 3, 9, 8, 0), instructions="尽快。")
        if i % 4 == 3:
            order = SupervisionOrder.objects.get(case=case)
            step(case, "reply_supervision", cast.mia, local(2026, 3, 9, 9, 0), order=order.pk, reply="已办。")
    report(cast, actor=cast.nina, village=cast.nanshan.pk, title=f"南山{last}", at=local(2026, 3, 2, 9, 0))


def shown_cases(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-case="(\d+)"', html)]


def shown_figures(html: str) -> dict[int, dict[str, int]]:
    """Each unit's line of the board: unit id → figure → number."""
    return {int(unit): {name: int(n) for name, n in re.findall(r'data-figure="(\w+)">(?:<[^>]*>)?(\d+)<', line)}
            for unit, line in re.findall(r'<tr data-unit="(\d+)"[^>]*>(.*?)</tr>', html, flags=re.S)}


def held(user: Any, unit: OrgUnit, now: Any) -> dict[str, int]:
    """What the database holds of `unit`'s open cases that `user` may see, each figure
    counted on its own: by workflow.counts' definitions, the stage, the open orders and
    the returns, one query each."""
    cases = visible_to(user).open().within(unit)
    return {"red": cases.filter(counts.overdue(now)).count(),
            "yellow": cases.filter(counts.warned(now)).exclude(counts.overdue(now)).count(),
            "escalated": cases.filter(stage=Case.Stage.ESCALATED).count(),
            "supervised": cases.filter(Exists(SupervisionOrder.objects.filter(case=OuterRef("pk"),
                                                                              closed_at__isnull=True))).count(),
            "returns": overdue_returns(unit, now).count()}


def most_pressing_held(user: Any, units: list[OrgUnit], now: Any) -> list[int]:
    """The first PRESSING cases with a card, as the database holds them: every case of the
    units with its clocks, each clock's card from workflow.counts.card, sorted by the
    earliest due time of its carded clocks (so red before yellow), then by id."""
    cases = Case.objects.none()
    for unit in units:
        cases |= visible_to(user).open().within(unit)
    first_due = {}
    for case in cases.prefetch_related("deadlines"):
        carded = [clock.due_at for clock in case.deadlines.all() if counts.card(clock, now)]
        if carded:
            first_due[case.pk] = min(carded)
    return sorted(first_due, key=lambda pk: (first_due[pk], pk))[:PRESSING]


def check_board(html: str, user: Any, now: Any) -> None:
    """Every unit's line says what the database holds; the cases shown are the most
    pressing ones in order, as many as there are up to PRESSING."""
    supervised = list(supervised_units(user))
    lines = shown_figures(html)
    beneath = OrgUnit.objects.filter(parent__in=supervised).exclude(level=OrgUnit.Level.DEPARTMENT)
    assert set(lines) == {u.pk for u in [*supervised, *beneath]}
    for unit in [*supervised, *beneath]:
        assert lines[unit.pk] == held(user, unit, now), unit.name
    assert shown_cases(html) == most_pressing_held(user, supervised, now)


def test_the_board_costs_the_same_queries_however_many_rows(cast: Any, client: Any, time_machine: Any) -> None:
    now = local(2026, 3, 9, 10, 0)
    time_machine.move_to(now, tick=False)
    client.force_login(cast.carl)
    queries, shown = {}, 0
    for size in (4, 24):
        add_to_board(cast, shown, size)
        shown = size
        client.get(reverse(BOARD))  # warm: the calendar and rule caches of this process
        with CaptureQueriesContext(connection) as captured:
            html = client.get(reverse(BOARD)).content.decode()
        check_board(html, cast.carl, now)
        assert len(shown_cases(html)) == min(PRESSING, Case.objects.count())
        queries[size] = len(captured)
    assert len(shown_cases(html)) == PRESSING < Case.objects.count()
    assert queries[4] == queries[24], queries


def test_each_figure_is_what_the_database_holds_over_a_county(cast: Any, client: Any, time_machine: Any) -> None:
    """A county of townships and villages, cases of every sort (open and overdue, accepted
    late and on time, resolved, accusations against a village and a township), and besides:
    escalated ones held by the county, a township's case without a village, supervision
    orders open, replied and closed, a case warned, and returns overdue. For the township's supervisor and
    the county's, each unit's figures and the cases listed are what the database holds."""
    now = local(2026, 6, 15, 10, 0)
    time_machine.move_to(now, tick=False)
    grow(cast, County(), villages=4, townships=3, cases=30)
    at = local(2026, 6, 1, 9, 0)
    for village, actor in ((cast.xiling, cast.olga), (cast.nanshan, cast.owen)):
        step(report(cast, actor=actor, village=village.pk, at=at), "escalate", actor, at, reason="涉及多村，报县处理。")
    townwide = report(cast, actor=cast.olga, village="", responsible_unit=cast.liulin.pk, at=at)
    # Accepted a week before: its investigation falls due tomorrow, so warned now.
    accept(cast, report(cast, at=local(2026, 6, 8, 9, 0)), local(2026, 6, 8, 10, 0))
    orders = []
    for case in (townwide, *Case.objects.filter(stage=Case.Stage.INVESTIGATING).order_by("pk")[:3]):
        step(case, "supervise", cast.carl, local(2026, 6, 10, 9, 0), instructions="尽快化解。")
        orders.append(SupervisionOrder.objects.get(case=case, closed_at__isnull=True))
    step(orders[1].case, "reply_supervision", cast.olga, local(2026, 6, 11, 9, 0), order=orders[1].pk, reply="已办。")
    step(orders[2].case, "close_supervision", cast.carl, local(2026, 6, 11, 9, 0), order=orders[2].pk)
    open_return_deadlines(date(2026, 4, 1), [cast.dongwan, cast.nanshan])
    for user in (cast.sam, cast.carl):
        client.force_login(user)
        html = client.get(reverse(BOARD)).content.decode()
        check_board(html, user, now)
        top = next(iter(supervised_units(user)))
        whole = shown_figures(html)[top.pk]
        assert whole["red"] and whole["yellow"] and whole["escalated"] and whole["supervised"] and whole["returns"]


def test_the_figures_of_every_unit_are_those_of_its_cases(cast: Any, time_machine: Any) -> None:
    """workflow.counts.pressing_by_unit, for every unit at once — county, townships,
    villages and departments, which count the cases they lead — against each unit's
    cases (Case.objects.within) counted one by one."""
    now = local(2026, 6, 15, 10, 0)
    time_machine.move_to(now, tick=False)
    grow(cast, County(), villages=3, townships=3, cases=24)
    at = local(2026, 6, 1, 9, 0)
    step(report(cast, actor=cast.olga, village=cast.xiling.pk, at=at), "escalate", cast.olga, at, reason="报县处理。")
    townwide = report(cast, actor=cast.olga, village="", responsible_unit=cast.liulin.pk, at=at)
    accept(cast, townwide, local(2026, 6, 8, 10, 0))  # led by 柳林司法所, warned now
    step(townwide, "supervise", cast.sam, local(2026, 6, 10, 9, 0), instructions="尽快化解。")
    units = list(OrgUnit.objects.all())
    figures = counts.pressing_by_unit(Case.objects.open(), units, now)
    for unit in units:
        cases = Case.objects.open().within(unit)
        expected = {"red": cases.filter(counts.overdue(now)).count(),
                    "yellow": cases.filter(counts.warned(now)).exclude(counts.overdue(now)).count(),
                    "escalated": cases.filter(stage=Case.Stage.ESCALATED).count(),
                    "supervised": cases.filter(Exists(SupervisionOrder.objects.filter(
                        case=OuterRef("pk"), closed_at__isnull=True))).count()}
        assert figures[unit.pk] == expected, unit.name
    assert figures[cast.justice.pk]["yellow"] and figures[cast.justice.pk]["supervised"]


def test_the_most_pressing_are_the_same_from_a_window_of_clocks_or_from_them_all(
        cast: Any, time_machine: Any) -> None:
    """The page reads the most pressing from a window of the earliest carded clocks; a
    window too short for the township's cases falls back to all its carded clocks."""
    now = local(2026, 6, 15, 10, 0)
    time_machine.move_to(now, tick=False)
    grow(cast, County(), villages=3, townships=3, cases=40)
    for user in (cast.sam, cast.carl):
        supervised = list(supervised_units(user))
        held_first = most_pressing_held(user, supervised, now)
        for window in (1, 5, 600):
            got = most_pressing(visible_to(user).open(), PRESSING, now, units=counts.UnitCases(supervised),
                                window=window)
            assert got == held_first, (user.username, window)


def test_a_unit_s_figure_opens_its_cases_in_the_queue(cast: Any, client: Any, time_machine: Any) -> None:
    now = local(2026, 6, 15, 10, 0)
    time_machine.move_to(now, tick=False)
    grow(cast, County(), villages=3, townships=2, cases=16)
    step(report(cast, actor=cast.olga, village=cast.xiling.pk, at=local(2026, 6, 1, 9, 0)), "escalate", cast.olga,
         local(2026, 6, 1, 9, 0), reason="涉及多村，报县处理。")
    accept(cast, report(cast, at=local(2026, 6, 8, 9, 0)), local(2026, 6, 8, 10, 0))  # warned now
    client.force_login(cast.carl)
    html = client.get(reverse(BOARD)).content.decode()
    lines = shown_figures(html)
    for unit in (cast.county, cast.liulin):
        line = re.search(rf'<tr data-unit="{unit.pk}"[^>]*>(.*?)</tr>', html, flags=re.S).group(1)
        for figure in ("red", "yellow", "escalated"):
            link = re.search(rf'data-figure="{figure}"><a [^>]*href="([^"]+)"', line)
            assert link, (unit.name, figure)
            queue = client.get(unescape(link.group(1)))
            assert queue.context["page"].paginator.count == lines[unit.pk][figure] > 0, (unit.name, figure)


def test_a_supervisor_of_no_unit_is_refused(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    assert client.get(reverse(BOARD)).status_code == 403


# Opened, every supervision-order form too: the page is then as wide as it gets.
OPEN_ALL_AND_MEASURE = """() => { document.querySelectorAll("details").forEach(d => { d.open = true; });
  return [document.documentElement.scrollWidth, window.innerWidth]; }"""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_browser_the_board_fits_a_phone_and_a_desk(live_server: Any, client: Any, time_machine: Any) -> None:
    from tests.conftest import build_cast
    from tests.desk.test_dashboard_page import SCREENS, WIDTHS, in_browser, require_chromium

    require_chromium()
    time_machine.move_to(local(2026, 3, 9, 10, 0))
    cast = build_cast()
    long_title = "东湾村村民张某与承包大户李某因土地流转租金支付及地上附着物补偿发生纠纷并多次到村委会反映要求解决"
    warned = accept(cast, report(cast, title=long_title, at=local(2026, 3, 2, 9, 0)), local(2026, 3, 3, 9, 0))
    step(warned, "supervise", cast.sam, local(2026, 3, 9, 9, 0), instructions="请三个工作日内报告进展。", days=3)
    report(cast, title=long_title, at=local(2026, 3, 2, 9, 0))
    client.force_login(cast.carl)
    url = f"{live_server.url}{reverse(BOARD)}"
    seen = in_browser(url, client.cookies["sessionid"].value, {"closed": WIDTHS, "opened": OPEN_ALL_AND_MEASURE})
    for width, _height, _phone in SCREENS:
        for state in ("closed", "opened"):
            scroll_width, inner_width = seen[width][state]
            assert scroll_width <= width and inner_width == width, (width, state, scroll_width, inner_width)
