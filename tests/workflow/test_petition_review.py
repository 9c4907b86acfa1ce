"""复查、复核 (issue 18): a petitioner dissatisfied with the answer asks the unit above the one
that answered for a review within 30 日, answered within 30 日 (信访工作条例 第三十五条); then
the unit above the reviewing one for a second review, likewise (第三十六条), after which the
same matter is not accepted again. Everything through the transition service."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, CaseUserObjectPermission, OrgUnit, Role
from notifications.models import Notification
from tests.conftest import PETITION, Cast, accept, local, person, report, step, token_for
from workflow.counts import TALLY
from workflow.errors import CaseNotFound, ConditionUnmet, InvalidData, NotPermitted
from workflow.models import Deadline

pytestmark = pytest.mark.django_db

ANSWERED_AT = local(2026, 3, 10, 16)
REQUESTED_AT = local(2026, 3, 20, 10)


def answered(cast: Cast) -> Case:
    """A petition of 东湾村 accepted by 柳林镇 (mia carries it) and answered: not supported."""
    case = accept(cast, report(cast, **PETITION), local(2026, 3, 3, 9))
    return step(case, "resolve", cast.mia, ANSWERED_AT, outcome="not_supported", summary="请求缺乏事实根据。")


def request(case: Case, actor: Any, at: Any = None) -> Case:
    return step(case, "request_review", actor, at or REQUESTED_AT, reason="信访人对处理意见不服，请求复查。")


def decide(case: Case, actor: Any, at: Any, decision: str = "upheld", **data: Any) -> Case:
    return step(case, "decide_review", actor, at, decision=decision, opinion="经复查，原处理意见事实清楚。", **data)


def review_clock(case: Case) -> Deadline:
    return Deadline.objects.filter(case=case, kind="review").latest("started_at")


def tally(case: Case) -> dict[str, int]:
    return Case.objects.filter(pk=case.pk).aggregate(**TALLY)


def test_a_review_requested_in_time_goes_to_the_unit_above_on_its_own_clock(cast: Cast) -> None:
    case = request(answered(cast), cast.cora)
    case.refresh_from_db()
    assert (case.stage, case.responsible_unit, case.review_level) == ("investigating", cast.county, 1)
    assert case.outcome == {} and case.resolved_at is None and case.assignee is None
    # The handler below no longer carries it: mia's grants are gone, the township follows it.
    assert not CaseUserObjectPermission.objects.filter(content_object=case, user=cast.mia).exists()
    event = CaseEvent.objects.get(case=case, kind="request_review")
    assert (event.data["level"], event.data["from_unit"], event.data["to_unit"]) == (1, cast.liulin.pk, cast.county.pk)
    assert event.data["previous_outcome"]["kind"] == "not_supported"
    assert event.data["previous_assignee"] == cast.mia.pk
    # The review's own 30 日 from the request (第三十五条), not the handling clock again.
    assert event.data["deadlines_opened"] == ["review"]
    clock = review_clock(case)
    assert (clock.duration, clock.unit, clock.legal_basis) == (30, "calendar", "信访工作条例 第三十五条、第三十六条")
    assert clock.started_at == REQUESTED_AT and clock.met_at is None
    # 30 日 from 20 March: Sunday 19 April, a rest day, so Monday 20 April to its end.
    assert clock.due_at == local(2026, 4, 20, 23, 59, 59)
    assert Deadline.objects.filter(case=case, kind="handling").count() == 1  # the first handling's, met
    assert Deadline.objects.get(case=case, kind="follow_up").met_at == REQUESTED_AT
    # The unit above hears of it (the one who registered it excepted).
    told = set(Notification.objects.filter(case=case, kind="request_review").values_list("user__username",
                                                                                       flat=True))
    assert told == {"carl"}


def test_the_unit_that_answered_registers_a_request_brought_to_it(cast: Cast) -> None:
    case = request(answered(cast), cast.olga)
    assert Case.objects.get(pk=case.pk).responsible_unit == cast.county


def test_a_request_after_thirty_days_is_refused(cast: Cast) -> None:
    case = answered(cast)
    # 30 日 from 10 March, the start day not counted: Thursday 9 April, to its end.
    with pytest.raises(ConditionUnmet, match="2026-04-09"):
        request(case, cast.cora, local(2026, 4, 10, 9))
    assert Case.objects.get(pk=case.pk).stage == "resolved"
    request(case, cast.cora, local(2026, 4, 9, 17))
    assert Case.objects.get(pk=case.pk).review_level == 1


def test_who_may_request_and_decide(cast: Cast) -> None:
    case = answered(cast)
    for name in ["mia", "sam", "carl", "vic", "lena"]:
        with pytest.raises(NotPermitted):
            request(case, getattr(cast, name))
    with pytest.raises(CaseNotFound):
        request(case, cast.owen)
    request(case, cast.cora)
    # The reviewing unit decides, not the township below nor the handler.
    for name in ["olga", "sam"]:
        with pytest.raises(NotPermitted):
            decide(case, getattr(cast, name), local(2026, 4, 1, 9))
    with pytest.raises(CaseNotFound):  # the township's mediator saw it as its carrier only
        decide(case, cast.mia, local(2026, 4, 1, 9))
    decide(case, cast.carl, local(2026, 4, 1, 9))


def test_a_dispute_is_not_reviewed(cast: Cast) -> None:
    case = accept(cast, report(cast), local(2026, 3, 3, 9))
    case = step(case, "resolve", cast.mia, ANSWERED_AT, outcome="agreement_oral", summary="口头协议。")
    with pytest.raises(ConditionUnmet):
        request(case, cast.cora)


def test_the_review_is_decided_on_time_and_the_case_resolved_again(cast: Cast) -> None:
    case = request(answered(cast), cast.cora)
    step(case, "assign", cast.cora, local(2026, 3, 21, 9), assignee=cast.cora.pk)
    # Under review the answer is the review opinion, not a fresh resolution.
    with pytest.raises(ConditionUnmet):
        step(case, "resolve", cast.cora, local(2026, 3, 22, 9), outcome="supported", summary="支持。")
    decided_at = local(2026, 4, 10, 9)
    case = decide(case, cast.cora, decided_at)
    case.refresh_from_db()
    assert (case.stage, case.resolved_at) == ("resolved", decided_at)
    assert case.outcome["kind"] == "not_supported"  # upheld: the answer stands
    assert case.outcome["review"] == {"level": 1, "decision": "upheld"}
    clock = review_clock(case)
    assert clock.met_at == decided_at and clock.met_at <= clock.due_at
    event = CaseEvent.objects.get(case=case, kind="decide_review")
    assert "review" in event.data["deadlines_stopped"] and event.data["level"] == 1
    assert "follow_up" in event.data["deadlines_opened"]
    # The township whose answer was reviewed hears the decision.
    assert set(Notification.objects.filter(case=case, kind="decide_review").values_list(
        "user__username", flat=True)) == {"olga"}


def test_a_changed_answer_needs_the_new_answer(cast: Cast) -> None:
    case = request(answered(cast), cast.cora)
    with pytest.raises(InvalidData):
        decide(case, cast.cora, local(2026, 4, 1, 9), decision="changed")
    case = decide(case, cast.cora, local(2026, 4, 1, 9), decision="changed", outcome="supported")
    assert Case.objects.get(pk=case.pk).outcome["kind"] == "supported"


def test_a_second_review_goes_higher_and_then_the_matter_is_final(cast: Cast) -> None:
    city = OrgUnit.objects.create(code="QZ", name="青州市", level=OrgUnit.Level.COUNTY)
    cast.county.parent = city
    cast.county.save()
    dora = person("dora", (city, Role.OFFICER))
    case = request(answered(cast), cast.cora)
    decide(case, cast.cora, local(2026, 4, 1, 9))
    # Closed after its visit, the petition may still be brought to 复核 within 30 日.
    step(case, "follow_up", cast.cora, local(2026, 4, 2, 9), record="回访。", satisfaction="unsatisfied")
    assert Case.objects.get(pk=case.pk).stage == "closed"
    with pytest.raises(NotPermitted):  # the township two levels below does not register it
        request(case, cast.olga, local(2026, 4, 3, 9))
    request(case, dora, local(2026, 4, 3, 9))
    case.refresh_from_db()
    assert (case.stage, case.responsible_unit, case.review_level, case.closure, case.closed_at) == (
        "investigating", city, 2, "", None)
    assert review_clock(case).started_at == local(2026, 4, 3, 9)
    decide(case, dora, local(2026, 4, 20, 9), decision="changed", outcome="explained")
    case.refresh_from_db()
    assert case.outcome["review"] == {"level": 2, "decision": "changed"}
    with pytest.raises(ConditionUnmet, match="第三十六条"):
        request(case, dora, local(2026, 4, 21, 9))
    assert list(CaseEvent.objects.filter(case=case, kind__in=["request_review", "decide_review"])
                .order_by("at").values_list("kind", "data__level")) == [
        ("request_review", 1), ("decide_review", 1), ("request_review", 2), ("decide_review", 2)]


def test_counts_under_review_and_after(cast: Cast) -> None:
    case = answered(cast)
    assert tally(case) == {"found": 1, "handled": 1, "succeeded": 1}
    request(case, cast.cora)
    # Under review: still found and handled, not succeeded until the review is decided.
    assert tally(case) == {"found": 1, "handled": 1, "succeeded": 0}
    decide(case, cast.cora, local(2026, 4, 1, 9))
    assert tally(case) == {"found": 1, "handled": 1, "succeeded": 1}


def test_the_api_shows_the_review_level_and_decides_the_review(cast: Cast) -> None:
    case = request(answered(cast), cast.cora)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + token_for(cast.carl))
    body = client.get(f"/api/v1/cases/{case.pk}/").json()
    assert body["review_level"] == 1 and body["responsible_unit"]["id"] == cast.county.pk
    assert "decide_review" in [operation["name"] for operation in body["operations"]]
    response = client.post(f"/api/v1/cases/{case.pk}/transitions/decide_review/",
                           {"decision": "upheld", "opinion": "维持。"}, format="json")
    assert response.status_code == 200 and response.json()["stage"] == "resolved"
    assert CaseEvent.objects.filter(case=case, kind="decide_review", actor=cast.carl).exists()
