"""Clocks opened by the service: rules and profiles, warnings, pauses, the one
extension, and provisional dates in years whose holidays are not entered."""

from __future__ import annotations

import pytest

from cases.models import CaseEvent
from tests.conftest import PETITION, local, report
from workflow import services
from workflow.models import Deadline, DeadlineRule
from workflow.refdata import invalidate_all

pytestmark = pytest.mark.django_db


def clock(case, kind):
    return Deadline.objects.get(case=case, kind=kind)


def mediate(cast, at, **case_fields):
    case = report(cast, at=at, **case_fields)
    services.transition(case, "accept", actor=cast.olga, at=at,
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    services.transition(case, "start_mediation", actor=cast.mia, at=at, data={"findings": "属实。"})
    return case


def test_dispute_acceptance_counts_working_days_across_the_spring_festival(cast):
    # Reported Friday 13 Feb 2026 (not counted). Saturday 14 Feb is a make-up working
    # day (调休), 15–23 Feb the holiday: the 3 working days are 14, 24 and 25 Feb.
    case = report(cast, at=local(2026, 2, 13, 16))
    acceptance = clock(case, "acceptance")
    assert acceptance.due_at == local(2026, 2, 25, 23, 59, 59)
    # Yellow card one working day ahead, escalation one working day after.
    assert acceptance.warn_at == local(2026, 2, 24, 23, 59, 59)
    assert acceptance.escalate_at == local(2026, 2, 26, 23, 59, 59)
    assert acceptance.provisional is False


def test_warning_comes_the_rules_lead_before_the_due_date(cast):
    case = mediate(cast, local(2026, 3, 2, 9))
    mediation = clock(case, "mediation")
    # 人民调解工作若干规定 第三十三条: 30 日; warned 5 日 ahead, escalated 3 日 after.
    assert mediation.due_at == local(2026, 4, 1, 23, 59, 59)
    assert mediation.warn_at == local(2026, 3, 27, 23, 59, 59)
    assert mediation.escalate_at == local(2026, 4, 7, 23, 59, 59)  # 4 Apr + 3 = Sat; Qingming 4–6 Apr → 7 Apr


def test_medical_mediation_runs_on_working_days_and_excludes_the_appraisal(cast):
    case = mediate(cast, local(2026, 3, 2, 9), category="medical")
    mediation = clock(case, "mediation")
    assert (mediation.unit, mediation.duration) == ("working", 30)
    assert "第三十八条" in mediation.legal_basis
    # 30 working days from Monday 2 Mar: Qingming (6 Apr, a Monday) not counted → 14 Apr.
    assert mediation.due_at == local(2026, 4, 14, 23, 59, 59)

    services.transition(case, "pause_deadline", actor=cast.mia, at=local(2026, 3, 10, 9),
                        data={"deadline": mediation.pk, "reason": "医疗损害鉴定。"})
    assert clock(case, "mediation").paused_at == local(2026, 3, 10, 9)
    services.transition(case, "resume_deadline", actor=cast.mia, at=local(2026, 3, 20, 15),
                        data={"deadline": mediation.pk})
    mediation = clock(case, "mediation")
    # Paused Tuesday 10 Mar to Friday 20 Mar: 8 working days (11–20 Mar) are excluded.
    assert (mediation.paused_at, mediation.excluded) == (None, 8)
    assert mediation.due_at == local(2026, 4, 24, 23, 59, 59)
    resumed = CaseEvent.objects.get(case=case, kind="resume_deadline")
    assert resumed.data["excluded"] == 8


def test_an_approved_extension_moves_the_due_date_and_records_who_and_why(cast):
    case = report(cast, at=local(2026, 3, 2, 9), **PETITION)
    services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    handling = clock(case, "handling")
    assert handling.due_at == local(2026, 5, 6, 23, 59, 59)  # 2 May falls in the Labour Day holiday
    services.transition(case, "request_extension", actor=cast.mia, at=local(2026, 4, 20, 9),
                        data={"deadline": handling.pk, "amount": 30, "reason": "涉及多部门，需延期。"})
    assert clock(case, "handling").due_at == handling.due_at  # a request alone changes nothing
    services.transition(case, "decide_extension", actor=cast.sam, at=local(2026, 4, 21, 9),
                        data={"deadline": handling.pk, "approve": "yes", "comment": "同意，并告知信访人。"})
    handling = clock(case, "handling")
    assert handling.extended_by == 30
    # 信访工作条例 第三十四条: extension of up to 30 日 on the 60: 90 日 from 3 Mar.
    assert handling.due_at == local(2026, 6, 1, 23, 59, 59)
    extension = handling.extension
    assert (extension.requested_by, extension.decided_by, extension.approved) == (cast.mia, cast.sam, True)
    assert extension.reason == "涉及多部门，需延期。"


def test_a_refused_extension_leaves_the_due_date(cast):
    case = report(cast, at=local(2026, 3, 2, 9), **PETITION)
    services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    handling = clock(case, "handling")
    services.transition(case, "request_extension", actor=cast.mia, data={"deadline": handling.pk, "amount": 10,
                                                                         "reason": "x"})
    services.transition(case, "decide_extension", actor=cast.carl, data={"deadline": handling.pk, "approve": "no"})
    after = clock(case, "handling")
    assert (after.due_at, after.extended_by, after.extension.approved) == (handling.due_at, 0, False)


def test_a_date_in_a_year_without_entered_holidays_is_provisional(cast):
    case = report(cast, at=local(2026, 12, 20, 9), **PETITION)
    services.transition(case, "accept", actor=cast.olga, at=local(2026, 12, 21, 9),
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    handling = clock(case, "handling")
    # 60 日 from 21 Dec 2026 is Friday 19 Feb 2027: on plain weekends, and marked so.
    assert handling.due_at == local(2027, 2, 19, 23, 59, 59)
    assert handling.provisional is True
    # The 15-day registration clock of 20 Dec ends on 4 Jan 2027: provisional as well.
    registration = clock(case, "registration")
    assert (registration.due_at, registration.provisional) == (local(2027, 1, 4, 23, 59, 59), True)


def test_a_provincial_profile_overrides_the_national_numbers(cast):
    cast.liulin.rule_profile = "zhejiang"
    cast.liulin.save()
    invalidate_all()  # as the admin does on saving a unit
    case = report(cast, at=local(2026, 3, 2, 9), **PETITION)
    registration = clock(case, "registration")
    assert (registration.duration, registration.unit) == (5, "working")
    # Rules the province does not set fall back to the national ones.
    case = services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                               data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    assert (clock(case, "handling").duration, clock(case, "handling").legal_basis) == (30, "浙江省信访工作规定")
    case = services.transition(case, "start_mediation", actor=cast.mia, at=local(2026, 3, 4, 9),
                               data={"findings": "核实补偿标准。"})
    assert (clock(case, "mediation").duration, clock(case, "mediation").legal_basis) == (
        30, "人民调解工作若干规定 第三十三条")


def test_editing_a_rule_does_not_move_clocks_already_running(cast):
    case = report(cast, at=local(2026, 3, 2, 9))
    before = clock(case, "acceptance")
    DeadlineRule.objects.filter(kind="acceptance", profile__code="national").update(duration=10)
    invalidate_all()  # as the admin does on saving a rule
    services.transition(case, "note", actor=cast.olga, data={"text": "规则已修改。"})
    assert clock(case, "acceptance").due_at == before.due_at
    later = report(cast, at=local(2026, 3, 2, 9), title="另一纠纷")
    assert clock(later, "acceptance").duration == 10
