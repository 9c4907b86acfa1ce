"""GET/POST /api/v1/returns/ (issue 19): the villages' monthly screening returns for grid
apps, with the returns page's reach (workflow.permissions.filing_villages) and the
service's refusals (screening.returns.submit_return), each a 4xx with nothing written."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import translation

from cases.models import Case, ScreeningItem, ScreeningReturn
from screening.returns import return_statuses, submit_return
from screening.visits import record_visit
from tests.api.test_api import API, api, assert_error
from tests.conftest import PARTIES, PETITION, local, report
from workflow.errors import InvalidData
from workflow.models import ReturnDeadline
from workflow.return_clocks import return_clock

pytestmark = pytest.mark.django_db
URL = f"{API}/returns/"


def written() -> tuple[int, int, int, int]:
    return (ScreeningReturn.objects.count(), ScreeningItem.objects.count(), Case.objects.count(),
            ReturnDeadline.objects.filter(met_at__isnull=False).count())


def body(cast: Any, **overrides: Any) -> dict[str, Any]:
    return {"village": cast.dongwan.pk, "month": "2026-03", "signed_off_by": "王村长", **overrides}


def test_a_village_worker_reads_her_village_and_an_officer_his_townships(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 10, 9), tick=False)
    found = report(cast, at=local(2026, 3, 4, 9), title="东湾村宅基地纠纷")
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长", note="入户两次。",
                  items=[{"case": found.pk, "note": "已调解"}], at=local(2026, 4, 2, 9, 30))
    record_visit(actor=cast.alice, village=cast.dongwan, at=local(2026, 3, 10, 9),
                 data={"household": "张大爷", "visited_at": local(2026, 3, 5, 9).isoformat(), "findings": "正常。"})

    alice = api(cast.alice).get(URL)
    assert alice.status_code == 200, alice.content
    got = alice.json()
    # Without a month: the month due now, as the page opens on.
    assert got["month"] == "2026-03" and [v["village"]["id"] for v in got["villages"]] == [cast.dongwan.pk]
    [row] = got["villages"]
    filed = ScreeningReturn.objects.get()
    assert row["status"] == "filed" and row["is_late"] is False and row["visits"] == {"visits": 1, "raised": 0}
    assert row["filed"] == {
        "id": filed.pk, "nil": False, "signed_off_by": "王村长", "note": "入户两次。", "submitted_by": "alice",
        "submitted_at": "2026-04-02T09:30:00+08:00", "hidden": 0,
        "items": [{"case_id": found.pk, "number": found.number, "title": "东湾村宅基地纠纷", "note": "已调解"}],
    }

    olga = api(cast.olga).get(URL, {"month": "2026-03"}).json()
    statuses = return_statuses([cast.dongwan, cast.xiling], date(2026, 3, 1))
    assert [(v["village"]["id"], v["status"]) for v in olga["villages"]] \
        == [(s.village.pk, s.status) for s in statuses] == [(cast.dongwan.pk, "filed"), (cast.xiling.pk, "pending")]
    xiling = olga["villages"][1]
    assert datetime.fromisoformat(xiling["due_at"]) == statuses[1].due_at and xiling["filed"] is None

    nina = api(cast.nina).get(URL, {"month": "2026-03"}).json()
    assert [v["village"]["id"] for v in nina["villages"]] == [cast.nanshan.pk]
    # Past its due time, xiling's return is missing.
    time_machine.move_to(statuses[1].due_at + timedelta(minutes=1), tick=False)
    assert api(cast.bob).get(URL, {"month": "2026-03"}).json()["villages"][0]["status"] == "missing"


@pytest.mark.parametrize("who", ["sam", "vic", "pete", "carl"])
def test_who_files_no_return_is_refused_as_on_the_page(cast: Any, who: str) -> None:
    assert_error(api(getattr(cast, who)).get(URL), 403)
    assert_error(api(getattr(cast, who)).post(URL, body(cast, nil=True), format="json"), 403)
    assert_error(api().get(URL), 401)
    assert written() == (0, 0, 0, 0)


@pytest.mark.parametrize("month", ["2026-13", "2026", "2026-H1", "march"])
def test_a_bad_month_is_a_400(cast: Any, month: str) -> None:
    assert "month" in assert_error(api(cast.alice).get(URL, {"month": month}), 400, "invalid")["errors"]


def test_filing_with_the_villages_cases(cast: Any, time_machine: Any) -> None:
    first = report(cast, at=local(2026, 3, 4, 9), title="宅基地纠纷")
    second = report(cast, at=local(2026, 3, 9, 9), source="110", title="110转来的土地纠纷")
    time_machine.move_to(local(2026, 4, 2, 9), tick=False)
    response = api(cast.alice).post(URL, body(cast, note="本月入户排查。", items=[
        {"case": first.pk, "note": "已调解"}, {"case": second.pk}]), format="json")
    assert response.status_code == 201, response.content
    filed = ScreeningReturn.objects.get()
    assert (filed.village, filed.month, filed.is_nil, filed.signed_off_by, filed.note, filed.submitted_by,
            filed.is_late) == (cast.dongwan, date(2026, 3, 1), False, "王村长", "本月入户排查。", cast.alice, False)
    assert sorted(filed.items.values_list("case_id", "note")) == sorted([(first.pk, "已调解"), (second.pk, "")])
    assert ReturnDeadline.objects.get(village=cast.dongwan, month=date(2026, 3, 1)).met_at == local(2026, 4, 2, 9)
    got = response.json()
    assert got["status"] == "filed" and got["village"]["id"] == cast.dongwan.pk and got["month"] == "2026-03"
    assert [i["case_id"] for i in got["filed"]["items"]] == [first.pk, second.pk]
    assert got["filed"]["id"] == filed.pk


def test_a_nil_report_and_an_officer_filing_for_a_village(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(return_clock(cast.xiling, date(2026, 3, 1)).due_at + timedelta(minutes=1), tick=False)
    response = api(cast.olga).post(URL, body(cast, village=cast.xiling.pk, nil=True), format="json")
    assert response.status_code == 201, response.content
    filed = ScreeningReturn.objects.get()
    # After its due time: filed late, as the service marks it.
    assert (filed.village, filed.is_nil, filed.submitted_by, filed.is_late) == (cast.xiling, True, cast.olga, True)
    assert not filed.items.exists()
    got = response.json()
    assert (got["status"], got["is_late"], got["filed"]["nil"], got["filed"]["items"]) == ("nil", True, True, [])


def test_a_found_dispute_is_registered_with_the_return(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 3, 9), tick=False)
    dispute = {"title": "两户排水沟纠纷", "summary": "两户因排水沟走向发生争执。", "category": "neighbours",
               "people_involved": 2, "parties": PARTIES}
    response = api(cast.alice).post(URL, body(cast, items=[
        {"report": dispute, "found_at": "2026-03-20T10:00:00+08:00", "note": "入户发现"}]), format="json")
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert (case.kind, case.source, case.village, case.reporter, case.title, case.reported_at) \
        == ("dispute", "screening", cast.dongwan, cast.alice, "两户排水沟纠纷", local(2026, 3, 20, 10))
    assert case.parties.count() == 2
    item = ScreeningItem.objects.get()
    assert (item.case, item.note, item.screening_return.village) == (case, "入户发现", cast.dongwan)
    assert response.json()["filed"]["items"] == [
        {"case_id": case.pk, "number": case.number, "title": "两户排水沟纠纷", "note": "入户发现"}]


def test_refusals_write_nothing(cast: Any, time_machine: Any) -> None:
    own = report(cast, at=local(2026, 3, 4, 9))
    february = report(cast, at=local(2026, 2, 20, 9))
    neighbours = report(cast, actor=cast.bob, at=local(2026, 3, 4, 9), village=cast.xiling.pk)
    # An accusation against 东湾村 is kept from its own worker: not hers to list.
    accusation = report(cast, actor=cast.olga, at=local(2026, 3, 15, 9),
                        **{**PETITION, "petition_type": "accusation", "accused_unit": cast.dongwan.pk,
                           "source": "letter", "village": cast.dongwan.pk})
    time_machine.move_to(local(2026, 4, 2, 9), tick=False)
    before = written()
    client = api(cast.alice)
    bad_dispute = {"title": "", "summary": "x", "category": "neighbours", "parties": PARTIES}
    cases = [
        (body(cast, village=cast.xiling.pk, nil=True), 403, None),  # not her village
        (body(cast, village=cast.nanshan.pk, nil=True), 403, None),
        (body(cast, month="2026-04", nil=True), 400, "month"),  # not over
        (body(cast, month="2026-02", nil=True), 400, "month"),  # closed at the end of March
        (body(cast, month="2026-3", nil=True), 400, "month"),
        (body(cast, nil=True, items=[{"case": own.pk}]), 400, "items"),
        (body(cast), 400, "items"),
        (body(cast, nil=True, signed_off_by=" "), 400, "signed_off_by"),
        (body(cast, items=[{"case": neighbours.pk}]), 400, "items[1].case"),
        (body(cast, items=[{"case": february.pk}]), 400, "items[1].case"),
        (body(cast, items=[{"case": accusation.pk}]), 400, "items[1].case"),
        (body(cast, items=[{"case": 10**15}]), 400, "items[1].case"),
        (body(cast, items=[{"case": own.pk}, {}]), 400, "items[2]"),
        (body(cast, items=[{"case": own.pk, "report": {**bad_dispute, "title": "纠纷"}}]), 400, "items[1]"),
        (body(cast, items=[{"report": bad_dispute}]), 400, "items"),
        (body(cast, items=[{"report": {**bad_dispute, "title": "纠纷", "summary": "x" * 2001}}]), 400,
         "items[1].summary"),
        (body(cast, items=[{"report": {**bad_dispute, "title": "纠纷"}, "found_at": "2026-04-01T09:00:00+08:00"}]),
         400, "items[1].found_at"),
        (body(cast, village=10**12, nil=True), 400, "village"),
        (body(cast, village=cast.liulin.pk, nil=True), 400, "village"),
        (body(cast, nil=True, signed_off_by="王" * 65), 400, "signed_off_by"),
        (body(cast, items="all"), 400, "items"),
        # Found by the fuzzer: an empty item where the service refuses before the items.
        (body(cast, village=cast.county.pk, items=[{}]), 400, "village"),
        (body(cast, village=cast.xiling.pk, items=[{}]), 403, None),
        (body(cast, month="0", items=[{}]), 400, "month"),
        (["not", "an", "object"], 400, None),
    ]
    for sent, status, key in cases:
        refused = assert_error(client.post(URL, sent, format="json"), status)
        if key is not None:
            # The shape's errors name the nested field too: items[1].report.title.
            assert any(k == key or k.startswith((key + ".", key + "[")) for k in refused["errors"]), (sent, refused)
        assert written() == before, sent
    # Filed once: the second is refused, the first stays as it was.
    assert client.post(URL, body(cast, nil=True), format="json").status_code == 201
    before = written()
    refused = assert_error(api(cast.olga).post(URL, body(cast, items=[{"case": own.pk}]), format="json"), 400)
    assert cast.dongwan.name in refused["errors"]["month"][0] and "2026-03" in refused["errors"]["month"][0]
    assert written() == before and ScreeningReturn.objects.get().is_nil


def test_what_may_be_listed_is_refused_as_the_service_refuses_it(cast: Any, time_machine: Any) -> None:
    """The API asks the service alone (screening.returns.submit_return): its refusal of a
    case not to be listed, or a dispute found outside the month, is the service's, word for word."""
    february = report(cast, at=local(2026, 2, 20, 9))
    neighbours = report(cast, actor=cast.bob, at=local(2026, 3, 4, 9), village=cast.xiling.pk)
    time_machine.move_to(local(2026, 4, 2, 9), tick=False)
    dispute = {"title": "两户排水沟纠纷", "summary": "两户因排水沟走向发生争执。", "category": "neighbours",
               "parties": PARTIES}
    before = written()
    for sent, service_items, keys in [
        ([{"case": february.pk}, {"case": neighbours.pk}], [{"case": february.pk}, {"case": neighbours.pk}],
         {"items[1].case", "items[2].case"}),
        ([{"report": dispute, "found_at": "2026-02-28T23:00:00+08:00"}],
         [{"report": {"data": dispute, "parties": PARTIES}, "found_at": local(2026, 2, 28, 23)}],
         {"items[1].found_at"}),
    ]:
        refused = assert_error(api(cast.alice).post(URL, body(cast, items=sent), format="json"), 400, "invalid")
        with translation.override("zh-hans"), pytest.raises(InvalidData) as service:
            submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", items=service_items,
                          signed_off_by="王村长", at=local(2026, 4, 2, 9))
        assert refused["errors"] == service.value.errors and set(refused["errors"]) == keys
        assert written() == before
