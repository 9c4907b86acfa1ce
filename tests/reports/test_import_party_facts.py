"""The legacy ledger import reads the facts the printed forms need where a ledger carries
them — 发生时间 and 发生地点 of the case, 性别, 民族, 出生日期, 职业 and 住址 of its first
party — checks them as every door does, and names each bad one in the row's errors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from cases.models import Case, CaseEvent, Party
from reports.legacy_import import ImportRefused, import_ledger
from tests.conftest import Cast, local
from tests.reports.test_legacy_import import GOOD, HEADER, workbook

pytestmark = pytest.mark.django_db

NOW = local(2026, 3, 10, 9, 0)
FACTS = ["发生时间", "发生地点", "性别", "民族", "出生日期", "职业", "住址"]
# The registered-only row of GOOD (registered 2026-03-02, at 09:00) and the withdrawn one
# (registered 2026-03-05), with the facts after them.
PLAIN, WITHDRAWN = GOOD[0], GOOD[2]


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def ledger(*rows: list[Any]) -> Any:
    return workbook(list(rows), header=HEADER + FACTS)


def refusal(*rows: list[Any]) -> list[tuple[int, str]]:
    """The (row, column) of each error of a ledger that must be refused whole."""
    with pytest.raises(ImportRefused) as refused:
        import_ledger(ledger(*rows))
    assert Case.objects.count() == Party.objects.count() == CaseEvent.objects.count() == 0
    return [(e.row, e.column) for e in refused.value.errors]


def test_the_facts_of_a_ledger_are_imported_for_the_case_and_its_first_party(cast: Cast) -> None:
    result = import_ledger(ledger(
        PLAIN + ["2026-03-01 14:30", "东湾村三组排水沟", "女", "回", date(1960, 5, 1), "农民", "青阳县柳林镇东湾村三组"],
        WITHDRAWN + [datetime(2026, 3, 4, 20, 15), "", "男性", "汉族", "1950年1月2日", "", ""],
    ), unit=cast.liulin, actor=cast.olga)
    plain, withdrawn = Case.objects.filter(pk__in=result.case_ids).order_by("reported_at")
    assert (plain.occurred_at, plain.occurred_place) == (local(2026, 3, 1, 14, 30), "东湾村三组排水沟")
    assert (withdrawn.occurred_at, withdrawn.occurred_place) == (local(2026, 3, 4, 20, 15), "")
    fields = ("name", "sex", "birth_date", "ethnicity", "occupation", "address")
    assert list(plain.parties.order_by("pk").values_list(*fields)) == [
        ("张三", "female", date(1960, 5, 1), "回族", "农民", "青阳县柳林镇东湾村三组"),
        ("李四", "", None, "", "", ""),  # the columns describe the first party only
    ]
    assert list(withdrawn.parties.values_list(*fields)) == [("孙七", "male", date(1950, 1, 2), "汉族", "", "")]


def test_a_day_without_its_hour_is_the_start_of_that_day(cast: Cast) -> None:
    result = import_ledger(ledger(PLAIN + ["2026年3月2日", "", "", "", "", "", ""]))
    assert Case.objects.get(pk=result.case_ids[0]).occurred_at == local(2026, 3, 2, 0, 0)


def test_a_ledger_leaving_the_columns_empty_leaves_the_facts_blank(cast: Cast) -> None:
    result = import_ledger(ledger(PLAIN + [None] * len(FACTS)))
    case = Case.objects.get(pk=result.case_ids[0])
    assert (case.occurred_at, case.occurred_place) == (None, "")
    assert set(case.parties.values_list("sex", "birth_date", "ethnicity", "occupation")) == {("", None, "", "")}


@pytest.mark.parametrize("facts, column", [
    (["", "", "", "火星族", "", "", ""], "民族"),
    (["", "", "未知", "", "", "", ""], "性别"),
    (["", "", "", "", "2026-03-11", "", ""], "出生日期"),  # tomorrow
    (["", "", "", "", "1880-01-01", "", ""], "出生日期"),
    (["", "", "", "", "去年", "", ""], "出生日期"),
    (["", "", "", "", "", "农" * 65, ""], "职业"),
    (["2026-03-02 10:00", "", "", "", "", "", ""], "发生时间"),  # an hour after its registration
    (["2026-03-11 08:00", "", "", "", "", "", ""], "发生时间"),  # tomorrow
    (["上个月", "", "", "", "", "", ""], "发生时间"),
    (["", "地" * 201, "", "", "", "", ""], "发生地点"),
])
def test_a_bad_fact_is_named_in_its_rows_errors_and_nothing_is_imported(cast: Cast, facts: list[str],
                                                                        column: str) -> None:
    good = WITHDRAWN + [""] * len(FACTS)
    assert refusal(PLAIN + facts, good) == [(3, column)]
