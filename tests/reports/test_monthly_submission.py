"""A township's monthly 矛盾纠纷排查情况表 sent upward (报送, docs/reporting.md): frozen as
submitted, corrections after submission shown beside it, once per township and month, by
the township's officers and supervisors only, after the month; the county sees who
submitted, who is late and who is missing; its page costs the same queries however many
townships; the PDF says who sent it, who signed it, when, and what changed since."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import MonthlyReport, OrgUnit
from cases.periods import month_period
from reports.ledgers import monthly_table
from reports.submission import freeze_monthly, row_to_json, submission_status, submitted_table
from tests.conftest import accept, local, report, resolve, unit
from workflow.errors import InvalidData, NotPermitted
from workflow.report_clocks import report_due

pytestmark = pytest.mark.django_db
MARCH = date(2026, 3, 1)
# March's table is due the 5th of April; 5 April 2026 is 清明节 (4–6 April off), so the
# term moves to Tuesday 7 April.
DUE = local(2026, 4, 7, 23, 59, 59)
PAGE = "desk:ledgers:monthly"


@pytest.fixture
def march(cast: Any) -> dict[str, Any]:
    """柳林镇's March: three disputes, one accepted and resolved, one accepted, one waiting."""
    made = {
        "done": report(cast, at=local(2026, 3, 3, 9), title="已化解"),
        "taken": report(cast, at=local(2026, 3, 5, 9), category="neighbours", title="已受理"),
        "waiting": report(cast, at=local(2026, 3, 9, 9), category="neighbours", title="待受理", people_involved=60),
    }
    accept(cast, made["done"], local(2026, 3, 4, 10))
    resolve(cast, made["done"], local(2026, 3, 20, 10))
    accept(cast, made["taken"], local(2026, 3, 6, 10))
    return made


def live(township: OrgUnit) -> list[dict[str, Any]]:
    return [row_to_json(r) for r in monthly_table(township, month_period(MARCH))]


def total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in rows if r["category"] == "")


def test_the_rule_puts_the_due_time_on_the_fifth_moved_off_a_holiday(cast: Any) -> None:
    due = report_due(cast.liulin, MARCH)
    assert due is not None and due.due_at == DUE
    assert "次月5日" in due.legal_basis


def test_the_frozen_table_is_the_live_one_at_submission_and_stays_so_after_a_change(cast: Any,
                                                                                   march: dict[str, Any]) -> None:
    before = live(cast.liulin)
    sent = freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    assert sent.rows == before
    assert total(sent.rows)["found"] == 3 and total(sent.rows)["handled"] == 2 and total(sent.rows)["succeeded"] == 1
    assert (sent.signed_by, sent.submitted_by, sent.is_late, sent.due_at) == ("张镇长", cast.olga, False, DUE)
    assert submitted_table(cast.liulin, MARCH).differences == []

    # After submission the waiting case is accepted: March's 调处 moves, the table sent does not.
    accept(cast, march["waiting"], local(2026, 4, 3, 10))
    sent.refresh_from_db()
    assert sent.rows == before
    assert live(cast.liulin) != before
    table = submitted_table(cast.liulin, MARCH)
    assert [row_to_json(r) for r in table.rows] == before
    # The month's 调处 and the year's, in the category's row and the total.
    assert [(d.label, d.column, d.submitted, d.now) for d in table.differences] == [
        ("邻里", "调处数", 1, 2), ("邻里", "本年累计调处数", 1, 2),
        ("合计", "调处数", 2, 3), ("合计", "本年累计调处数", 2, 3)]


def test_a_second_submission_is_refused(cast: Any, march: dict[str, Any]) -> None:
    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    with pytest.raises(InvalidData) as refused:
        freeze_monthly(cast.sam, cast.liulin, "2026-03", "李书记", at=local(2026, 4, 3, 10))
    assert "month" in refused.value.errors
    assert list(MonthlyReport.objects.values_list("signed_by", flat=True)) == ["张镇长"]


@pytest.mark.parametrize("who", ["vic", "carl", "cora", "owen", "mia", "alice"])
def test_who_may_not_submit_is_refused_and_nothing_is_written(cast: Any, march: dict[str, Any], who: str) -> None:
    with pytest.raises(NotPermitted):
        freeze_monthly(getattr(cast, who), cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    assert not MonthlyReport.objects.exists()


def test_a_month_not_over_is_refused(cast: Any, march: dict[str, Any]) -> None:
    with pytest.raises(InvalidData) as refused:
        freeze_monthly(cast.sam, cast.liulin, "2026-03", "张镇长", at=local(2026, 3, 31, 23, 0))
    assert "month" in refused.value.errors
    with pytest.raises(InvalidData) as unsigned:
        freeze_monthly(cast.sam, cast.liulin, "2026-03", "  ", at=local(2026, 4, 2, 10))
    assert "signed_by" in unsigned.value.errors
    assert not MonthlyReport.objects.exists()


def test_the_county_sees_submitted_late_and_missing(cast: Any, march: dict[str, Any]) -> None:
    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    states = {s.township.name: s.status for s in submission_status(cast.county, MARCH, at=local(2026, 4, 3, 9))}
    assert states == {"柳林镇": "submitted", "桃源镇": "pending"}
    states = {s.township.name: s.status for s in submission_status(cast.county, MARCH, at=local(2026, 4, 8, 9))}
    assert states == {"柳林镇": "submitted", "桃源镇": "missing"}
    late = freeze_monthly(cast.owen, cast.taoyuan, "2026-03", "赵镇长", at=local(2026, 4, 9, 9))
    assert late.is_late
    states = {s.township.name: s.status for s in submission_status(cast.county, MARCH, at=local(2026, 4, 10, 9))}
    assert states == {"柳林镇": "submitted", "桃源镇": "late"}


def test_the_county_page_lists_each_township(cast: Any, client: Any, time_machine: Any,
                                             march: dict[str, Any]) -> None:
    time_machine.move_to(local(2026, 4, 10, 9), tick=False)
    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    client.force_login(cast.carl)
    html = client.get(reverse(PAGE), {"unit": cast.county.pk, "period": "2026-03"}).content.decode()
    assert f'data-township="{cast.liulin.pk}" data-status="submitted"' in html
    assert f'data-township="{cast.taoyuan.pk}" data-status="missing"' in html
    assert "张镇长" in html


def test_the_township_page_shows_the_frozen_table_and_the_corrections(cast: Any, client: Any, time_machine: Any,
                                                                      march: dict[str, Any]) -> None:
    time_machine.move_to(local(2026, 4, 2, 10), tick=False)
    client.force_login(cast.olga)
    response = client.post(reverse(PAGE), {"unit": cast.liulin.pk, "period": "2026-03", "signed_by": "张镇长"})
    assert response.status_code == 302
    assert MonthlyReport.objects.get().rows == live(cast.liulin)
    accept(cast, march["waiting"], local(2026, 4, 2, 11))
    html = client.get(reverse(PAGE), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    corrections = html[html.index('class="desk-card corrections"'):]
    assert re.search(r"<td>合计</td><td>调处数</td><td>2</td><td>3</td>", corrections)
    assert 'name="signed_by"' not in html  # submitted: no second form


@pytest.mark.parametrize("data", [
    {"signed_by": ""},
    {"signed_by": "张" * 65},
    {"signed_by": "张\x00三"},
    {"signed_by": "张镇长", "period": "2026-13"},
    {"signed_by": "张镇长", "period": "2026"},
    {"signed_by": "张镇长", "unit": ""},
    {"signed_by": "张镇长", "unit": "99999999999999999999999"},
    {"signed_by": "张镇长", "unit": "²"},
    {"signed_by": "张镇长", "period": "2026-04"},  # not over on 2 April
])
def test_bad_input_on_the_form_is_a_form_error_and_writes_nothing(cast: Any, client: Any, time_machine: Any,
                                                                  march: dict[str, Any], data: dict[str, str]) -> None:
    time_machine.move_to(local(2026, 4, 2, 10), tick=False)
    client.force_login(cast.olga)
    response = client.post(reverse(PAGE), {"unit": cast.liulin.pk, "period": "2026-03", **data})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="errorlist' in html or '<div class="problem">' in html
    assert not MonthlyReport.objects.exists()


def test_a_viewer_is_refused_on_the_page_with_nothing_written(cast: Any, client: Any, time_machine: Any,
                                                              march: dict[str, Any]) -> None:
    time_machine.move_to(local(2026, 4, 2, 10), tick=False)
    client.force_login(cast.vic)
    page = client.get(reverse(PAGE), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    assert 'name="signed_by"' not in page
    response = client.post(reverse(PAGE), {"unit": cast.liulin.pk, "period": "2026-03", "signed_by": "张镇长"})
    assert response.status_code == 422
    assert not MonthlyReport.objects.exists()


def test_the_county_page_costs_the_same_queries_however_many_townships(cast: Any, client: Any,
                                                                        time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 10, 9), tick=False)
    client.force_login(cast.carl)
    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    url, data = reverse(PAGE), {"unit": cast.county.pk, "period": "2026-03"}
    counted = {}
    for size, townships in (("small", 0), ("large", 5)):
        for n in range(townships):
            township = unit(f"QY-X{n}", f"新{n}镇", OrgUnit.Level.TOWNSHIP, cast.county)
            if n % 2:
                freeze_monthly(_officer(township), township, "2026-03",
                               f"镇长{n}", at=local(2026, 4, 8 + n % 3, 9))
        client.get(url, data)  # warm: the calendar and the rules
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, data)
        html = response.content.decode()
        assert html.count("data-status=") == 2 + townships
        counted[size] = len(captured)
    assert counted["small"] == counted["large"], counted


def _officer(township: OrgUnit) -> Any:
    from tests.conftest import person

    return person(f"officer-{township.code}", (township, "officer"))


# The PDF.

def test_the_pdf_says_who_sent_and_signed_it_when_and_what_changed(cast: Any, client: Any,
                                                                    march: dict[str, Any]) -> None:
    from tests.paper.conftest import text_of

    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10, 30))
    accept(cast, march["waiting"], local(2026, 4, 3, 10))
    client.force_login(cast.carl)
    response = client.get(reverse("desk:ledgers:monthly_pdf", args=[cast.liulin.pk, "2026-03"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = text_of(response.content)
    for expected in ("2026年3月柳林镇矛盾纠纷排查情况表", "报送单位柳林镇", "签发人张镇长", "报送时间2026年4月2日10时30分",
                     "报送后更正", "合计调处数23+1"):
        assert expected in text, expected


@pytest.mark.parametrize(("who", "args"), [
    ("owen", ("liulin", "2026-03")),      # another township's officer
    ("alice", ("liulin", "2026-03")),     # a village worker reviews nothing
    ("carl", ("liulin", "2026-02")),      # not submitted
    ("carl", ("liulin", "2026-13")),
    ("carl", ("liulin", "march")),
    ("carl", ("99999999999999999999999", "2026-03")),
])
def test_the_pdf_is_a_404_out_of_reach_or_not_submitted(cast: Any, client: Any, march: dict[str, Any], who: str,
                                                         args: tuple[str, str]) -> None:
    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    client.force_login(getattr(cast, who))
    unit_id = cast.liulin.pk if args[0] == "liulin" else args[0]
    response = client.get(reverse("desk:ledgers:monthly_pdf", args=[unit_id, args[1]]))
    assert response.status_code == 404
