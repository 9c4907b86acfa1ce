"""Household visits (走访, issue 18): recorded through screening.visits.record_visit, refused
when the facts are wrong or the village out of reach, and a visit that raises a case
registers it (found in screening) and names it, so the case counts as 排查 in the month."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case, CaseEvent, Party, Source
from cases.periods import parse_period
from reports.ledgers import monthly_table
from screening.meeting import meeting_data
from screening.models import Visit
from screening.visits import record_visit, visit_figures
from tests.conftest import local
from workflow import counts
from workflow.errors import InvalidData, NotPermitted
from workflow.permissions import may_record_visit, visiting_villages, visits_visible_to

pytestmark = pytest.mark.django_db

AT = local(2026, 3, 10, 16)
# A valid ID number (GB 11643-1999 check digit), as the cast's parties hold.
ID = "11010519491231002X"


def visit(**overrides: Any) -> dict[str, Any]:
    return {"household": "张大爷", "visited_at": local(2026, 3, 10, 9).isoformat(), "companions": "村支书王某",
            "findings": "与邻居因排水沟走向有争执，双方情绪尚平稳。", "concern": "neighbours", **overrides}


def raising(**overrides: Any) -> dict[str, Any]:
    return visit(raises_case=True, case_title="张某与邻居排水沟纠纷", case_category="neighbours",
                 case_summary="张某与邻居李某因排水沟走向发生争执。", id_number=ID.lower(), **overrides)


def test_a_visit_is_recorded_with_who_and_when(cast: Any) -> None:
    recorded = record_visit(actor=cast.alice, village=cast.dongwan.pk, data=visit(id_number=ID), at=AT)
    row = Visit.objects.get()
    assert row.pk == recorded.pk and row.village == cast.dongwan and row.visited_by == cast.alice
    assert row.recorded_at == AT and row.visited_at == local(2026, 3, 10, 9)
    assert (row.household, row.companions, row.concern, row.case) == ("张大爷", "村支书王某", "neighbours", None)
    assert row.id_number == ID and row.masked_id_number == "110***********002X"
    assert not Case.objects.exists()


@pytest.mark.parametrize("overrides, field", [
    ({"household": ""}, "household"),
    ({"findings": ""}, "findings"),
    ({"findings": "很" * 2001}, "findings"),
    ({"id_number": "110105194912310021"}, "id_number"),  # wrong check digit
    ({"visited_at": local(2026, 3, 11, 9).isoformat()}, "visited_at"),  # after it was recorded
    ({"visited_at": "1899-12-31T09:00"}, "visited_at"),
    ({"concern": "gossip"}, "concern"),
    ({"household": "张\ud800"}, "household"),  # half a character
    ({"raises_case": True}, "case_title"),
    ({"raises_case": True, "case_title": "t", "case_summary": "s"}, "case_category"),
])
def test_bad_facts_are_refused_and_nothing_is_written(cast: Any, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidData) as refused:
        record_visit(actor=cast.alice, village=cast.dongwan, data=visit(**overrides), at=AT)
    assert field in refused.value.errors
    assert not Visit.objects.exists() and not Case.objects.exists()


def test_only_a_village_is_visited(cast: Any) -> None:
    for village in (cast.liulin, 10**9, "东湾村"):
        with pytest.raises(InvalidData) as refused:
            record_visit(actor=cast.olga, village=village, data=visit(), at=AT)
        assert "village" in refused.value.errors


def test_who_records_and_reads_visits_follows_the_rule_of_reach(cast: Any) -> None:
    """The village's own people and the officers and supervisors above it record (those who
    register its cases); a viewer, a department's liaison and another township's people do
    not. Reading: whoever reaches the village."""
    recorders = {name for name in cast.users if may_record_visit(cast.users[name], cast.dongwan)}
    assert recorders == {"alice", "olga", "sam", "cora", "carl"}
    assert list(visiting_villages(cast.nina)) == [cast.nanshan]
    for name in ("bob", "nina", "owen", "vic", "pete", "mia"):
        with pytest.raises(NotPermitted):
            record_visit(actor=cast.users[name], village=cast.dongwan, data=visit(), at=AT)
    assert not Visit.objects.exists()
    record_visit(actor=cast.alice, village=cast.dongwan, data=visit(), at=AT)
    record_visit(actor=cast.nina, village=cast.nanshan, data=visit(), at=AT)
    readers = {name: sorted(v.village.name for v in visits_visible_to(user, Visit.objects.all()))
               for name, user in cast.users.items()}
    assert readers["alice"] == readers["vic"] == readers["mia"] == readers["olga"] == ["东湾村"]
    assert readers["nina"] == readers["owen"] == ["南山村"]
    assert readers["bob"] == readers["pete"] == readers["hans"] == []
    assert readers["cora"] == readers["carl"] == ["东湾村", "南山村"]


def test_a_visit_that_raises_a_case_registers_it_and_names_it(cast: Any) -> None:
    recorded = record_visit(actor=cast.alice, village=cast.dongwan, data=raising(), at=AT)
    case = Case.objects.get()
    assert recorded.case == case
    # Found by going out (排查发现), not a person coming in (来访).
    assert (case.source, case.kind, case.village, case.responsible_unit) == (
        Source.SCREENING, Case.Kind.DISPUTE, cast.dongwan, cast.liulin)
    assert (case.title, case.category, case.reporter, case.reported_at) == (
        "张某与邻居排水沟纠纷", "neighbours", cast.alice, AT)
    [party] = Party.objects.filter(case=case)
    assert (party.name, party.role, party.id_number) == ("张大爷", "applicant", ID)
    assert CaseEvent.objects.filter(case=case, kind="report", actor=cast.alice).count() == 1
    # The registration's clock runs, and the township's officers hear of it, as for any report.
    assert case.deadlines.filter(met_at__isnull=True).exists()
    assert cast.olga.notifications.filter(case=case).exists()
    # 排查 in March: in the counts and in the township's monthly table.
    march = parse_period("2026-03")
    assert counts.tally_cases(counts.registered_in(Case.objects.within(cast.liulin), march))["found"] == 1
    table = {row.category: row for row in monthly_table(cast.liulin, march)}
    assert (table["neighbours"].found, table[""].found) == (1, 1)
    assert visit_figures([cast.dongwan.pk], "2026-03")[cast.dongwan.pk].raised == 1


def test_a_case_refused_leaves_no_visit(cast: Any) -> None:
    """The case's own rules answer under the visit's names: a party already in a case of
    the year asks to be looked at first (重复信访 / registered before)."""
    record_visit(actor=cast.alice, village=cast.dongwan, data=raising(), at=AT)
    with pytest.raises(InvalidData) as refused:
        record_visit(actor=cast.alice, village=cast.dongwan, data=raising(), at=local(2026, 3, 11, 9))
    assert "repeats_seen" in refused.value.errors
    assert Visit.objects.count() == Case.objects.count() == 1
    again = record_visit(actor=cast.alice, village=cast.dongwan, data=raising(repeats_seen=True),
                         at=local(2026, 3, 11, 9))
    assert again.case is not None and Case.objects.count() == 2


def test_a_visit_raising_nothing_asks_nothing_of_the_case_fields(cast: Any) -> None:
    recorded = record_visit(actor=cast.olga, village=cast.xiling, data=visit(case_title="留着", raises_case=False),
                            at=AT)
    assert recorded.case is None and recorded.visited_by == cast.olga


def test_the_meeting_counts_each_villages_visits_in_one_query(cast: Any) -> None:
    for day in (3, 12, 28):
        record_visit(actor=cast.alice, village=cast.dongwan, data=visit(visited_at=local(2026, 3, day, 9).isoformat()),
                     at=local(2026, 3, day, 18))
    record_visit(actor=cast.alice, village=cast.dongwan, data=raising(visited_at=local(2026, 3, 20, 9).isoformat()),
                 at=local(2026, 3, 20, 18))
    # Another month, another township: not March's, not 柳林镇's.
    record_visit(actor=cast.alice, village=cast.dongwan, data=visit(visited_at=local(2026, 4, 1, 9).isoformat()),
                 at=local(2026, 4, 1, 18))
    record_visit(actor=cast.alice, village=cast.dongwan, data=visit(visited_at=local(2026, 2, 28, 23).isoformat()),
                 at=local(2026, 3, 1, 9))
    record_visit(actor=cast.nina, village=cast.nanshan, data=visit(), at=AT)
    record_visit(actor=cast.bob, village=cast.xiling, data=visit(), at=AT)
    data = meeting_data(cast.liulin, "2026-03", at=local(2026, 4, 28, 10))
    assert {k: (v.visits, v.raised) for k, v in data.visits.items()} == {cast.dongwan.pk: (4, 1),
                                                                          cast.xiling.pk: (1, 0)}
    assert (data.visit_totals.visits, data.visit_totals.raised) == (5, 1)
    with CaptureQueriesContext(connection) as captured:
        visit_figures([cast.dongwan.pk, cast.xiling.pk, cast.nanshan.pk], "2026-03")
    assert len(captured) == 1
