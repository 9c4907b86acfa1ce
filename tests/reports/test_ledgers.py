"""Ledgers (台账) fall out of the case data: what each xlsx holds is read back with
openpyxl and compared with the database, for a period built through the real services."""

from __future__ import annotations

from collections import Counter
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.models import Case
from cases.periods import parse_period
from reports.ledgers import BANDS, band_of, ledger_response, monthly_table, write_ledger
from tests.conftest import PETITION, accept, local, report
from workflow import services

pytestmark = pytest.mark.django_db

# What the ledgers show of a written agreement.
WRITTEN = "双方签订书面调解协议。"


@pytest.fixture
def march(cast: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    """March 2026 in 柳林镇: six disputes of three categories and all bands, a petition;
    one dispute in February and one in 桃源镇 that no March ledger of 柳林镇 shows."""
    settings.MEDIA_ROOT = tmp_path  # the written agreements' documents
    made: dict[str, Any] = {}
    # (name, village, category, people, risk, fate)
    plan = [
        ("rent", cast.dongwan, "land_forest", 2, "general", "resolved"),
        ("boundary", cast.dongwan, "land_forest", 49, "general", "accepted"),
        ("wages", cast.xiling, "labour", 50, "significant", "visited"),
        ("arrears", cast.xiling, "labour", 100, "major", "reported"),
        ("acquisition", cast.dongwan, "land_acquisition", 101, "general", "mediating"),
        ("resettlement", cast.xiling, "land_acquisition", 501, "general", "resolved"),
    ]
    for day, (name, village, category, people, risk, fate) in enumerate(plan, start=2):
        actor = cast.alice if village == cast.dongwan else cast.bob
        case = report(cast, actor=actor, at=local(2026, 3, day, 9), village=village.pk, category=category,
                      people_involved=people, risk=risk, title=f"{name} 纠纷", is_group=people >= 50)
        if fate != "reported":
            accept(cast, case, local(2026, 3, day, 10))
        if fate == "mediating":
            services.transition(case, "start_mediation", actor=cast.mia, at=local(2026, 3, day + 1, 9),
                                data={"findings": "属实。"})
            services.transition(case, "record_session", actor=cast.mia, at=local(2026, 3, day + 2, 9),
                                data={"held_on": "2026-03-10", "place": "村委会", "participants": "双方",
                                      "record": "第一次调解。"})
        if fate in ("resolved", "visited"):
            # A written agreement is resolved with its signed document (issue 15).
            services.transition(case, "resolve", actor=cast.mia, at=local(2026, 3, day + 3, 9),
                                data={"outcome": "agreement_written", "summary": WRITTEN},
                                files={"agreement": SimpleUploadedFile("调解协议书.pdf", b"%PDF-1.4")})
        if fate == "visited":
            services.transition(case, "follow_up", actor=cast.mia, at=local(2026, 3, day + 10, 9),
                                data={"record": "电话回访，协议已履行。", "satisfaction": "satisfied"})
        made[name] = case
    made["petition"] = report(cast, actor=cast.olga, at=local(2026, 3, 20, 9),
                              **{**PETITION, "village": cast.dongwan.pk})
    services.transition(made["boundary"], "supervise", actor=cast.sam, at=local(2026, 3, 5, 9),
                        data={"instructions": "三日内报告进展。", "days": 3})
    made["february"] = report(cast, at=local(2026, 2, 27, 9))
    made["elsewhere"] = report(cast, actor=cast.nina, at=local(2026, 3, 3, 9), village=cast.nanshan.pk)
    return made


def read(kind: str, unit: Any, period: str, **kwargs: Any) -> tuple[str, list[str], list[tuple[Any, ...]]]:
    out = BytesIO()
    write_ledger(kind, unit, period, out, **kwargs)
    sheet = openpyxl.load_workbook(BytesIO(out.getvalue()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    return rows[0][0], list(rows[1]), rows[2:]


def column(header: list[str], rows: list[tuple[Any, ...]], name: str) -> list[Any]:
    i = header.index(name)
    return [row[i] for row in rows]


def test_the_dispute_ledger_lists_exactly_the_periods_disputes_of_the_unit(cast, march):
    title, header, rows = read("disputes", cast.liulin, "2026-03")
    assert title == "2026年3月 柳林镇 矛盾纠纷排查化解台账"
    expected = Case.objects.within(cast.liulin).filter(
        kind="dispute", reported_at__gte=local(2026, 3, 1), reported_at__lt=local(2026, 4, 1))
    assert len(rows) == expected.count() == 6
    assert column(header, rows, "编号") == list(expected.order_by("reported_at").values_list("number", flat=True))
    assert column(header, rows, "序号") == [1, 2, 3, 4, 5, 6]
    assert Counter(column(header, rows, "纠纷类别")) == {"山林土地（土地流转）": 2, "劳动争议（劳资、工伤）": 2, "征地拆迁": 2}
    assert column(header, rows, "涉及人数") == [2, 49, 50, 100, 101, 501]
    rent = rows[0]
    assert rent[header.index("登记日期")].date().isoformat() == "2026-03-02"
    assert rent[header.index("村（社区）")] == "东湾村"
    assert rent[header.index("当事人")] == "张三（申请人）、李四（被申请人）"
    assert rent[header.index("涉及金额（元）")] == 12000
    assert rent[header.index("办理状态")] == "已化解"
    assert rent[header.index("化解方式")] == "达成书面调解协议"
    assert rent[header.index("化解日期")].date().isoformat() == "2026-03-05"
    assert rent[header.index("承办人")] == "mia"
    wages = rows[2]
    assert (wages[header.index("办理状态")], wages[header.index("办结方式")]) == ("已办结", "已化解并回访")
    assert wages[header.index("群体性")] == "是" and wages[header.index("风险等级")] == "较大"
    # 东湾村 alone: its three.
    _, _, village_rows = read("disputes", cast.dongwan, "2026-03")
    assert len(village_rows) == 3
    # The year: February's case too; 桃源镇's never.
    _, _, year = read("disputes", cast.liulin, "2026")
    assert len(year) == 7


def test_a_user_exports_only_what_they_may_see(cast, march):
    _, _, alices = read("disputes", cast.liulin, "2026-03", user=cast.alice)
    assert len(alices) == 3  # her village's
    _, _, owens = read("disputes", cast.liulin, "2026-03", user=cast.owen)
    assert owens == []


def test_the_monthly_table_counts_by_category_and_band(cast, march):
    rows = {r.category: r for r in monthly_table(cast.liulin, parse_period("2026-03"))}
    # Hand-computed from the fixture: found / accepted / resolved (and not reopened).
    assert (rows["land_forest"].found, rows["land_forest"].handled, rows["land_forest"].succeeded) == (2, 2, 1)
    assert (rows["labour"].found, rows["labour"].handled, rows["labour"].succeeded) == (2, 1, 1)
    assert (rows["land_acquisition"].found, rows["land_acquisition"].handled,
            rows["land_acquisition"].succeeded) == (2, 2, 1)
    total = rows[""]
    assert (total.found, total.handled, total.succeeded, total.major) == (6, 5, 3, 1)
    assert total.handled_rate == 5 / 6 and total.success_rate == 3 / 5
    # Bands hold their upper edge: 2, 49 | 50, 100 | 101 | 501.
    assert total.bands == (2, 2, 1, 1)
    assert rows["labour"].bands == (0, 2, 0, 0)
    assert rows["marriage_family"].found == 0 and rows["marriage_family"].handled_rate is None
    # Year to date adds February's dispute (reported, not accepted).
    assert (total.found_ytd, total.handled_ytd, total.succeeded_ytd) == (7, 5, 3)


def test_the_monthly_table_sheet_holds_the_same_figures(cast, march):
    _, header, rows = read("monthly", cast.liulin, "2026-03")
    assert header[:7] == ["类别", "排查数", "调处数", "成功数", "调处率", "成功率", "重大矛盾纠纷"]
    assert header[7:11] == [label for label, _, _ in BANDS]
    assert len(rows) == 19  # 18 categories and the total
    total = rows[-1]
    assert total[0] == "合计"
    assert total[1:4] == (6, 5, 3)
    assert total[4] == pytest.approx(5 / 6) and total[5] == pytest.approx(0.6)
    assert total[6:11] == (1, 2, 2, 1, 1)
    assert total[11:] == (7, 5, 3)
    # The rows add up to the total, column by column.
    for i in (1, 2, 3, 6, 7, 8, 9, 10):
        assert sum(row[i] for row in rows[:-1]) == total[i]


@pytest.mark.parametrize("people, band", [(1, "50人以下"), (49, "50人以下"), (50, "50-100人"), (100, "50-100人"),
                                          (101, "101-500人"), (500, "101-500人"), (501, "500人以上")])
def test_band_edges(people, band):
    assert band_of(people) == band


def test_the_other_ledgers(cast, march):
    _, header, rows = read("mediation", cast.liulin, "2026-03")
    assert column(header, rows, "编号") == [march["acquisition"].number]
    assert rows[0][header.index("调解次数")] == 1 and rows[0][header.index("调解结果")] == "调解中"
    assert rows[0][header.index("申请人")] == "张三" and rows[0][header.index("被申请人")] == "李四"

    _, header, rows = read("petitions", cast.liulin, "2026-03")
    assert column(header, rows, "编号") == [march["petition"].number]
    assert rows[0][header.index("事项类型")] == "申诉求决类" and rows[0][header.index("办理状态")] == "已登记"

    _, header, rows = read("supervision", cast.liulin, "2026-03")
    assert column(header, rows, "案件编号") == [march["boundary"].number]
    assert rows[0][header.index("督办人")] == "sam" and rows[0][header.index("督办状态")] == "办理中"

    _, header, rows = read("follow_up", cast.liulin, "2026-03")
    assert column(header, rows, "案件编号") == [march["wages"].number]
    assert rows[0][header.index("满意度")] == "满意"
    assert rows[0][header.index("回访情况")] == "电话回访，协议已履行。"


def test_the_command_writes_a_ledger(cast, march, tmp_path: Path):
    out = StringIO()
    target = tmp_path / "march.xlsx"
    call_command("export_ledger", "disputes", "--period", "2026-03", "--unit", "QY-LL", "--out", str(target),
                 stdout=out)
    assert "6 rows" in out.getvalue()
    sheet = openpyxl.load_workbook(target, read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 8


@pytest.mark.parametrize("args, message", [
    (["ledgers", "--period", "2026-03", "--unit", "QY-LL"], "Unknown ledger"),
    (["disputes", "--period", "2026-13", "--unit", "QY-LL"], "YYYY-MM"),
    (["disputes", "--period", "March", "--unit", "QY-LL"], "YYYY-MM"),
    (["disputes", "--period", "2026-03", "--unit", "NOPE"], "no unit"),
])
def test_the_command_refuses_bad_arguments(cast, tmp_path: Path, args, message):
    target = tmp_path / "x.xlsx"
    with pytest.raises(CommandError, match=message):
        call_command("export_ledger", *args, "--out", str(target))
    assert not target.exists()


def test_the_download_streams_the_file(cast, march):
    response = ledger_response("disputes", cast.liulin, "2026-03", user=cast.olga)
    body = b"".join(response.streaming_content)
    assert response["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(BytesIO(body), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 8
