"""The 督办 board (issue 15): each row says who carries the case, which clock is late or
warned and when it falls due (Beijing time), and whether a supervision order is open;
a case under an open order is not offered another, by the state machine's own rule; the
page costs the same queries however many rows it shows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from cases.models import Case
from tests.conftest import accept, local, report, step
from workflow import services
from workflow.errors import ConditionUnmet
from workflow.models import SupervisionOrder

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


def test_the_board_costs_the_same_queries_however_many_rows(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 9, 10, 0), tick=False)
    client.force_login(cast.carl)
    queries, shown = {}, 0
    for size in (4, 24):
        add_to_board(cast, shown, size)
        shown = size
        with CaptureQueriesContext(connection) as captured:
            html = client.get(reverse(BOARD)).content.decode()
        assert html.count("<tr data-case=") == Case.objects.count()
        queries[size] = len(captured)
    assert queries[4] == queries[24], queries


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
