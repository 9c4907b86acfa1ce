"""The township pages of issue 5: screening returns, the monthly meeting with its
concealment suspects and decisions, ledgers as downloads, the legacy import, the
assessment and the dashboard. Built through the services; asserted on the database."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, time, timedelta
from html import unescape
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseEvent, ScreeningItem, ScreeningReturn
from desk.scope import last_month
from tests.conftest import report
from tests.desk.test_pages import text_of
from tests.reports.test_legacy_import import GOOD, workbook
from workflow.models import SupervisionOrder
from workflow.return_clocks import open_return_deadlines

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def in_last_month(day: int = 10) -> datetime:
    return datetime.combine(last_month().replace(day=day), time(9), tzinfo=SHANGHAI)


def month_param() -> str:
    return f"{last_month():%Y-%m}"


def body(response: Any) -> bytes:
    """A response's bytes, streamed (the import page streams asynchronously) or not."""
    if not response.streaming:
        return response.content

    async def collect() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return asyncio.run(collect()) if hasattr(response.streaming_content, "__aiter__") else b"".join(
        response.streaming_content)


# Returns.

def file_return(client: Any, village: Any, **data: Any) -> Any:
    return client.post(reverse("desk:returns:index"), {"village": village.pk, "month": month_param(),
                                                       "signed_off_by": "王村长", **data})


def test_a_village_worker_files_a_nil_return_once(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    assert file_return(client, cast.dongwan, nil="on").status_code == 302
    filed = ScreeningReturn.objects.get()
    assert (filed.village, filed.month, filed.is_nil, filed.signed_off_by, filed.submitted_by) == (
        cast.dongwan, last_month(), True, "王村长", cast.alice)
    again = file_return(client, cast.dongwan, nil="on")
    assert "不能在此报送" in text_of(again) and ScreeningReturn.objects.count() == 1
    assert 'name="signed_off_by"' not in client.get(reverse("desk:returns:index")).content.decode()


def test_a_return_lists_the_villages_cases_of_the_month(cast: Any, client: Any) -> None:
    found = report(cast, at=in_last_month())
    client.force_login(cast.alice)
    page = client.get(reverse("desk:returns:index")).content.decode()
    assert found.number in page
    file_return(client, cast.dongwan, cases=[found.pk])
    assert list(ScreeningItem.objects.values_list("case_id", flat=True)) == [found.pk]


def test_a_return_with_nothing_listed_and_not_nil_is_refused(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    response = file_return(client, cast.dongwan)
    assert response.status_code == 200 and "零报告" in text_of(response)
    assert not ScreeningReturn.objects.exists()


def test_nobody_files_another_villages_return(cast: Any, client: Any) -> None:
    client.force_login(cast.bob)
    file_return(client, cast.dongwan, nil="on")
    assert not ScreeningReturn.objects.exists()
    assert client.get(reverse("desk:returns:index")).status_code == 200
    client.force_login(cast.pete)
    assert client.get(reverse("desk:returns:index")).status_code == 403


# The meeting.

def test_the_meeting_shows_cases_returns_and_suspects(cast: Any, client: Any) -> None:
    screened = report(cast, at=in_last_month(5))
    hotline = report(cast, source="110", title="110转来的纠纷", at=in_last_month(12))
    services_file = client
    services_file.force_login(cast.alice)
    file_return(services_file, cast.dongwan, cases=[screened.pk])
    client.force_login(cast.olga)
    response = client.get(reverse("desk:meeting:index"), {"unit": cast.liulin.pk, "period": month_param()})
    html = response.content.decode()
    assert response.status_code == 200
    assert screened.number in html and hotline.number in html
    assert f'data-suspect="{hotline.pk}"' in html and f'data-suspect="{screened.pk}"' not in html
    assert f'<tr data-village="{cast.xiling.pk}">' in html  # 西岭村 has not filed


def test_a_suspect_is_confirmed_in_the_meeting_and_recorded_on_the_case(cast: Any, client: Any) -> None:
    hotline = report(cast, source="110", at=in_last_month(12))
    # Suspects are decided once the village's return is settled: here, filed nil.
    client.force_login(cast.alice)
    assert file_return(client, cast.dongwan, nil="on").status_code == 302
    client.force_login(cast.olga)
    response = client.post(reverse("desk:meeting:index"),
                           {"case": [hotline.pk], "decision": "confirm", "reason": "村里知情未报。"})
    assert response.status_code == 302
    event = CaseEvent.objects.get(case=hotline, kind__startswith="concealment")
    assert (event.kind, event.actor, event.data["reason"]) == ("concealment_confirmed", cast.olga, "村里知情未报。")
    client.post(reverse("desk:meeting:index"), {"case": [hotline.pk], "decision": "dismiss", "reason": "再议"})
    assert CaseEvent.objects.filter(case=hotline, kind__startswith="concealment").count() == 1


def test_a_village_worker_cannot_decide_on_concealment(cast: Any, client: Any) -> None:
    hotline = report(cast, source="110", at=in_last_month(12))
    client.force_login(cast.alice)
    client.post(reverse("desk:meeting:index"), {"case": [hotline.pk], "decision": "dismiss", "reason": "没有"})
    assert not CaseEvent.objects.filter(case=hotline, kind__startswith="concealment").exists()
    assert client.get(reverse("desk:meeting:index")).status_code == 403


def test_a_meeting_decision_goes_through_the_transition_service(cast: Any, client: Any) -> None:
    case = report(cast, at=in_last_month())
    client.force_login(cast.sam)
    meeting = reverse("desk:meeting:index") + f"?unit={cast.liulin.pk}&period={month_param()}"
    html = client.get(meeting).content.decode()
    # The row names the decision; its form arrives when the row is opened.
    frame = reverse("desk:case:operation_form", args=[case.pk, "supervise"])
    assert f'src="{frame}?next=' in html
    form = client.get(frame, {"next": meeting}).content.decode()
    assert f'action="{reverse("desk:case:operate", args=[case.pk, "supervise"])}"' in form
    response = client.post(reverse("desk:case:operate", args=[case.pk, "supervise"]),
                           {"instructions": "例会决定：三日内受理。", "next": meeting})
    assert response["Location"] == meeting
    assert SupervisionOrder.objects.filter(case=case, issued_by=cast.sam).exists()


# Ledgers and import.

def test_a_ledger_downloads_as_xlsx_with_the_cases_the_user_may_see(cast: Any, client: Any) -> None:
    mine = report(cast, at=in_last_month())
    theirs = report(cast, actor=cast.nina, village=cast.nanshan.pk, at=in_last_month())
    client.force_login(cast.olga)
    response = client.get(reverse("desk:ledgers:index"), {"unit": cast.liulin.pk, "period": month_param(),
                                                          "kind": "disputes"})
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    cells = {str(c.value) for row in openpyxl.load_workbook(BytesIO(body(response))).active.iter_rows()
             for c in row}
    assert mine.number in cells and theirs.number not in cells


def test_ledgers_are_not_for_village_workers(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    assert client.get(reverse("desk:ledgers:index"), {"kind": "disputes"}).status_code == 403


def test_the_ledgers_page_shows_the_monthly_table(cast: Any, client: Any) -> None:
    report(cast, at=in_last_month())
    client.force_login(cast.olga)
    response = client.get(reverse("desk:ledgers:index"), {"unit": cast.liulin.pk, "period": month_param()})
    assert response.status_code == 200 and "山林土地" in text_of(response)


# The import runs in a worker thread of its own (its progress streams meanwhile), which
# sees only committed data.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bad_import_file_is_reported_and_nothing_is_imported(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    upload = SimpleUploadedFile("ledger.xlsx", b"not a workbook")
    response = client.post(reverse("desk:ledgers:import"), {"unit": cast.liulin.pk, "file": upload})
    page = body(response).decode()
    assert "未导入任何数据" in page and "不是有效的电子表格工作簿" in page
    assert not Case.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_good_import_streams_its_progress_and_creates_the_cases(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    upload = SimpleUploadedFile("ledger.xlsx", workbook(GOOD).getvalue())
    response = client.post(reverse("desk:ledgers:import"), {"unit": cast.liulin.pk, "file": upload})
    page = body(response).decode()
    imported = int(re.search(r'data-imported="(\d+)"', page).group(1))
    assert imported == len(GOOD) == Case.objects.count()
    assert "<progress" in page
    # The result in the page's language, as the bad file's refusal is.
    assert f"已导入 {imported} 个案件。" in page and "查看这些案件" in page


# Assessment, dashboard, queue drill-downs, board.

def test_the_assessment_ranks_the_villages_and_links_to_the_cases(cast: Any, client: Any) -> None:
    case = report(cast, at=in_last_month())
    client.force_login(cast.sam)
    response = client.get(reverse("desk:assessment:index"), {"unit": cast.liulin.pk, "period": month_param()})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-unit="{cast.dongwan.pk}"' in html and f'data-unit="{cast.xiling.pk}"' in html
    # The figures from the rollup link to a view that reads their cases when followed.
    links = {unescape(link) for link in re.findall(r'href="([^"]*/assessment/cases/[^"]*)"', html)}
    followed = {client.get(link)["Location"] for link in links if f"of={cast.dongwan.pk}&" in link}
    assert followed and all(location.endswith(f"ids={case.pk}") for location in followed)


def test_the_dashboard_charts_the_units_cases_with_local_assets(cast: Any, client: Any) -> None:
    report(cast, at=in_last_month())
    client.force_login(cast.olga)
    response = client.get(reverse("desk:dashboard:index"), {"unit": cast.liulin.pk, "period": month_param()})
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/desk/vendor/echarts/echarts.common.min.js" in html and "http" not in re.findall(
        r'<script src="([^"]+)"', html)[-1]
    assert month_param() in html and f'data-village="{cast.dongwan.pk}"' in html


def test_queue_drill_downs_by_ids_and_month(cast: Any, client: Any) -> None:
    old = report(cast, at=in_last_month())
    new = report(cast, at=timezone.now() - timedelta(minutes=5))
    client.force_login(cast.olga)
    by_ids = client.get(reverse("desk:queue:index"), {"ids": f"{old.pk}", "stage": "all"}).content.decode()
    assert old.number in by_ids and new.number not in by_ids
    by_month = client.get(reverse("desk:queue:index"), {"reported": month_param()}).content.decode()
    assert old.number in by_month and new.number not in by_month


def test_the_board_lists_overdue_returns(cast: Any, client: Any) -> None:
    two_months_ago = (last_month() - timedelta(days=1)).replace(day=1)
    open_return_deadlines(two_months_ago, [cast.dongwan])
    client.force_login(cast.sam)
    html = client.get(reverse("desk:board:index")).content.decode()
    assert "overdue-returns" in html and "东湾村" in html
