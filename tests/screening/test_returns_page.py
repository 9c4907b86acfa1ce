"""The village's screening-returns page (issue 15): a filed return shows what it lists, who
filed and signed it and when (Beijing time); the page opens on the month due now."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import ScreeningReturn
from screening.returns import month_due_now, submit_return
from tests.conftest import PETITION, local, report
from workflow.return_clocks import return_clock

pytestmark = pytest.mark.django_db
RETURNS = "desk:returns:index"


def shown_month(html: str) -> str:
    """The month the page shows: the one its month field holds."""
    return re.search(r'<input type="month" id="month" name="month" value="([0-9-]+)"', html).group(1)


def card(html: str, village: Any) -> str:
    start = html.index(f'data-village="{village.pk}"')
    end = html.find('<div class="desk-card', start)
    return html[start:end if end > 0 else None]


def test_a_filed_return_shows_what_it_lists_who_signed_and_when(cast: Any, client: Any, time_machine: Any) -> None:
    found = report(cast, at=local(2026, 3, 4, 9), title="东湾村宅基地纠纷")
    hotline = report(cast, at=local(2026, 3, 9, 9), source="110", title="110转来的土地纠纷")
    # 09:30 in Beijing is 01:30 UTC: the page says 09:30.
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  note="本月入户排查两次。", at=local(2026, 4, 2, 9, 30),
                  items=[{"case": found.pk, "note": "已调解"}, {"case": hotline.pk}])
    time_machine.move_to(local(2026, 4, 10, 9), tick=False)
    client.force_login(cast.alice)
    html = card(client.get(reverse(RETURNS)).content.decode(), cast.dongwan)
    assert 'name="signed_off_by"' not in html
    for shown in (found.number, "东湾村宅基地纠纷", "已调解", hotline.number, "110转来的土地纠纷",
                  "王村长", "alice", "本月入户排查两次。", "2026-04-02 09:30"):
        assert shown in html, shown
    assert f'data-case="{found.pk}"' in html and f'data-case="{hotline.pk}"' in html
    assert "2026-04-02 01:30" not in html


def test_a_nil_return_says_it_found_nothing(cast: Any, client: Any, time_machine: Any) -> None:
    submit_return(actor=cast.bob, village=cast.xiling, month="2026-03", nil=True, signed_off_by="徐村长",
                  at=local(2026, 4, 20, 16))
    time_machine.move_to(local(2026, 4, 21, 9), tick=False)
    client.force_login(cast.bob)
    html = card(client.get(reverse(RETURNS)).content.decode(), cast.xiling)
    assert "零报告：本月未发现矛盾纠纷" in html and "徐村长" in html and "bob" in html and "2026-04-20 16:00" in html


def test_a_listed_case_the_reader_may_not_see_stays_hidden(cast: Any, client: Any, time_machine: Any) -> None:
    seen = report(cast, at=local(2026, 3, 4, 9), title="看得见的纠纷")
    # An accusation against 东湾村 is kept from 东湾村's own worker (信访工作条例 第三十条).
    accusation = report(cast, actor=cast.olga, at=local(2026, 3, 15, 9),
                        **{**PETITION, "petition_type": "accusation", "accused_unit": cast.dongwan.pk,
                           "source": "letter", "title": "检举村干部"})
    submit_return(actor=cast.olga, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  at=local(2026, 4, 2, 9), items=[{"case": seen.pk}, {"case": accusation.pk}])
    time_machine.move_to(local(2026, 4, 10, 9), tick=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(cast.alice)
    html = card(client.get(reverse(RETURNS)).content.decode(), cast.dongwan)
    assert seen.number in html and "看得见的纠纷" in html
    assert accusation.number not in html and "检举村干部" not in html
    assert "and 1 case you may not see" in html and "olga" in html
    client.force_login(cast.olga)
    assert accusation.number in client.get(reverse(RETURNS)).content.decode()


def test_the_page_opens_on_the_month_whose_return_is_due_now(cast: Any, client: Any, time_machine: Any) -> None:
    at = local(2026, 4, 10, 9)
    time_machine.move_to(at, tick=False)
    client.force_login(cast.alice)
    # Nothing owed from before: the month being collected now.
    assert month_due_now([cast.dongwan], at) == date(2026, 3, 1)
    assert shown_month(client.get(reverse(RETURNS)).content.decode()) == "2026-03"
    # February's return, its window held open until the end of April (a rule of more
    # days): still owed, and earlier, so the page opens on it.
    february = return_clock(cast.dongwan, date(2026, 2, 1))
    february.closes_at = local(2026, 5, 1)
    february.save()
    html = client.get(reverse(RETURNS)).content.decode()
    assert shown_month(html) == "2026-02" and 'name="signed_off_by"' in card(html, cast.dongwan)
    # Another village's debt is not 东湾村's worker's.
    assert month_due_now([cast.xiling], at) == date(2026, 3, 1)
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-02", nil=True, signed_off_by="王村长", at=at)
    assert shown_month(client.get(reverse(RETURNS)).content.decode()) == "2026-03"
    # Filed too: the month due now still, showing what was filed.
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", nil=True, signed_off_by="王村长", at=at)
    html = client.get(reverse(RETURNS)).content.decode()
    assert shown_month(html) == "2026-03" and 'class="facts filed-return"' in html
    # A month asked for is shown; a bad one falls back to the month due now.
    assert shown_month(client.get(reverse(RETURNS), {"month": "2026-01"}).content.decode()) == "2026-01"
    assert shown_month(client.get(reverse(RETURNS), {"month": "2026-13"}).content.decode()) == "2026-03"
    # In May, April is due.
    time_machine.move_to(local(2026, 5, 6, 9), tick=False)
    client.force_login(cast.alice)
    assert shown_month(client.get(reverse(RETURNS)).content.decode()) == "2026-04"


def test_a_closed_month_is_not_owed_any_more(cast: Any) -> None:
    # March's window closes at the end of April: in May the clock, still unmet, owes nothing.
    return_clock(cast.dongwan, date(2026, 3, 1)).save()
    assert month_due_now([cast.dongwan], local(2026, 4, 30, 23)) == date(2026, 3, 1)
    assert month_due_now([cast.dongwan], local(2026, 5, 2, 9)) == date(2026, 4, 1)


def test_the_page_costs_the_same_queries_however_many_cases_a_return_lists(cast: Any, client: Any,
                                                                            time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 10, 9), tick=False)
    client.force_login(cast.olga)  # the township's officer: both villages' returns
    queries = {}
    for listed in (1, 6):
        ScreeningReturn.objects.all().delete()
        cases = [report(cast, at=local(2026, 3, 2 + i, 9), title=f"纠纷{listed}-{i}") for i in range(listed)]
        for village, actor in ((cast.dongwan, cast.alice), (cast.xiling, cast.bob)):
            items = [{"case": c.pk} for c in cases] if village == cast.dongwan else []
            submit_return(actor=actor, village=village, month="2026-03", nil=not items, items=items,
                          signed_off_by="村长", at=local(2026, 4, 2, 9))
        with CaptureQueriesContext(connection) as captured:
            html = client.get(reverse(RETURNS)).content.decode()
        assert html.count('<tr data-case="') == listed
        queries[listed] = len(captured)
    assert queries[1] == queries[6], queries
