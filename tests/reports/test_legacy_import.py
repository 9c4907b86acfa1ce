"""Import of a legacy 矛盾纠纷排查化解台账: cases through the real services with their
recorded dates and clocks; every bad row reported, and nothing imported while any is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
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
from reports import legacy_import
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


# Hostile files: a small good ledger with some of its XML parts replaced, as an attacker
# would write them by hand.

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"


def repacked(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    good = zipfile.ZipFile(workbook(GOOD))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", compression) as package:
        for info in good.infolist():
            package.writestr(info.filename, parts.get(info.filename, good.read(info)))
    return out.getvalue()


def sheet(rows: str, *, prolog: str = "", dimension: str = "") -> bytes:
    head = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}">{head}'
            f"<sheetData>{rows}</sheetData></worksheet>").encode()


def header_row() -> str:
    """The ledger's header in row 1, as inline strings: a file that passes for a ledger."""
    from openpyxl.utils import get_column_letter

    cells = "".join(f'<c r="{get_column_letter(j)}1" t="inlineStr"><is><t>{name}</t></is></c>'
                    for j, name in enumerate(HEADER, start=1))
    return f'<row r="1">{cells}</row>'


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lollollollollollollollollollol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>',
                 prolog=f"<!DOCTYPE worksheet [{''.join(entities)}]>")


def zip_bomb() -> bytes:
    """A sheet padded with 60 MB of spaces, which pack into some 60 KB."""
    good = zipfile.ZipFile(workbook(GOOD))
    xml = good.read(SHEET)
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for info in good.infolist():
            if info.filename != SHEET:
                package.writestr(info.filename, good.read(info))
        with package.open(SHEET, "w", force_zip64=True) as part:
            cut = xml.index(b"</sheetData>")
            part.write(xml[:cut])
            for _ in range(60):
                part.write(b" " * 1024 * 1024)
            part.write(xml[cut:])
    return out.getvalue()


def good_sheet() -> bytes:
    return zipfile.ZipFile(workbook(GOOD)).read(SHEET)


def cut_off() -> bytes:
    xml = good_sheet()
    return repacked({SHEET: xml[: len(xml) // 2]})


MALFORMED = {
    "cut-off sheet": cut_off,
    "entities": lambda: repacked({SHEET: billion_laughs()}),
    "no sheets": lambda: repacked({"xl/workbook.xml": f'<workbook xmlns="{MAIN}"><sheets/></workbook>'.encode()}),
    "past column XFD": lambda: repacked({SHEET: sheet(header_row() + '<row r="2"><c r="AAAA2"><v>1</v></c></row>')}),
    "not a number": lambda: repacked({SHEET: sheet(header_row() + '<row r="2"><c r="A2" t="n"><v>abc</v></c></row>')}),
    "broken styles": lambda: repacked({"xl/styles.xml": f'<styleSheet xmlns="{MAIN}"><cellXfs count="1"><xf '.encode()}),
}
OVERSIZED = {
    "declared dimension": lambda: repacked({SHEET: sheet(
        header_row() + '<row r="30000"><c r="A30000"><v>1</v></c></row>', dimension="A1:XFD30000")}),
    "rows at column XFD": lambda: repacked({SHEET: sheet("".join(
        f'<row r="{i}"><c r="XFD{i}"><v>1</v></c></row>' for i in range(1, 3001)))}),
    # Cells without references, each one column further; numbers that do not pack well.
    "one wide row": lambda: repacked({SHEET: sheet(
        '<row r="1">' + "".join(f"<c><v>{i * 7919 % 100_003}</v></c>" for i in range(200_000)) + "</row>")}),
    "one cell many times": lambda: repacked({SHEET: sheet(
        '<row r="1">' + "".join(f'<c r="A1"><v>{i * 7919 % 100_003}</v></c>' for i in range(200_000)) + "</row>")}),
    "a row far down": lambda: repacked({SHEET: sheet(header_row() + '<row r="1048576"><c r="A1048576"><v>1</v></c></row>')}),
    "zip bomb": zip_bomb,
    # A part openpyxl reads whole, flooded with small elements that do not pack well.
    "flooded styles": lambda: repacked({"xl/styles.xml": (
        f'<styleSheet xmlns="{MAIN}"><numFmts>' + "".join(f'<n i="{i * 7919 % 100_003}"/>' for i in range(200_000))
        + "</numFmts></styleSheet>").encode()}),
}
HOSTILE = {**MALFORMED, **OVERSIZED}


@pytest.mark.parametrize("name, reason", [
    ("cut-off sheet", "not a readable xlsx workbook: "),
    ("entities", "declares XML entities"),
    ("no sheets", "no sheet"),
    ("past column XFD", "wider than 100 columns"),
    ("not a number", "not a readable xlsx workbook: "),
    ("broken styles", "not a readable xlsx workbook: "),
])
def test_a_malformed_workbook_is_refused_with_its_reason(cast, name, reason):
    with pytest.raises(ImportRefused, match="Nothing was imported") as refused:
        import_ledger(BytesIO(MALFORMED[name]()), unit=cast.liulin, actor=cast.olga)
    [error] = refused.value.errors
    assert error.row == 0 and reason in error.message
    assert Case.objects.count() == 0


def test_rows_past_the_size_a_sheet_declares_are_read_too(cast):
    xml = good_sheet().replace(b'<dimension ref="A1:V5"', b'<dimension ref="A1:A1"')
    assert b'"A1:A1"' in xml
    columns, rows = read_rows(BytesIO(repacked({SHEET: xml})))
    assert len(rows) == len(GOOD)


@pytest.mark.parametrize("name, reason", [
    ("declared dimension", "wider than 100 columns"),
    ("rows at column XFD", "wider than 100 columns"),
    ("one wide row", "wider than 100 columns"),
    ("one cell many times", "wider than 100 columns"),
    ("a row far down", "longer than 20000 rows"),
    ("zip bomb", "packs its contents"),
    ("flooded styles", "more than 100000 XML elements"),
])
def test_a_sheet_beyond_what_a_ledger_holds_is_refused_before_it_is_read(cast, name, reason):
    with pytest.raises(ImportRefused, match=reason):
        import_ledger(BytesIO(OVERSIZED[name]()), unit=cast.liulin, actor=cast.olga)
    assert Case.objects.count() == 0


def test_the_sizes_of_the_file_and_of_its_parts_are_bounded(cast, monkeypatch):
    content = workbook(GOOD).getvalue()
    monkeypatch.setattr(legacy_import, "MAX_FILE_BYTES", len(content) - 1)
    with pytest.raises(ImportRefused, match="larger than"):
        import_ledger(BytesIO(content), unit=cast.liulin)
    monkeypatch.setattr(legacy_import, "MAX_FILE_BYTES", len(content))
    monkeypatch.setattr(legacy_import, "MAX_UNPACKED_BYTES", len(content))
    with pytest.raises(ImportRefused, match="unpacks"):
        import_ledger(BytesIO(content), unit=cast.liulin)
    assert Case.objects.count() == 0


def test_a_ledger_as_long_as_allowed_is_read_and_a_longer_one_is_refused(cast, monkeypatch):
    monkeypatch.setattr(legacy_import, "MAX_ROWS", len(GOOD) + 2)
    columns, rows = read_rows(workbook(GOOD))
    assert len(rows) == len(GOOD)
    with pytest.raises(ImportRefused, match="longer than"):
        read_rows(workbook([*GOOD, GOOD[0]]))


class Unreadable(BytesIO):
    """A file that fails the test if anything reads it."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the file was read")

    def seek(self, *args: Any) -> int:
        raise AssertionError("the file was read")


@pytest.mark.parametrize("who, unit", [("vic", "liulin"), ("owen", "liulin"), ("mia", "liulin"), ("olga", None)])
def test_who_may_not_import_into_the_unit_is_refused_before_the_file_is_read(cast, who, unit):
    with pytest.raises(ImportRefused, match="may not import"):
        import_ledger(Unreadable(), unit=unit and getattr(cast, unit), actor=getattr(cast, who))


@pytest.mark.parametrize("who, unit", [("olga", "liulin"), ("sam", "liulin"), ("cora", "liulin"), ("carl", "county")])
def test_officers_and_supervisors_import_into_their_units(cast, who, unit):
    result = import_ledger(workbook(GOOD), unit=getattr(cast, unit), actor=getattr(cast, who))
    assert result.count == len(GOOD)


def test_the_command_refuses_an_actor_who_may_not_import(cast, tmp_path: Path):
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook(GOOD).getvalue())
    with pytest.raises(CommandError, match="may not import"):
        call_command("import_ledger", str(good), "--unit", "QY-LL", "--actor", "vic")
    assert Case.objects.count() == 0


# Each import runs in a process of its own, through the command, and reports what it cost
# (CPU time and the growth of its peak memory); the hostile files are compared with a
# small good ledger imported the same way in the same run, never with absolute times.
# The process has 2 GB of address space: a file that would take the machine's memory
# fails there instead.
MEASURED_IMPORT = """
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024 ** 3, 2 * 1024 ** 3))
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
translation.activate("en")
if sys.argv[1] == "--database":
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from tests.conftest import build_cast
    build_cast()
    sys.exit()
quiet = open(os.devnull, "w")
before = resource.getrusage(resource.RUSAGE_SELF)
try:
    call_command("import_ledger", sys.argv[1], "--unit", "QY-LL", "--actor", "olga", stdout=quiet, stderr=quiet)
    outcome = "imported"
except CommandError as error:
    outcome = str(error)
except BaseException as error:
    outcome = "crashed: " + repr(error)[:300]
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"outcome": outcome,
                  "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                  "memory": (after.ru_maxrss - before.ru_maxrss) / 1024}))
"""


def in_a_process(argument: str, var: Path) -> dict[str, Any]:
    """MEASURED_IMPORT of the file `argument` (or, with "--database", the cast's database
    made) with the database in `var`: what it reports."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(TIAOCHU_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run([sys.executable, "-c", MEASURED_IMPORT, argument], cwd=Path(__file__).resolve().parents[2],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}


def test_hostile_files_cost_no_more_time_or_memory_than_a_good_ledger(tmp_path: Path):
    var = tmp_path / "var"
    in_a_process("--database", var)  # the cast in a database of its own, on SQLite
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook(GOOD).getvalue())
    baseline = in_a_process(str(good), var)
    assert baseline["outcome"] == "imported"
    costs = {}
    for name, build in HOSTILE.items():
        path = tmp_path / "hostile.xlsx"
        path.write_bytes(build())
        costs[name] = in_a_process(str(path), var)
    not_refused = [name for name, cost in costs.items() if "Nothing was imported" not in cost["outcome"]]
    slow = [name for name, cost in costs.items() if cost["cpu"] > baseline["cpu"] + 2]
    heavy = [name for name, cost in costs.items() if cost["memory"] > baseline["memory"] + 50]
    assert (not_refused, slow, heavy) == ([], [], []), (baseline, costs)
