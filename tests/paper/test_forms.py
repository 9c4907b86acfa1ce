"""What each form holds, read back from its PDF's text (docs/paper.md): the items the law
requires, taken from the case's records, blank lines for what the records do not hold,
personal data masked unless printed in full, and only the forms a case has."""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case, Party
from paper.catalogue import print_list
from paper.dossier import render_form
from tests.conftest import local, report

from .conftest import (
    AGREEMENT,
    APPLICANT,
    FINDINGS,
    RAW_IDS,
    RAW_PHONES,
    RESPONDENT,
    SESSION,
    VISIT,
    accepted_petition,
    agreed,
    answered_petition,
    dispute,
    mediating,
    petition,
    rejected_petition,
    step,
    text_of,
    visited,
)

pytestmark = pytest.mark.django_db


def form_text(case: Case, slug: str, *, full: bool = False) -> str:
    pdf = render_form(case, slug, full=full)
    assert pdf is not None, f"{case.number} has no {slug}"
    return text_of(pdf)


def slugs(case: Case) -> list[str]:
    return [slug for slug, _ in print_list(Case.objects.get(pk=case.pk))]


def test_the_agreement_holds_every_item_of_article_29(cast: Any, media: Any) -> None:
    text = form_text(agreed(cast), "agreement")
    assert "人民调解协议书" in text and "（2026）柳林人调字第1号" in text
    # Each party's name, sex, age, ethnicity, occupation and address (基本情况).
    for party, sex, age in ((APPLICANT, "女", "76岁"), (RESPONDENT, "男", "46岁")):
        for item in (party["name"], party["ethnicity"], party["occupation"], party["address"], sex, age):
            assert f"{item}" in text, item
    assert "姓名张三性别女民族汉族年龄76岁职业农民" in text
    # The main facts and the points in dispute: the summary, where and when, the findings.
    assert "村民张某与承包大户李某因土地流转租金支付发生纠纷。" in text
    assert "2026年2月27日16时30分" in text and "东湾村村口" in text and FINDINGS in text
    # What was agreed, and how and by when it is carried out (to be written by hand).
    assert "当事人自愿达成如下协议" + AGREEMENT in text
    assert "履行方式、地点和期限" in text
    # When it takes effect and that it binds; signatures, the mediator, the seal, the date.
    assert "人民调解员签名并加盖人民调解委员会印章之日起生效" in text and "第二十九条" in text and "第三十一条" in text
    assert text.count("当事人（签名）") == 2 and "人民调解员（签名）" in text
    assert "柳林镇人民调解委员会（印）2026年3月10日" in text
    assert "一式3份" in text


def test_personal_data_is_masked_unless_printed_in_full(cast: Any, media: Any) -> None:
    case = agreed(cast)
    masked = form_text(case, "agreement")
    assert not any(raw in masked for raw in RAW_IDS + RAW_PHONES)
    assert "110***********002X" in masked and "138****8000" in masked
    # The date of birth only beside the full ID number; the age always.
    assert "1949年12月31日生" not in masked and "76岁" in masked
    full = form_text(case, "agreement", full=True)
    assert all(raw in full for raw in RAW_IDS + RAW_PHONES)
    assert "76岁（1949年12月31日生）" in full and "46岁（1980年1月1日生）" in full


def test_a_form_prints_the_same_whatever_day_it_is_printed(cast: Any, media: Any, time_machine: Any) -> None:
    case = agreed(cast)
    time_machine.move_to(local(2026, 3, 20, 9))
    then = form_text(case, "agreement")
    time_machine.move_to(local(2031, 10, 2, 10))  # years later, on a holiday
    assert form_text(case, "agreement") == then


def test_the_agreement_is_printed_blank_for_signing_while_mediating(cast: Any) -> None:
    text = form_text(mediating(cast), "agreement")
    assert AGREEMENT not in text and "当事人自愿达成如下协议" in text
    assert "当事人（签名）" in text and "人民调解员（签名）" in text and "人民调解委员会（印）" in text
    # Not yet signed: no date under the seal.
    assert "人民调解委员会（印）2026" not in text


def test_what_the_records_do_not_hold_prints_as_blank_lines(cast: Any) -> None:
    # The shared cast's parties: 李四 has no ID number, no phone, no facts at all.
    case = step(report(cast, source="visit"), "accept", cast.olga, local(2026, 3, 3, 9), assignee=cast.mia.pk,
                lead_department=cast.justice.pk)
    Party.objects.filter(case=case, name="李四").update(sex="", birth_date=None)
    text = form_text(case, "application")
    assert "姓名李四性别民族年龄职业身份证号联系电话住址" in text
    assert "发生时间：发生地点：" in text  # not recorded on this case
    assert "申请事项1.2.3." in text  # the requests are written by hand


def test_the_application_and_the_register(cast: Any, media: Any) -> None:
    case = mediating(cast)
    application = form_text(case, "application")
    assert "申请人姓名张三" in application and "被申请人姓名李四" in application
    assert "申请人自愿申请人民调解" in application and "申请人（签名）：2026年3月2日" in application
    register = form_text(case, "registration")
    assert "2026年3月3日，柳林镇人民调解委员会受理张三与李四之间的山林土地（土地流转）纠纷。" in register
    assert "案件来源来访" in register and "登记人alice" in register and "承办人mia" in register
    assert "人民调解委员会（印）" in register and "登记人（签名）" in register


def test_the_investigation_record_holds_the_notes_and_the_findings(cast: Any, media: Any) -> None:
    text = form_text(mediating(cast), "investigation")
    assert "已到现场查看流转地块" in text and "调查核实结论：" + FINDINGS in text
    assert "2026年3月3日15时00分mia" in text
    assert "被调查人（签名）" in text and "调查人（签名）" in text


def test_one_mediation_record_per_session(cast: Any, media: Any) -> None:
    case = mediating(cast, sessions=3)
    pdf = render_form(case, "mediation-record")
    text = text_of(pdf)
    for n in (1, 2, 3):
        assert f"{SESSION}（第{n}次）" in text
    assert text.count("人民调解记录") == 3
    assert "调解时间2026年3月6日调解地点东湾村调解室" in text
    assert "参加人员张三、李四、调解员王敏（第2次）" in text
    assert text.count("人民调解员（签名）") == 3 and text.count("记录人（签名）") == 3


def test_an_oral_agreement_is_recorded_instead_of_an_agreement_document(cast: Any, media: Any) -> None:
    case = step(mediating(cast), "resolve", cast.mia, local(2026, 3, 10, 10), outcome="agreement_oral",
                summary="双方口头约定月底前结清。")
    assert "agreement" not in slugs(case)
    text = form_text(case, "mediation-record")
    assert "口头协议内容双方口头约定月底前结清。" in text and "第二十八条" in text


def test_the_follow_up_and_the_closing_report(cast: Any, media: Any) -> None:
    case = visited(cast)
    visit = form_text(case, "follow-up")
    assert VISIT in visit and "回访时间2026年3月25日回访人olga" in visit and "当事人满意度满意" in visit
    assert "协议书编号（2026）柳林人调字第1号" in visit
    report_text = form_text(case, "closing-report")
    assert "受案时间2026年3月3日结案时间2026年3月25日" in report_text
    assert "处理结果达成书面调解协议：" + AGREEMENT in report_text
    assert "结案方式已化解并回访" in report_text


def test_a_referred_dispute_closes_with_the_channel_and_the_reason(cast: Any, media: Any) -> None:
    case = step(mediating(cast), "refer", cast.olga, local(2026, 3, 20, 9), channel="litigation",
                reason="调解不成，当事人拟起诉。")
    text = form_text(case, "closing-report")
    assert "移交诉讼处理：调解不成，当事人拟起诉。" in text and "结案方式已移交" in text


def test_the_notice_of_acceptance_states_the_time_limits_and_the_review(cast: Any) -> None:
    text = form_text(accepted_petition(cast), "acceptance-notice")
    assert "信访事项受理告知书" in text and text.count("王五") >= 1
    assert "本机关已于2026年3月3日予以受理" in text and "由柳林司法所牵头办理" in text
    assert "自受理之日起60日内办结" in text and "延长期限不得超过30日" in text and "第三十四条" in text
    assert "本事项办理期限为自受理之日起60个自然日" in text  # the case's own clock
    assert "30日内请求原办理机关、单位的上一级机关、单位复查" in text and "第三十五条" in text
    assert "15日内书面告知" in text and "第二十三条" in text
    assert "柳林镇（印）2026年3月3日" in text


@pytest.mark.parametrize("outcome, item, label", [
    ("supported", "予以支持（第一项）", "支持信访请求"),
    ("explained", "应当作出解释说明（第二项）", "解释说明"),
    ("not_supported", "不予支持（第三项）", "不予支持信访请求"),
])
def test_the_handling_opinion_states_its_basis_the_time_limits_and_the_review(cast: Any, outcome: str, item: str,
                                                                              label: str) -> None:
    text = form_text(answered_petition(cast, outcome), "opinion")
    assert "信访事项处理意见书" in text and "信访人王五" in text
    assert "信访人的投诉请求信访人反映征地补偿款未足额发放。" in text  # the request
    assert "补偿款已按批复标准足额拨付至村集体账户" in text  # the facts found
    assert f"处理意见及依据{label}。补偿款已按标准足额发放" in text and "第三十二条" in text and item in text
    assert "自收到本意见书之日起30日内，向青阳县（原办理机关、单位的上一级机关、单位）书面请求复查" in text
    assert "第三十五条" in text and "复核（第三十六条）" in text
    assert "自受理之日起60日内办结" in text and "于2026年3月3日受理，于2026年4月20日办结" in text
    assert "柳林镇（印）2026年4月20日" in text


def test_the_notice_of_non_acceptance_gives_the_reason_and_where_to_turn(cast: Any) -> None:
    text = form_text(rejected_petition(cast), "rejection-notice")
    assert "信访事项不予受理告知书" in text and "本机关决定不予受理" in text
    assert "该事项已经人民法院生效判决处理，属于诉讼程序解决的事项。" in text
    assert "第二十三条" in text and "第三十一条" in text and "15日内书面送达" in text
    # The Regulation gives no review of a refusal to accept: the notice promises none.
    assert "复查" not in text
    assert "柳林镇（印）2026年3月4日" in text


def test_each_case_offers_the_forms_of_its_kind_and_stage(cast: Any, media: Any) -> None:
    applied = dispute(cast)
    assert slugs(applied) == ["cover", "application"]
    found = report(cast)  # found in screening: no application of its own
    assert slugs(found) == ["cover"]
    step(found, "accept", cast.olga, local(2026, 3, 3, 9), assignee=cast.mia.pk, lead_department=cast.justice.pk)
    assert slugs(found) == ["cover", "registration", "investigation", "agreement"]
    assert slugs(mediating(cast)) == ["cover", "application", "registration", "investigation", "mediation-record",
                                      "agreement"]
    assert slugs(agreed(cast)) == ["cover", "application", "registration", "investigation", "mediation-record",
                                   "agreement", "follow-up"]
    assert slugs(visited(cast))[-2:] == ["follow-up", "closing-report"]
    assert slugs(petition(cast)) == ["cover"]
    assert slugs(accepted_petition(cast)) == ["cover", "acceptance-notice"]
    assert slugs(answered_petition(cast)) == ["cover", "acceptance-notice", "opinion", "follow-up"]
    assert slugs(rejected_petition(cast)) == ["cover", "rejection-notice"]


def test_a_form_the_case_does_not_have_is_not_printed(cast: Any, media: Any) -> None:
    case = answered_petition(cast)
    assert render_form(case, "agreement") is None  # a dispute's form
    assert render_form(case, "rejection-notice") is None  # not at this stage
    assert render_form(case, "no-such-form") is None


def test_the_cover_names_the_file(cast: Any, media: Any) -> None:
    text = form_text(visited(cast), "cover")
    assert "卷号：（2026）柳林人调字第1号人民调解卷宗卷名东湾村土地流转租金纠纷" in text
    assert "调解组织柳林镇人民调解委员会人民调解员mia调解日期自2026年3月3日至2026年3月10日" in text
    assert "立卷人立卷日期归档日期保管期限10年" in text
    # The cover carries no page number.
    assert "第1页" not in text
    assert "信访事项卷宗" in form_text(petition(cast), "cover")


def test_what_people_typed_is_printed_as_text(cast: Any, media: Any) -> None:
    case = dispute(cast, summary="<b>&amp;</b> <img src=http://127.0.0.1:9/x.png> " + "W" * 300 + " 😀")
    pdf = render_form(case, "application")
    text = text_of(pdf)
    assert "<b>&amp;</b><imgsrc=http://127.0.0.1:9/x.png>" in text and "W" * 300 in text and "😀" in text
