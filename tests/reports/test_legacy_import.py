"""Import of a legacy 矛盾纠纷排查化解台账: cases through the real services with their
recorded dates and clocks; every bad row reported, and nothing imported while any is."""

from __future__ import annotations

from datetime import date
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from cases.models import Case, CaseEvent
from reports.ledgers import write_ledger
from reports.legacy_import import ImportRefused, import_ledger, read_rows, validate
from tests.conftest import local
from workflow.models import Deadline

pytestmark = pytest.mark.django_db

HEADER = ["序号", "编号", "登记日期", "村（社区）", "纠纷名称", "纠纷类别", "来源", "当事人", "涉及人数", "涉及金额（元）",
          "风险等级", "群体性", "简要情况", "牵头部门", "承办人", "受理日期", "化解日期", "化解方式", "化解情况", "办结日期",
          "办结方式", "回访满意度"]
GOOD = [
    # registered only
    [1, "LL-2024-001", "2026-03-02", "东湾村", "张家与李家排水纠纷", "邻里纠纷", "排查发现", "张三（申请人）、李四（被申请人）",
     2, None, "一般", "否", "雨水直排邻居院内。", None, None, None, None, None, None, None, None, None],
    # accepted, resolved and visited (a real date cell, and a 2026年 date string)
    [2, "LL-2024-002", date(2026, 3, 3), "西岭村", "西岭村劳务报酬纠纷", "劳动争议", "来访", "王五、赵六", 12, 38000,
     "较大", "是", "拖欠工钱。", "柳林司法所", "mia", "2026年3月4日", "2026-03-10", "达成书面调解协议",
     "分两期付清。", "2026-03-20", "已化解并回访", "满意"],
    # withdrawn
    [3, "", "2026/03/05", "东湾村", "东湾村赡养纠纷", "婚姻家庭", "电话", "孙七（申请人）", 1, None, None, None,
     "子女推诿赡养。", None, None, None, None, None, None, "2026.03.09", "已撤回", None],
]


def workbook(rows: list[list[Any]], header: list[str] = HEADER, title: bool = True) -> BytesIO:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append(["2024年3月 柳林镇 矛盾纠纷排查化解台账"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    out.seek(0)
    return out


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def test_a_ledger_becomes_cases_with_their_recorded_dates_and_clocks(cast):
    done: list[tuple[int, int]] = []
    result = import_ledger(workbook(GOOD), unit=cast.liulin, actor=cast.olga,
                           progress=lambda n, total: done.append((n, total)))
    assert result.count == 3 and done == [(1, 3), (2, 3), (3, 3)]
    new, visited, withdrawn = Case.objects.filter(pk__in=result.case_ids).order_by("reported_at")
    assert (new.stage, new.reported_at, new.category, new.source, new.reporter) == (
        "reported", local(2026, 3, 2, 9), "neighbours", "screening", cast.olga)
    assert list(new.parties.values_list("name", "role")) == [("张三", "applicant"), ("李四", "respondent")]
    assert (visited.stage, visited.closure, visited.satisfaction, visited.assignee, visited.lead_department) == (
        "closed", "visited", "satisfied", cast.mia, cast.justice)
    assert (visited.accepted_at, visited.resolved_at, visited.closed_at) == (
        local(2026, 3, 4, 10), local(2026, 3, 10, 15), local(2026, 3, 20, 16))
    assert visited.outcome == {"kind": "agreement_written", "summary": "分两期付清。"}
    assert (visited.people_involved, visited.amount, visited.risk, visited.is_group) == (12, 38000, "significant", True)
    assert list(visited.parties.values_list("name", "role")) == [("王五", "applicant"), ("赵六", "respondent")]
    assert list(visited.events.values_list("kind", flat=True)) == ["report", "accept", "resolve", "follow_up", "note"]
    assert (withdrawn.stage, withdrawn.closure, withdrawn.closed_at) == ("closed", "withdrawn", local(2026, 3, 9, 16))
    # The clocks ran from the recorded dates: the acceptance clock of the registered one
    # opened on 2 March and is overdue now; the visited one's were met on their days.
    assert Deadline.objects.get(case=new, kind="acceptance").started_at == local(2026, 3, 2, 9)
    assert not Deadline.objects.open().filter(case=visited).exists()
    assert Deadline.objects.get(case=visited, kind="acceptance").met_at == local(2026, 3, 4, 10)
    note = CaseEvent.objects.filter(case=visited, kind="note").get()
    assert "row 4" in note.data["text"] and "LL-2024-002" in note.data["text"]


def test_what_the_export_writes_the_import_reads_back(cast, tmp_path: Path):
    result = import_ledger(workbook(GOOD), unit=cast.liulin)
    exported = tmp_path / "march.xlsx"
    write_ledger("disputes", cast.liulin, "2026-03", exported)
    columns, rows = read_rows(str(exported))
    parsed, errors = validate(columns, rows, cast.liulin, check_existing=False)
    assert errors == []
    cases = Case.objects.filter(pk__in=result.case_ids).order_by("reported_at")
    for row, case in zip(parsed, cases, strict=True):
        assert row.legacy_number == case.number
        assert {k: row.data[k] for k in ("title", "summary", "category", "source", "risk", "people_involved",
                                         "is_group", "village")} == {
            "title": case.title, "summary": case.summary, "category": case.category, "source": case.source,
            "risk": case.risk, "people_involved": case.people_involved, "is_group": case.is_group,
            "village": case.village_id}
        assert row.parties == list(case.parties.order_by("pk").values("name", "role"))
        assert (row.closure, row.satisfaction, row.assignee, row.lead) == (
            case.closure, case.satisfaction, case.assignee, case.lead_department)
        assert row.outcome == case.outcome.get("kind", "")
    # Into the same database, the rows are refused: they are registered already.
    with pytest.raises(ImportRefused) as refused:
        import_ledger(str(exported), unit=cast.liulin)
    assert [(e.row, e.column) for e in refused.value.errors] == [(3, "纠纷名称"), (4, "纠纷名称"), (5, "纠纷名称")]
    assert "Already registered as case" in refused.value.errors[0].message
    assert Case.objects.count() == 3


def test_every_bad_row_is_reported_and_nothing_is_imported(cast):
    bad = [
        *GOOD,
        [4, "", "2026-02-30", "东湾村", "日期错误", "邻里", "来访", "甲", 1, None, None, None, "x", *[None] * 9],
        [5, "", "2026-03-06", "月亮村", "村名错误", "邻里", "来访", "乙", 1, None, None, None, "x", *[None] * 9],
        [6, "", "2026-03-06", "东湾村", "类别错误", "八卦", "来访", "丙", 1, None, None, None, "x", *[None] * 9],
        GOOD[0],
        [8, "", "2026-03-06", "东湾村", "无当事人", "邻里", "来访", "", 1, None, None, None, "x", *[None] * 9],
        [9, "", "2026-03-06", "东湾村", "已受理无承办人", "邻里", "来访", "丁", 1, None, None, None, "x", None, None,
         "2026-03-07", *[None] * 6],
    ]
    with pytest.raises(ImportRefused, match="6 row") as refused:
        import_ledger(workbook(bad), unit=cast.liulin)
    errors = {(e.row, e.column) for e in refused.value.errors}
    assert errors == {(6, "登记日期"), (7, "村（社区）"), (8, "纠纷类别"), (9, "纠纷名称"), (10, "当事人"),
                      (11, "牵头部门"), (11, "承办人")}
    messages = {e.row: e.message for e in refused.value.errors}
    assert "2026-02-30" in messages[6] and "月亮村" in messages[7] and "八卦" in messages[8]
    assert "row 3" in messages[9]
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0


@pytest.mark.parametrize("content, message", [
    (b"not a spreadsheet", "not an xlsx"),
    (workbook([["x"]], header=["序号", "登记日期", "纠纷名称"]).getvalue(), "Columns missing"),
    (workbook([], title=False, header=["a", "b"]).getvalue(), "No header row"),
    (workbook([]).getvalue(), "no rows"),
])
def test_files_that_are_not_a_ledger_are_refused(cast, content, message):
    with pytest.raises(ImportRefused, match=message):
        import_ledger(BytesIO(content), unit=cast.liulin)
    assert Case.objects.count() == 0


def test_the_command_prints_progress_or_every_error(cast, tmp_path: Path):
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook(GOOD).getvalue())
    out = StringIO()
    call_command("import_ledger", str(good), "--unit", "QY-LL", "--actor", "olga", stdout=out)
    assert "3/3 rows imported" in out.getvalue() and "Imported 3 cases" in out.getvalue()
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook([GOOD[0][:5] + ["八卦"] + GOOD[0][6:]]).getvalue())
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_ledger", str(bad), "--unit", "QY-LL", stderr=err)
    assert "row 3, 纠纷类别" in err.getvalue()
    with pytest.raises(CommandError, match="no unit"):
        call_command("import_ledger", str(good), "--unit", "NOPE")
