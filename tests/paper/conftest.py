"""Cases for the printed forms, built through the real services at set moments (no test
depends on the day it runs), and how a test reads a PDF: its text, as pypdf extracts it."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from cases.models import Case
from paper.render import html_to_document
from tests.conftest import DISPUTE, PETITION, Cast, local
from workflow import services

# Two parties with every item a mediation agreement names (人民调解法 第二十九条). 张三's ID
# number gives a woman born 1949-12-31, 李四's a man born 1980-01-01: sex and date of birth
# are read from them at intake.
APPLICANT = {"name": "张三", "role": "applicant", "id_number": "11010519491231002X", "phone": "13800138000",
             "ethnicity": "汉族", "occupation": "农民", "address": "青阳县柳林镇东湾村三组12号"}
RESPONDENT = {"name": "李四", "role": "respondent", "id_number": "110105198001010016", "phone": "13900139000",
              "ethnicity": "回族", "occupation": "个体经营户", "address": "青阳县柳林镇西岭村五组8号"}
PETITIONER = {"name": "王五", "role": "petitioner", "id_number": "320122197511080437", "phone": "13700137000",
              "ethnicity": "汉族", "occupation": "村民", "address": "青阳县柳林镇东湾村一组3号"}
RAW_IDS = [APPLICANT["id_number"], RESPONDENT["id_number"]]
RAW_PHONES = [APPLICANT["phone"], RESPONDENT["phone"]]

FINDINGS = "经查，双方于2025年签订土地流转合同，约定年租金一万二千元，李四尚欠2025年度租金。"
AGREEMENT = "李四于2026年3月31日前向张三支付拖欠的2025年度土地流转租金人民币一万二千元整。"
SESSION = "双方陈述意见。张三要求支付租金，李四称资金周转困难，请求宽限。调解员释明合同约定。"
VISIT = "回访时李四已按约支付租金，双方关系和睦，纠纷未反复。"


def text_of(pdf: bytes) -> str:
    """The PDF's text with all white space taken out: the layout breaks lines anywhere."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def pages_of(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", "", page.extract_text()) for page in reader.pages]


def upload_pdf(text: str, name: str = "扫描件.pdf") -> SimpleUploadedFile:
    """A one-page PDF saying `text`, as a scan's file would be uploaded."""
    html = f'<html><body style="font-family: Noto Sans CJK SC; font-size: 20pt">{text}</body></html>'
    return SimpleUploadedFile(name, html_to_document(html).write_pdf(), content_type="application/pdf")


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def step(case: Any, name: str, actor: Any, at: datetime, files: Any = None, **data: Any) -> Case:
    return services.transition(case, name, actor=actor, data=data, at=at, files=files)


def dispute(cast: Cast, **overrides: Any) -> Case:
    """A dispute of 东湾村 brought by 张三 in person (an application), registered by alice
    on 2 March 2026; it arose on 27 February at the village's crossroads."""
    case = services.report_case(
        actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk, "source": "visit", **overrides},
        parties=[APPLICANT, RESPONDENT], at=local(2026, 3, 2, 9, 0), repeats_seen=True)
    Case.objects.filter(pk=case.pk).update(occurred_at=local(2026, 2, 27, 16, 30), occurred_place="东湾村村口")
    return Case.objects.get(pk=case.pk)


def mediating(cast: Cast, sessions: int = 1, **overrides: Any) -> Case:
    """Accepted by olga on 3 March (mia carries it), a note of the investigation, mediation
    from 4 March with its findings, `sessions` sessions recorded by mia."""
    case = dispute(cast, **overrides)
    step(case, "accept", cast.olga, local(2026, 3, 3, 9), assignee=cast.mia.pk, lead_department=cast.justice.pk)
    step(case, "note", cast.mia, local(2026, 3, 3, 15), text="已到现场查看流转地块，并分别听取双方陈述。")
    step(case, "start_mediation", cast.mia, local(2026, 3, 4, 9), findings=FINDINGS)
    for n in range(sessions):
        step(case, "record_session", cast.mia, local(2026, 3, 5, 9) + timedelta(hours=n),
             held_on=f"2026-03-{5 + n % 20:02d}", place="东湾村调解室", participants=f"张三、李四、调解员王敏（第{n + 1}次）",
             record=f"{SESSION}（第{n + 1}次）")
    return Case.objects.get(pk=case.pk)


def agreed(cast: Cast, **overrides: Any) -> Case:
    """Resolved by mia on 10 March with a written agreement, its signed scan attached."""
    case = mediating(cast, **overrides)
    step(case, "resolve", cast.mia, local(2026, 3, 10, 10), files={"agreement": upload_pdf("已签署的调解协议书扫描件")},
         outcome="agreement_written", summary=AGREEMENT)
    return Case.objects.get(pk=case.pk)


def visited(cast: Cast) -> Case:
    """Visited by olga on 25 March, closed."""
    case = agreed(cast)
    step(case, "follow_up", cast.olga, local(2026, 3, 25, 10), record=VISIT, satisfaction="satisfied")
    return Case.objects.get(pk=case.pk)


def petition(cast: Cast, **overrides: Any) -> Case:
    """王五's petition of 2 March 2026 in 东湾村, registered by olga."""
    return services.report_case(
        actor=cast.olga, data={**PETITION, "village": cast.dongwan.pk, **overrides}, parties=[PETITIONER],
        at=local(2026, 3, 2, 9, 0), repeats_seen=True)


def accepted_petition(cast: Cast) -> Case:
    case = petition(cast)
    return step(case, "accept", cast.olga, local(2026, 3, 3, 9), assignee=cast.mia.pk, lead_department=cast.justice.pk)


def answered_petition(cast: Cast, outcome: str = "not_supported") -> Case:
    case = accepted_petition(cast)
    step(case, "note", cast.mia, local(2026, 3, 10, 9), text="经核查，补偿款已按批复标准足额拨付至村集体账户。")
    step(case, "resolve", cast.mia, local(2026, 4, 20, 9), outcome=outcome, summary="补偿款已按标准足额发放，诉求缺乏事实根据。")
    return Case.objects.get(pk=case.pk)


def rejected_petition(cast: Cast) -> Case:
    case = petition(cast)
    return step(case, "reject", cast.olga, local(2026, 3, 4, 9), reason="该事项已经人民法院生效判决处理，属于诉讼程序解决的事项。")
