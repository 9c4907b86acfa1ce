"""The permission matrix: every operation × every member of the cast.

The case is a dispute of 东湾村 held by 柳林镇, assigned to mia (mediator) with 柳林司法所
(lena) as lead department. Each person is either allowed (the operation is applied), or
refused: NotPermitted when they may see the case, CaseNotFound when they may not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from cases.models import Case, CaseEvent
from tests.conftest import PETITION, Cast, local, report
from workflow import services
from workflow.errors import CaseNotFound, NotPermitted
from workflow.models import Deadline
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db

EVERYONE = ["alice", "bob", "nina", "mia", "olga", "sam", "vic", "owen", "cora", "carl", "pete", "lena", "hans"]
# Who may see a case of 东湾村 held by 柳林镇 once 柳林司法所 leads it.
SEES = {"alice", "mia", "olga", "sam", "vic", "cora", "carl", "lena"}

T0 = local(2026, 3, 2, 9)


def reported(cast: Cast) -> Case:
    return report(cast, at=T0)


def investigating(cast: Cast) -> Case:
    return services.transition(
        reported(cast), "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk},
    )


def resolved(cast: Cast) -> Case:
    return services.transition(
        investigating(cast), "resolve", actor=cast.mia, at=local(2026, 3, 5, 9),
        data={"outcome": "agreement_oral", "summary": "口头协议。"},
    )


def escalated(cast: Cast) -> Case:
    return services.transition(
        investigating(cast), "escalate", actor=cast.olga, at=local(2026, 3, 4, 9), data={"reason": "需县级协调。"}
    )


def investigation_clock(case: Case) -> int:
    return Deadline.objects.get(case=case, kind="investigation").pk


def with_extension_requested(cast: Cast) -> Case:
    case = investigating(cast)
    services.transition(
        case, "request_extension", actor=cast.mia, at=local(2026, 3, 4, 9),
        data={"deadline": investigation_clock(case), "amount": 3, "reason": "需补充调查。"},
    )
    return case


def with_paused_clock(cast: Cast) -> Case:
    case = investigating(cast)
    services.transition(
        case, "pause_deadline", actor=cast.olga, at=local(2026, 3, 4, 9),
        data={"deadline": investigation_clock(case), "reason": "等待鉴定。"},
    )
    return case


def with_supervision_order(cast: Cast) -> Case:
    case = investigating(cast)
    services.transition(case, "supervise", actor=cast.sam, at=local(2026, 3, 4, 9),
                        data={"instructions": "三日内报告化解进展。", "days": 3})
    return case


def open_order(case: Case) -> int:
    return case.supervision_orders.get().pk


def major_investigating(cast: Cast) -> Case:
    """A case of major risk, which a leader may take in charge (领导包案)."""
    return services.transition(
        report(cast, at=T0, risk="major"), "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk},
    )


def taken_in_charge(cast: Cast) -> Case:
    return services.transition(major_investigating(cast), "take_charge", actor=cast.sam, at=local(2026, 3, 4, 9),
                               data={})


def with_co_department(cast: Cast) -> Case:
    """联调: 柳林派出所 (pete) co-handles the case beside the lead, 柳林司法所."""
    return services.transition(investigating(cast), "name_co_department", actor=cast.olga, at=local(2026, 3, 4, 9),
                               data={"department": cast.police.pk, "task": "核实双方冲突经过。"})


def resolved_in_writing(cast: Cast) -> Case:
    """Resolved by a written agreement, as the system records one from a ledger (its paper
    archived, no file to store): the setup of the API's matrix too, which keeps no media."""
    return services.transition(
        investigating(cast), "resolve", actor=None, at=local(2026, 3, 5, 9),
        data={"outcome": "agreement_written", "summary": "书面协议。"},
    )


def confirmation_applied(cast: Cast) -> Case:
    return services.transition(resolved_in_writing(cast), "apply_confirmation", actor=cast.olga,
                               at=local(2026, 3, 5, 15), data={"court": "青阳县人民法院", "applied_on": "2026-03-05"})


def performance_refused(cast: Cast) -> Case:
    return services.transition(resolved(cast), "record_visit", actor=cast.mia, at=local(2026, 3, 5, 15),
                               data={"record": "被申请人拒不支付。", "performance": "refused"})


# The petitions' setups run hours before now: a review is requested within 30 日 of the
# answer and an objection raised within 5 工作日 of the routing, and the API's matrix acts
# now (the workflow's acts at T0's week, earlier still, inside every window).


def hours_ago(hours: int) -> datetime:
    return timezone.now() - timedelta(hours=hours)


def petition_investigating(cast: Cast) -> Case:
    """A petition of 东湾村 held by 柳林镇, carried by mia and routed to 柳林司法所 (lena)."""
    return services.transition(
        report(cast, at=hours_ago(5), **PETITION), "accept", actor=cast.olga, at=hours_ago(4),
        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk},
    )


def petition_answered(cast: Cast) -> Case:
    return services.transition(petition_investigating(cast), "resolve", actor=cast.mia, at=hours_ago(3),
                               data={"outcome": "not_supported", "summary": "不予支持。"})


def under_review(cast: Cast) -> Case:
    """复查 requested of the county (cora): it holds the case now, mia no longer carries it."""
    return services.transition(petition_answered(cast), "request_review", actor=cast.cora,
                               at=hours_ago(2), data={"reason": "不服处理意见。"})


def routing_objected(cast: Cast) -> Case:
    return services.transition(petition_investigating(cast), "object_to_routing", actor=cast.lena,
                               at=hours_ago(3), data={"reason": "不属于本所职责。"})


Setup = Callable[[Cast], Case]
Data = Callable[[Cast, Case], dict[str, Any]]

# The key under which a row's data carries its uploads (files=, not data=).
FILES = "files"

MATRIX: list[tuple[str, Setup, Data, set[str]]] = [
    ("accept", reported, lambda c, case: {"assignee": c.mia.pk, "lead_department": c.justice.pk}, {"olga"}),
    ("reject", reported, lambda c, case: {"reason": "不属于受理范围。"}, {"olga"}),
    ("withdraw", reported, lambda c, case: {"reason": "撤回。"}, {"olga"}),
    ("start_mediation", investigating, lambda c, case: {"findings": "属实。"}, {"mia"}),
    ("resolve", investigating, lambda c, case: {"outcome": "agreement_oral", "summary": "和解。"}, {"mia"}),
    ("escalate", investigating, lambda c, case: {"reason": "上报。"}, {"olga", "sam", "carl"}),
    ("refer", investigating, lambda c, case: {"channel": "litigation", "reason": "诉讼。"}, {"olga", "sam", "carl"}),
    ("assign", investigating, lambda c, case: {"assignee": c.olga.pk}, {"olga", "sam", "carl"}),
    ("note", investigating, lambda c, case: {"text": "电话联系当事人。"}, {"alice", "mia", "olga", "sam", "carl", "lena"}),
    ("attach_document", investigating, lambda c, case: {"title": "调解协议书", FILES: {
        "file": SimpleUploadedFile("协议书.pdf", b"%PDF-1.4", content_type="application/pdf")}},
     {"alice", "mia", "olga", "sam", "carl", "lena"}),
    ("record_session", investigating,
     lambda c, case: {"held_on": "2026-03-04", "place": "调解室", "participants": "双方", "record": "记录。"},
     {"mia", "olga", "lena"}),
    ("request_extension", investigating,
     lambda c, case: {"deadline": investigation_clock(case), "amount": 3, "reason": "补充调查。"}, {"mia", "olga"}),
    ("decide_extension", with_extension_requested,
     lambda c, case: {"deadline": investigation_clock(case), "approve": "yes"}, {"sam", "carl"}),
    ("pause_deadline", investigating,
     lambda c, case: {"deadline": investigation_clock(case), "reason": "鉴定。"}, {"mia", "olga"}),
    ("resume_deadline", with_paused_clock, lambda c, case: {"deadline": investigation_clock(case)}, {"mia", "olga"}),
    ("follow_up", resolved, lambda c, case: {"record": "回访。", "satisfaction": "satisfied"}, {"mia", "olga"}),
    ("reopen", resolved, lambda c, case: {"reason": "反复。"}, {"olga", "sam", "carl"}),
    ("take_over", escalated, lambda c, case: {"assignee": c.cora.pk}, {"cora"}),
    ("send_back", escalated, lambda c, case: {"instructions": "属地化解。"}, {"carl"}),
    ("supervise", investigating, lambda c, case: {"instructions": "加快办理。"}, {"sam", "carl"}),
    ("reply_supervision", with_supervision_order,
     lambda c, case: {"order": open_order(case), "reply": "已约谈双方。"}, {"mia", "olga"}),
    ("close_supervision", with_supervision_order, lambda c, case: {"order": open_order(case)}, {"sam", "carl"}),
    # Issue 18: corrections by the responsible unit, 包案 by a supervisor of it or above.
    ("correct", investigating, lambda c, case: {"risk": "significant", "reason": "登记有误。"}, {"olga", "sam"}),
    ("take_charge", major_investigating, lambda c, case: {}, {"sam", "carl"}),
    ("release_charge", taken_in_charge, lambda c, case: {"reason": "已化解。"}, {"sam", "carl"}),
    # 联调 (joint handling): named and removed by the responsible unit's officer; the part
    # recorded by the co-handling department.
    ("name_co_department", investigating, lambda c, case: {"department": c.police.pk, "task": "核实经过。"},
     {"olga"}),
    ("remove_co_department", with_co_department, lambda c, case: {"department": c.police.pk, "reason": "无需协办。"},
     {"olga"}),
    ("record_part", with_co_department, lambda c, case: {"part": "已询问双方并制作笔录。"}, {"pete"}),
    # 履行 and 司法确认 (issue 18): by whoever follows the case up, the officer and the assignee;
    # a failed agreement referred by those who refer.
    ("record_visit", resolved, lambda c, case: {"record": "回访。", "performance": "partly"}, {"mia", "olga"}),
    ("apply_confirmation", resolved_in_writing,
     lambda c, case: {"court": "青阳县人民法院", "applied_on": "2026-03-05"}, {"mia", "olga"}),
    ("record_confirmation", confirmation_applied,
     lambda c, case: {"result": "confirmed", "ruling_number": "（2026）青民特1号", "ruled_on": "2026-03-06"},
     {"mia", "olga"}),
    ("refer", performance_refused, lambda c, case: {"channel": "litigation", "reason": "拒不履行。"},
     {"olga", "sam", "carl"}),
    # 复查、复核 (信访工作条例 第三十五条、第三十六条): registered by the unit that answered or
    # the unit above it, decided by the reviewing unit; the objection to a routing (第二十三条)
    # raised by the lead department and decided by the routing unit.
    ("request_review", petition_answered, lambda c, case: {"reason": "不服处理意见。"}, {"olga", "cora"}),
    ("decide_review", under_review, lambda c, case: {"decision": "upheld", "opinion": "维持原处理意见。"},
     {"cora", "carl"}),
    ("object_to_routing", petition_investigating, lambda c, case: {"reason": "不属于本所职责。"}, {"lena"}),
    ("decide_objection", routing_objected, lambda c, case: {"decision": "uphold", "reason": "属于司法所职责。"},
     {"olga", "sam"}),
]


def visible_in(stage_setup: Setup) -> set[str]:
    if stage_setup is reported:
        return {"alice", "mia", "olga", "sam", "vic", "cora", "carl"}
    if stage_setup is with_co_department:
        return SEES | {"pete"}
    if stage_setup is under_review:
        return SEES - {"mia"}  # held by the county, no longer carried by mia
    return SEES


@pytest.mark.parametrize("name, setup, data, allowed", MATRIX, ids=[row[0] for row in MATRIX])
def test_permission_matrix(cast, name, setup, data, allowed, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = setup(cast)
    payload = data(cast, case)
    files = payload.pop(FILES, None)
    outcome: dict[str, str] = {}
    for username in EVERYONE:
        events_before = CaseEvent.objects.filter(case=case).count()
        # Each attempt runs in a savepoint rolled back afterwards, so every person
        # meets the same case in the same state.
        with transaction.atomic():
            try:
                services.transition(case.pk, name, actor=getattr(cast, username), data=payload,
                                    files=files, at=local(2026, 3, 6, 9))
                outcome[username] = "allowed"
                assert CaseEvent.objects.filter(case=case).count() == events_before + 1
            except NotPermitted:
                outcome[username] = "forbidden"
            except CaseNotFound:
                outcome[username] = "not found"
            transaction.set_rollback(True)
    visible = visible_in(setup)
    expected = {
        u: "allowed" if u in allowed else "forbidden" if u in visible else "not found" for u in EVERYONE
    }
    assert outcome == expected


def test_every_operation_of_the_machine_is_in_the_matrix():
    from workflow.flow import operations

    assert {row[0] for row in MATRIX} == set(operations())


def test_the_system_actor_may_do_anything_the_stage_allows(cast):
    case = services.transition(reported(cast), "reject", actor=None, data={"reason": "系统导入：重复登记。"})
    assert case.stage == "closed"
    assert CaseEvent.objects.get(case=case, kind="reject").actor is None


def test_an_accusation_is_hidden_from_the_unit_it_accuses_and_those_beneath(cast):
    accusation = report(
        cast, actor=cast.cora, kind="petition", petition_type="accusation", accused_unit=cast.liulin.pk,
        responsible_unit=cast.county.pk, village="", category="village_affairs", source="letter",
    )
    for username in ["olga", "sam", "mia", "alice", "vic"]:
        with pytest.raises(CaseNotFound):
            services.transition(accusation, "note", actor=getattr(cast, username), data={"text": "?"})
        assert not visible_to(getattr(cast, username)).filter(pk=accusation.pk).exists()
    services.transition(accusation, "note", actor=cast.carl, data={"text": "县里直接核查。"})
    assert visible_to(cast.cora).filter(pk=accusation.pk).exists()


def test_the_operations_offered_to_each_person_are_those_the_service_allows(cast):
    case = investigating(cast)
    # Also possible while investigating, tested in the matrix from other stages.
    elsewhere = {"withdraw": {"olga"}, "resume_deadline": {"mia", "olga"}, "decide_extension": {"sam", "carl"},
                 "reply_supervision": {"mia", "olga"}, "close_supervision": {"sam", "carl"}}
    for username in EVERYONE:
        user = getattr(cast, username)
        offered = {t.slug for t in services.available_operations(case, user)}
        expected = {name for name, setup, _, allowed in MATRIX if setup is investigating and username in allowed}
        expected |= {name for name, people in elsewhere.items() if username in people}
        assert offered == expected, username
