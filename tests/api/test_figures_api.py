"""The figures the pages report, as endpoints (issue 19): the ledgers a page of rows at a
time, the monthly table with its submission, the assessment and the meeting's figures.
Each equals what the page's own function computes for the same unit and period, with
the pages' reach: figures for their reviewers (workflow.permissions.reviewed_units), 403
for whoever reviews nothing, 404 for a unit out of reach."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.periods import parse_period
from reports.assessment import assess
from reports.ledgers import monthly_table
from reports.submission import freeze_monthly, submission_status, submitted_table
from screening.meeting import meeting_data
from screening.returns import submit_return
from screening.visits import record_visit
from tests.api.test_api import API, api, assert_error
from tests.conftest import accept, local, report, resolve
from tests.reports.test_ledgers import column, march, read  # noqa: F401 (march: the ledgers' fixture)
from workflow import services
from workflow.models import SupervisionOrder
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db
NOW = local(2026, 4, 10, 9)
# The column naming each row's case in the xlsx of each ledger.
NUMBER = {"disputes": "编号", "mediation": "编号", "petitions": "编号", "supervision": "案件编号", "follow_up": "案件编号"}


def pages(client: Any, kind: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a ledger, following `next`."""
    rows: list[dict[str, Any]] = []
    response = client.get(f"{API}/ledgers/{kind}/", params)
    while True:
        assert response.status_code == 200, response.content
        got = response.json()
        assert got["kind"] == kind
        rows += got["results"]
        if got["next"] is None:
            return rows
        response = client.get(got["next"])


@pytest.mark.parametrize("kind", list(NUMBER))
def test_each_ledger_pages_through_the_rows_its_xlsx_holds(cast: Any, march: Any, time_machine: Any,  # noqa: F811
                                                          kind: str) -> None:
    time_machine.move_to(NOW, tick=False)
    _, header, expected = read(kind, cast.liulin, "2026-03", user=cast.olga)
    assert expected, "the fixture gives every ledger rows"
    rows = pages(api(cast.olga), kind, unit=cast.liulin.pk, period="2026-03", page_size=1)
    assert [r["number"] for r in rows] == column(header, expected, NUMBER[kind])
    assert [r["seq"] for r in rows] == column(header, expected, "序号")


def test_a_dispute_row_holds_what_the_ledger_shows(cast: Any, march: Any, time_machine: Any) -> None:  # noqa: F811
    time_machine.move_to(NOW, tick=False)
    response = api(cast.olga).get(f"{API}/ledgers/disputes/", {"unit": cast.liulin.pk, "period": "2026-03"})
    got = response.json()
    assert (got["title"], got["unit"]["id"], got["period"], got["next"]) \
        == ("矛盾纠纷排查化解台账", cast.liulin.pk, "2026-03", None)
    rent = got["results"][0]
    case = march["rent"]
    assert rent == {
        "seq": 1, "case_id": case.pk, "number": case.number, "reported_at": "2026-03-02T09:00:00+08:00",
        "village": "东湾村", "title": "rent 纠纷", "category": "land_forest", "source": "screening",
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
        "people_involved": 2, "amount": "12000.00", "risk": "general", "is_group": False, "is_legacy": False,
        "summary": case.summary, "responsible_unit": "柳林镇", "lead_department": "柳林司法所", "assignee": "mia",
        "accepted_at": "2026-03-02T10:00:00+08:00", "stage": "resolved", "resolved_at": "2026-03-05T09:00:00+08:00",
        "outcome": "agreement_written", "outcome_summary": "双方签订书面调解协议。", "closed_at": None, "closure": "",
        "satisfaction": "",
    }
    # The mediation ledger's row: one session, still mediating.
    [row] = api(cast.olga).get(f"{API}/ledgers/mediation/", {"unit": cast.liulin.pk, "period": "2026-03"}) \
        .json()["results"]
    assert (row["number"], row["sessions"], row["result"], row["applicants"], row["respondents"]) \
        == (march["acquisition"].number, 1, "ongoing", ["张三"], ["李四"])


def test_the_derived_columns_are_the_codes_of_the_xlsxs_words(cast: Any, march: Any,  # noqa: F811
                                                              time_machine: Any) -> None:
    """调解结果, 督办状态 and 超期情况 are derived once (reports.ledgers): every API row's code
    is the word its xlsx row shows, in every state a row can be in."""
    m = march
    step = services.transition
    order = SupervisionOrder.objects.get(case=m["boundary"])
    step(m["boundary"], "close_supervision", actor=cast.sam, at=local(2026, 3, 9, 9), data={"order": order.pk})
    # Withdrawn in mediation; referred from mediation (failed); mediated to an agreement.
    step(m["boundary"], "start_mediation", actor=cast.mia, at=local(2026, 3, 10, 9), data={"findings": "属实。"})
    step(m["boundary"], "withdraw", actor=cast.olga, at=local(2026, 3, 11, 9), data={"reason": "当事人撤回。"})
    accept(cast, m["arrears"], local(2026, 3, 10, 9))
    step(m["arrears"], "start_mediation", actor=cast.mia, at=local(2026, 3, 11, 9), data={"findings": "属实。"})
    step(m["arrears"], "refer", actor=cast.olga, at=local(2026, 3, 12, 9),
         data={"channel": "litigation", "reason": "当事人选择诉讼。"})
    mediated = report(cast, at=local(2026, 3, 15, 9), title="邻里通道纠纷")
    accept(cast, mediated, local(2026, 3, 15, 10))
    step(mediated, "start_mediation", actor=cast.mia, at=local(2026, 3, 16, 9), data={"findings": "属实。"})
    resolve(cast, mediated, local(2026, 3, 17, 9))
    # The boundary's order is closed; one replied; one late (red), one warned (yellow).
    step(m["acquisition"], "supervise", actor=cast.sam, at=local(2026, 3, 12, 9), data={"instructions": "报告进展。", "days": 3})
    replied = SupervisionOrder.objects.get(case=m["acquisition"])
    step(m["acquisition"], "reply_supervision", actor=cast.mia, at=local(2026, 3, 13, 9),
         data={"order": replied.pk, "reply": "正在调解。"})
    step(m["petition"], "supervise", actor=cast.sam, at=local(2026, 3, 20, 9), data={"instructions": "尽快办理。", "days": 1})
    step(mediated, "supervise", actor=cast.sam, at=local(2026, 3, 24, 9), data={"instructions": "回访。", "days": 5})
    warned = SupervisionOrder.objects.get(case=mediated).deadline
    # A working morning between its warning and its due time (a warning waits for office hours).
    assert warned.warn_at < local(2026, 3, 31, 10) < warned.due_at
    sweep(local(2026, 3, 31, 10))
    time_machine.move_to(NOW, tick=False)

    words = {
        "mediation": ("调解结果", "result", {"succeeded": "调解成功", "failed": "调解不成", "withdrawn": "已撤回",
                                             "ongoing": "调解中"}),
        "supervision": ("督办状态", "status", {"closed": "已办结", "replied": "已答复", "open": "办理中"}),
    }
    for kind, (name, field, word) in words.items():
        _, header, expected = read(kind, cast.liulin, "2026-03", user=cast.olga)
        rows = pages(api(cast.olga), kind, unit=cast.liulin.pk, period="2026-03", page_size=2)
        assert [word[r[field]] for r in rows] == column(header, expected, name)
        assert {r[field] for r in rows} == set(word)  # every code is shown
    cards = [r["card"] for r in pages(api(cast.olga), "supervision", unit=cast.liulin.pk, period="2026-03")]
    _, header, expected = read("supervision", cast.liulin, "2026-03", user=cast.olga)
    # An empty cell reads back as None.
    assert [{"red": "红牌", "yellow": "黄牌", "": None}[c] for c in cards] == column(header, expected, "超期情况")
    assert {"red", "yellow"} <= set(cards)
    [row] = [r for r in pages(api(cast.olga), "mediation", unit=cast.liulin.pk, period="2026-03")
             if r["case_id"] == mediated.pk]
    assert (row["result"], row["agreement"], row["sessions"]) == ("succeeded", "agreement_oral", 0)


def test_a_ledger_shows_each_person_what_the_page_does(cast: Any, march: Any, time_machine: Any) -> None:  # noqa: F811
    time_machine.move_to(NOW, tick=False)
    for user, unit, period, count in [(cast.vic, cast.dongwan, "2026-03", 3), (cast.carl, cast.county, "2026-03", 7),
                                      (cast.olga, cast.liulin, "2026", 7), (cast.owen, cast.taoyuan, "2026-03", 1)]:
        rows = pages(api(user), "disputes", unit=unit.pk, period=period)
        _, header, expected = read("disputes", unit, period, user=user)
        assert [r["number"] for r in rows] == column(header, expected, "编号") and len(rows) == count


@pytest.mark.parametrize("params, status, key", [
    ({"unit": "abc"}, 400, "unit"),
    ({"unit": "9" * 30}, 400, "unit"),
    ({"period": "2026-13"}, 400, "period"),
    ({"period": "1999"}, 400, "period"),
    ({"cursor": "garbage"}, 400, "cursor"),
    ({"cursor": "WyIyMDI2LTAzLTAxIiwxLDBd"}, 400, "cursor"),  # a naive moment
    ({"page_size": "0"}, 400, "page_size"),
    ({"page_size": "501"}, 400, "page_size"),
])
def test_bad_ledger_parameters_are_400s(cast: Any, params: dict[str, Any], status: int, key: str) -> None:
    got = assert_error(api(cast.olga).get(f"{API}/ledgers/disputes/", params), status, "invalid")
    assert key in got["errors"]


def test_ledger_reach_and_kinds(cast: Any) -> None:
    for who in ("alice", "mia", "pete"):  # a village worker, a mediator, a liaison review nothing
        assert_error(api(getattr(cast, who)).get(f"{API}/ledgers/disputes/"), 403)
    for unit in (cast.nanshan, cast.taoyuan, cast.county, cast.police):
        assert_error(api(cast.olga).get(f"{API}/ledgers/disputes/", {"unit": unit.pk}), 404)
    assert_error(api(cast.olga).get(f"{API}/ledgers/monthly/"), 404, "not_found")
    assert_error(api(cast.olga).get(f"{API}/ledgers/parties/"), 404, "not_found")
    assert_error(api().get(f"{API}/ledgers/disputes/"), 401)


def test_a_ledger_page_costs_the_same_queries_however_many_rows(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    client = api(cast.olga)
    url, params = f"{API}/ledgers/disputes/", {"unit": cast.liulin.pk, "period": "2026-03", "page_size": 3}

    def costs() -> list[int]:
        counted = []
        first = client.get(url, params)  # warms what is read once per process
        for address in (url, first.json()["next"]):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(address, params if address == url else None)
            assert response.status_code == 200 and len(response.json()["results"]) == 3
            counted.append(len(queries))
        return counted

    for day in range(1, 8):
        report(cast, at=local(2026, 3, day, 9))
    few = costs()
    for day in range(1, 29):
        report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, day, 10))
    assert costs() == few


def test_the_monthly_table_and_its_submission(cast: Any, march: Any, time_machine: Any) -> None:  # noqa: F811
    time_machine.move_to(NOW, tick=False)
    url = f"{API}/monthly-table/"
    got = api(cast.olga).get(url, {"unit": cast.liulin.pk, "period": "2026-03"}).json()
    expected = monthly_table(cast.liulin, parse_period("2026-03"), cast.olga)
    assert [(r["category"], r["label"], r["found"], r["handled"], r["succeeded"], r["major"], tuple(r["bands"]),
             r["found_ytd"], r["handled_rate"]) for r in got["rows"]] \
        == [(r.category, r.label, r.found, r.handled, r.succeeded, r.major, r.bands, r.found_ytd, r.handled_rate)
            for r in expected]
    assert got["rows"][-1]["found"] == 6 and got["bands"] == ["50人以下", "50-100人", "101-500人", "500人以上"]
    [status] = submission_status(cast.liulin, "2026-03")
    assert got["submissions"] == [{"township": {"id": cast.liulin.pk, "code": "QY-LL", "name": "柳林镇",
                                                "level": "township"},
                                   "status": status.status, "due_at": status.due_at.isoformat(), "card": status.card,
                                   "submitted_at": None, "submitted_by": None, "signed_by": None}]
    assert got["differences"] == []

    freeze_monthly(cast.olga, cast.liulin, "2026-03", "张镇长", at=local(2026, 4, 2, 10))
    # Registered late, after the table went up: a correction after submission.
    report(cast, at=local(2026, 3, 31, 9), category="neighbours", title="迟登记")
    got = api(cast.sam).get(url, {"unit": cast.liulin.pk, "period": "2026-03"}).json()
    sent = submitted_table(cast.liulin, "2026-03")
    assert got["differences"] == [{"label": d.label, "column": d.column, "submitted": d.submitted, "now": d.now}
                                  for d in sent.differences] != []
    assert (got["submissions"][0]["status"], got["submissions"][0]["signed_by"], got["submissions"][0]["submitted_by"]) \
        == ("submitted", "张镇长", "olga")

    county = api(cast.carl).get(url, {"unit": cast.county.pk, "period": "2026-03"}).json()
    assert [(s["township"]["name"], s["status"]) for s in county["submissions"]] \
        == [(s.township.name, s.status) for s in submission_status(cast.county, "2026-03")] \
        == [("柳林镇", "submitted"), ("桃源镇", status.status)]
    # A half-year has no submission; a village's table none either.
    half = api(cast.olga).get(url, {"unit": cast.liulin.pk, "period": "2026-H1"}).json()
    assert half["submissions"] == [] and half["period"] == "2026-H1"
    assert half["rows"][-1]["found"] == monthly_table(cast.liulin, parse_period("2026-H1"), cast.olga)[-1].found
    assert api(cast.olga).get(url, {"unit": cast.dongwan.pk, "period": "2026-03"}).json()["submissions"] == []
    assert_error(api(cast.alice).get(url), 403)
    assert_error(api(cast.owen).get(url, {"unit": cast.liulin.pk}), 404)
    assert "period" in assert_error(api(cast.olga).get(url, {"period": "2026-H3"}), 400)["errors"]


def test_the_assessment_equals_the_pages(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 5, 1, 9), tick=False)
    resolved = report(cast, at=local(2026, 3, 2, 9))
    report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 4, 9), risk="major", is_group=True,
           people_involved=60)
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  items=[{"case": resolved.pk}], at=local(2026, 4, 2, 9))
    url = f"{API}/assessment/"
    got = api(cast.olga).get(url, {"unit": cast.liulin.pk, "period": "2026-03"})
    assert got.status_code == 200, got.content
    got = got.json()
    # As the page calls it (desk/assessment.py).
    result = assess(cast.liulin, "2026-03", cases=False)
    assert got["scheme"]["code"] == result.scheme.code and datetime.fromisoformat(got["at"]) == result.at
    assert [(u["unit"]["id"], u["rank"], Decimal(u["score"]), Decimal(u["points"]), u["vetoed"], u["warned"])
            for u in got["units"]] \
        == [(s.unit.pk, s.rank, s.score, s.points, s.vetoed, s.warned) for s in result.units]
    assert [[(f["indicator"], f["counted"], f["hits"], Decimal(f["points"]), f["applicable"], f["formula"])
             for f in u["figures"]] for u in got["units"]] \
        == [[(f.indicator, f.counted, f.hits, f.points, f.applicable, f.formula) for f in s.figures]
            for s in result.units]
    # 西岭村's major group incident vetoes it (一票否决).
    assert {u["unit"]["name"]: u["vetoed"] for u in got["units"]} == {"东湾村": False, "西岭村": True}

    county = api(cast.carl).get(url, {"unit": cast.county.pk, "period": "2026-03"}).json()
    assert [u["unit"]["name"] for u in county["units"]] == [s.unit.name for s in assess(cast.county, "2026-03", cases=False).units]
    assert_error(api(cast.alice).get(url), 403)
    for unit in (cast.county, cast.dongwan, cast.taoyuan):  # above her, a village, another township
        assert_error(api(cast.olga).get(url, {"unit": unit.pk}), 404)


def test_the_meetings_figures_equal_the_pages(cast: Any, time_machine: Any) -> None:
    report(cast, at=local(2026, 2, 10, 9), title="二月旧案")  # open since February, overdue
    report(cast, at=local(2026, 3, 30, 9), title="三月新案", category="neighbours")
    report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 5, 9), risk="major", source="110")
    report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 5, 9))  # another township
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  items=[], nil=True, at=local(2026, 4, 2, 9))
    record = {"visited_at": local(2026, 3, 6, 9).isoformat(), "household": "张家", "findings": "正常。"}
    record_visit(actor=cast.alice, village=cast.dongwan, data=record, at=local(2026, 3, 6, 10))
    # Past 西岭村's due time: its return is missing, and its 110 case a concealment suspect.
    time_machine.move_to(local(2026, 4, 29, 9), tick=False)
    got = api(cast.olga).get(f"{API}/meeting/", {"township": cast.liulin.pk, "month": "2026-03"})
    assert got.status_code == 200, got.content
    got = got.json()
    data = meeting_data(cast.liulin, "2026-03", user=cast.olga)
    assert got["totals"] == data.totals and got["return_totals"] == data.return_totals
    assert (got["totals"]["new"], got["totals"]["open"], got["totals"]["major"]) == (2, 3, 1)
    assert [(g["village_id"], g["category"], g["counts"]) for g in got["groups"]] \
        == [(g.village_id, g.category, g.counts) for g in data.groups]
    assert [(r["village"]["id"], r["status"]) for r in got["returns"]] \
        == [(r.village.pk, r.status) for r in data.returns] == [(cast.dongwan.pk, "nil"), (cast.xiling.pk, "missing")]
    assert got["suspects"] == {"total": 1, "confirmed": 0, "dismissed": 0, "undecided": 1}
    assert got["awaiting"] == 0 and got["visit_totals"] == {"visits": 1, "raised": 0}
    assert got["returns"][0]["visits"] == {"visits": 1, "raised": 0}
    # A viewer reviews the township too; the one beside it does not.
    assert api(cast.vic).get(f"{API}/meeting/", {"township": cast.liulin.pk, "month": "2026-03"}).json()["totals"] \
        == data.totals
    assert_error(api(cast.owen).get(f"{API}/meeting/", {"township": cast.liulin.pk}), 404)
    assert_error(api(cast.carl).get(f"{API}/meeting/", {"township": cast.county.pk}), 404)
    assert_error(api(cast.alice).get(f"{API}/meeting/"), 403)
    assert "month" in assert_error(api(cast.olga).get(f"{API}/meeting/", {"month": "2026"}), 400)["errors"]


@pytest.mark.parametrize("period", ["2000-01", "2100-12", "2100", "2000-H1"])
@pytest.mark.parametrize("path", ["ledgers/disputes/", "ledgers/mediation/", "ledgers/petitions/",
                                  "ledgers/supervision/", "ledgers/follow_up/", "monthly-table/", "assessment/",
                                  "meeting/"])
def test_the_edges_of_the_periods_are_answered(cast: Any, path: str, period: str) -> None:
    report(cast, at=local(2026, 3, 2, 9))
    name = "month" if path == "meeting/" else "period"
    response = api(cast.olga).get(f"{API}/{path}", {name: period})
    if path == "meeting/" and not parse_period(period).is_month:
        assert "month" in assert_error(response, 400, "invalid")["errors"]
    else:
        assert response.status_code == 200, response.content
        assert response.json().get("results", []) == []
