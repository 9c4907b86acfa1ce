"""Every path of the state machine (docs/workflow.md), through the one transition service,
checking the stage, the audit trail and the clocks each step leaves in the database."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case, CaseEvent, CaseGroupObjectPermission, CaseUserObjectPermission, Party
from notifications.models import Notification
from tests.conftest import PETITION, accept, local, report, step
from workflow import services
from workflow.models import Deadline
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db


def open_kinds(case: Case) -> set[str]:
    return set(Deadline.objects.open().filter(case=case).values_list("kind", flat=True))


def met_kinds(case: Case) -> set[str]:
    return set(Deadline.objects.filter(case=case, met_at__isnull=False).values_list("kind", flat=True))


def trail(case: Case) -> list[tuple[str, str, str]]:
    return list(CaseEvent.objects.filter(case=case).values_list("kind", "from_stage", "to_stage"))


def test_a_dispute_goes_from_report_to_visited_and_closed(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = report(cast, at=local(2026, 3, 2, 9))
    assert case.number == "QY-LL-2026-00001"
    assert case.responsible_unit == cast.liulin
    assert Party.objects.filter(case=case).count() == 2
    assert open_kinds(case) == {"acceptance"}

    case = accept(cast, case, local(2026, 3, 3, 10))
    assert (case.stage, case.assignee, case.lead_department) == ("investigating", cast.mia, cast.justice)
    assert met_kinds(case) == {"acceptance"} and open_kinds(case) == {"investigation"}
    assert CaseUserObjectPermission.objects.filter(content_object=case, user=cast.mia).exists()
    assert CaseGroupObjectPermission.objects.filter(content_object=case, group=cast.justice.group).exists()
    assert Notification.objects.filter(user=cast.mia, case=case, level="assignment").count() == 1

    case = step(case, "start_mediation", cast.mia, local(2026, 3, 5, 15), findings="租金拖欠属实，双方愿意调解。")
    assert case.stage == "mediating" and open_kinds(case) == {"mediation"}

    case = step(case, "record_session", cast.mia, local(2026, 3, 9, 10), held_on="2026-03-09", place="东湾村调解室",
                participants="张三、李四、调解员", record="双方就分期支付达成初步意向。")
    # A written agreement comes with its signed document, kept with the case (issue 15).
    case = services.transition(case, "resolve", actor=cast.mia, at=local(2026, 3, 10, 16),
                               data={"outcome": "agreement_written", "summary": "李某分两期支付租金。"},
                               files={"agreement": SimpleUploadedFile("调解协议书.pdf", b"%PDF-1.4")})
    assert case.documents.get().original_name == "调解协议书.pdf"
    assert case.stage == "resolved" and case.outcome["kind"] == "agreement_written"
    # A written agreement opens the 30-day window for judicial confirmation (人民调解法 第三十三条).
    assert open_kinds(case) == {"follow_up", "judicial_confirmation"}

    case = step(case, "follow_up", cast.mia, local(2026, 3, 20, 9), record="回访：第一期已支付。", satisfaction="satisfied")
    assert (case.stage, case.closure, case.satisfaction) == ("closed", "visited", "satisfied")
    assert case.closed_at == local(2026, 3, 20, 9)
    assert open_kinds(case) == set()
    assert trail(case) == [
        ("report", "", "reported"),
        ("accept", "reported", "investigating"),
        ("start_mediation", "investigating", "mediating"),
        ("record_session", "mediating", "mediating"),
        ("resolve", "mediating", "resolved"),
        ("follow_up", "resolved", "closed"),
    ]
    actors = list(CaseEvent.objects.filter(case=case).values_list("actor__username", flat=True))
    assert actors == ["alice", "olga", "mia", "mia", "mia", "mia"]


def test_a_petition_runs_one_handling_clock_from_acceptance_to_resolution(cast):
    case = report(cast, at=local(2026, 3, 2, 9), **PETITION)
    # 信访工作条例 第二十二、二十三条: registered, routed and the petitioner told within 15 日,
    # one duty on one clock.
    assert open_kinds(case) == {"registration"}
    assert Deadline.objects.get(case=case).legal_basis == "信访工作条例 第二十二条、第二十三条"
    case = accept(cast, case, local(2026, 3, 4, 9))
    assert met_kinds(case) == {"registration"}
    handling = Deadline.objects.get(case=case, kind="handling")
    # 信访工作条例 第三十四条: 60 日 from acceptance, the start day not counted: 3 May,
    # inside the Labour Day holiday (1–5 May 2026), so the term ends on Wednesday 6 May.
    assert handling.due_at == local(2026, 5, 6, 23, 59, 59)
    assert handling.legal_basis == "信访工作条例 第三十四条"
    case = step(case, "start_mediation", cast.mia, local(2026, 3, 10, 9), findings="核实补偿标准。")
    assert open_kinds(case) == {"handling", "mediation"}
    case = step(case, "resolve", cast.mia, local(2026, 3, 30, 9), outcome="explained", summary="已向信访人解释政策。")
    assert met_kinds(case) >= {"handling", "mediation"} and open_kinds(case) == {"follow_up"}
    case = step(case, "follow_up", cast.olga, local(2026, 4, 10, 9), record="电话回访。", satisfaction="basically")
    assert case.stage == "closed" and case.closure == "visited"


def test_escalate_hands_the_case_to_the_unit_above_which_takes_it_over(cast):
    case = accept(cast, report(cast), local(2026, 3, 3, 9))
    case = step(case, "escalate", cast.olga, local(2026, 3, 4, 9), reason="涉及县级部门职能，镇级无法化解。")
    assert (case.stage, case.responsible_unit) == ("escalated", cast.county)
    assert open_kinds(case) == {"take_over"} and "investigation" in met_kinds(case)
    escalated = CaseEvent.objects.get(case=case, kind="escalate")
    assert escalated.data["from_unit"] == cast.liulin.pk and escalated.data["to_unit"] == cast.county.pk
    # The county's officers and supervisors hear of it; nobody else does.
    assert set(Notification.objects.filter(case=case, level="escalated").values_list("user__username", flat=True)) == {
        "cora",
        "carl",
    }
    case = step(case, "take_over", cast.cora, local(2026, 3, 5, 9), assignee=cast.cora.pk)
    assert (case.stage, case.assignee, case.responsible_unit) == ("investigating", cast.cora, cast.county)
    assert not CaseUserObjectPermission.objects.filter(content_object=case, user=cast.mia).exists()
    assert open_kinds(case) == {"investigation"}


def test_send_back_returns_an_escalated_case_to_the_unit_below_with_instructions(cast):
    case = accept(cast, report(cast), local(2026, 3, 3, 9))
    case = step(case, "escalate", cast.sam, local(2026, 3, 4, 9), reason="请求县里协调。")
    case = step(case, "send_back", cast.carl, local(2026, 3, 5, 9), instructions="属地管理，由镇里牵头化解。")
    assert (case.stage, case.responsible_unit, case.assignee) == ("investigating", cast.liulin, cast.mia)
    assert set(Notification.objects.filter(case=case, kind="send_back").values_list("user__username", flat=True)) == {
        "olga",
        "mia",
    }
    assert trail(case)[-1] == ("send_back", "escalated", "investigating")


def test_reopen_sends_a_resolved_case_back_to_investigation(cast):
    case = accept(cast, report(cast), local(2026, 3, 3, 9))
    case = step(case, "resolve", cast.mia, local(2026, 3, 6, 9), outcome="agreement_oral", summary="口头协议。")
    case = step(case, "reopen", cast.olga, local(2026, 3, 9, 9), reason="当事人反映协议未履行，纠纷反复。")
    assert (case.stage, case.outcome, case.resolved_at) == ("investigating", {}, None)
    assert "follow_up" in met_kinds(case) and open_kinds(case) == {"investigation"}
    event = CaseEvent.objects.get(case=case, kind="reopen")
    assert event.data["previous_outcome"]["kind"] == "agreement_oral"


@pytest.mark.parametrize(
    "path, closure",
    [
        ([("reject", "olga", {"reason": "不属于受理范围。"})], "rejected"),
        ([("accept", "olga", None), ("refer", "olga", {"channel": "litigation", "reason": "已起诉。"})], "referred"),
        ([("accept", "olga", None), ("withdraw", "olga", {"reason": "申请人撤回。"})], "withdrawn"),
        ([("withdraw", "olga", {"reason": "双方自行和解。"})], "withdrawn"),
    ],
)
def test_cases_close_by_rejection_referral_and_withdrawal(cast, path, closure):
    case = report(cast)
    for i, (name, actor, data) in enumerate(path):
        if name == "accept":
            case = accept(cast, case, local(2026, 3, 3, 9 + i))
        else:
            case = step(case, name, getattr(cast, actor), local(2026, 3, 3, 9 + i), **data)
    assert (case.stage, case.closure) == ("closed", closure)
    assert open_kinds(case) == set()
    assert trail(case)[-1][1:] == ("investigating" if len(path) > 1 else "reported", "closed")


def test_refer_from_escalated_closes_the_case(cast):
    case = step(report(cast), "escalate", cast.olga, local(2026, 3, 3, 9), reason="重大复杂。")
    case = step(case, "refer", cast.carl, local(2026, 3, 4, 9), channel="arbitration", reason="转劳动仲裁。")
    assert (case.stage, case.closure) == ("closed", "referred")


def test_a_major_risk_case_opens_a_two_hour_clock_met_by_escalation(cast):
    case = report(cast, at=local(2026, 3, 2, 9), risk="major", is_group=True, people_involved=80)
    clock = Deadline.objects.get(case=case, kind="major_report")
    assert clock.due_at == local(2026, 3, 2, 11) and clock.unit == "hours"
    step(case, "escalate", cast.olga, local(2026, 3, 2, 10), reason="群体性纠纷，风险重大。")
    clock.refresh_from_db()
    assert clock.met_at == local(2026, 3, 2, 10)


def test_reassigning_moves_the_per_case_grants(cast):
    case = accept(cast, report(cast), local(2026, 3, 3, 9))
    step(case, "assign", cast.olga, local(2026, 3, 4, 9), assignee=cast.lena.pk)
    grantees = set(CaseUserObjectPermission.objects.filter(content_object=case).values_list("user__username", flat=True))
    assert grantees == {"lena"}
    event = CaseEvent.objects.get(case=case, kind="assign")
    assert (event.data["assignee"], event.data["previous_assignee"]) == (cast.lena.pk, cast.mia.pk)


def test_a_liaison_of_a_county_department_can_take_a_case_it_leads(cast):
    case = step(report(cast), "accept", cast.olga, local(2026, 3, 3, 9), assignee=cast.hans.pk,
                lead_department=cast.labour_bureau.pk)
    assert (case.assignee, case.lead_department) == (cast.hans, cast.labour_bureau)
    assert visible_to(cast.hans).filter(pk=case.pk).exists()
