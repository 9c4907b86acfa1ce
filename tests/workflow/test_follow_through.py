"""履行 (issue 18): a resolved dispute is visited as often as it takes (record_visit), each
visit finding how far the agreement is performed (人民调解法 第三十一条); the closing visit
(follow_up) closes it only once the agreement is fully performed, and an agreement refused
is reopened or referred, the unit told. Everything through the transition service."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.conftest import PETITION, Cast, accept, local, report, resolve, step, token_for
from workflow import counts, services
from workflow.errors import ConditionUnmet, InvalidData
from workflow.flow import performance_of
from workflow.forms import FollowUpForm
from workflow.models import Deadline, FollowUpVisit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Any:
    # Refusals are matched in English here; test_translations covers zh-hans.
    with translation.override("en"):
        yield

RESOLVED_AT = local(2026, 3, 10, 16)


def resolved(cast: Cast, **overrides: Any) -> Case:
    """A dispute accepted by olga (mia carries it) and resolved by an oral agreement."""
    return resolve(cast, accept(cast, report(cast, **overrides), local(2026, 3, 3, 9)), RESOLVED_AT)


def visit(cast: Cast, case: Case, performance: str, at: Any, actor: Any = None) -> Case:
    return step(case, "record_visit", actor or cast.mia, at, record=f"回访：{performance}。", performance=performance)


def close(cast: Cast, case: Case, at: Any = None, **data: Any) -> Case:
    return step(case, "follow_up", cast.olga, at or local(2026, 4, 20, 9),
                **{"record": "回访，已履行。", "satisfaction": "satisfied", **data})


def test_a_visit_keeps_the_case_resolved_and_meets_the_visit_clock(cast: Cast) -> None:
    case = visit(cast, resolved(cast), "partly", local(2026, 3, 18, 10))
    assert case.stage == "resolved" and case.closed_at is None
    row = FollowUpVisit.objects.get(case=case)
    assert (row.performance, row.visited_by, row.visited_at, row.closing) == (
        "partly", cast.mia, local(2026, 3, 18, 10), False)
    event = CaseEvent.objects.get(case=case, kind="record_visit")
    assert (event.from_stage, event.to_stage, event.data["performance"]) == ("resolved", "resolved", "partly")
    assert event.data["deadlines_stopped"] == ["follow_up"]
    # 回访 within 15 日: done by this visit, on time.
    clock = Deadline.objects.get(case=case, kind="follow_up")
    assert clock.met_at == local(2026, 3, 18, 10) and clock.met_at <= clock.due_at
    assert performance_of(case) == "partly"


def test_visits_recur_and_the_case_closes_once_the_agreement_is_fully_performed(cast: Cast) -> None:
    case = visit(cast, resolved(cast), "partly", local(2026, 3, 18, 10))
    with pytest.raises(ConditionUnmet, match="not fully performed"):
        close(cast, case, local(2026, 3, 19, 9))
    case = visit(cast, case, "not_yet", local(2026, 3, 25, 10), actor=cast.olga)
    with pytest.raises(ConditionUnmet, match="not fully performed"):
        close(cast, case, local(2026, 3, 26, 9))
    case = visit(cast, case, "fully", local(2026, 4, 10, 10))
    assert performance_of(case) == "fully"
    case = close(cast, case)
    assert (case.stage, case.closure, case.satisfaction) == ("closed", "visited", "satisfied")
    assert list(CaseEvent.objects.filter(case=case, kind__in=["record_visit", "follow_up"])
                .order_by("at").values_list("kind", flat=True)) == ["record_visit"] * 3 + ["follow_up"]
    # The closing visit stated nothing: it adds no visit of its own.
    assert FollowUpVisit.objects.filter(case=case).count() == 3


def test_the_closing_visit_may_find_the_agreement_performed_itself(cast: Cast) -> None:
    case = visit(cast, resolved(cast), "partly", local(2026, 3, 18, 10))
    case = close(cast, case, performance="fully")
    assert case.stage == "closed"
    closing = FollowUpVisit.objects.get(case=case, closing=True)
    assert (closing.performance, closing.visited_by) == ("fully", cast.olga)
    assert CaseEvent.objects.get(case=case, kind="follow_up").data["performance"] == "fully"


def test_a_closing_visit_that_finds_it_not_performed_is_refused(cast: Cast) -> None:
    case = resolved(cast)
    with pytest.raises(ConditionUnmet, match="reopen the case"):
        close(cast, case, performance="not_yet")
    assert Case.objects.get(pk=case.pk).stage == "resolved"
    assert not FollowUpVisit.objects.exists() and not CaseEvent.objects.filter(kind="follow_up").exists()


def test_without_any_visit_recorded_the_case_closes_as_before(cast: Cast) -> None:
    # The first visit closing the case (the only visit, as before this issue) stays possible.
    case = close(cast, resolved(cast))
    assert case.closure == "visited" and not FollowUpVisit.objects.exists()


def test_a_refusal_tells_the_assignee_and_the_units_officers(cast: Cast) -> None:
    case = resolved(cast)
    case = visit(cast, case, "refused", local(2026, 3, 18, 10), actor=cast.olga)
    told = Notification.objects.filter(case=case, kind="record_visit")
    # olga recorded it; mia carries the case. Nobody else (not the village, not the supervisor).
    assert list(told.values_list("user__username", flat=True)) == ["mia"]
    notice = told.get()
    assert notice.level == "assignment" and case.number in notice.text
    # A visit that finds less than a refusal tells nobody.
    visit(cast, resolved(cast), "not_yet", local(2026, 3, 18, 10))
    assert Notification.objects.filter(kind="record_visit").count() == 1
    # Recorded by mia: the officer hears.
    other = visit(cast, resolved(cast), "refused", local(2026, 3, 18, 10))
    assert list(Notification.objects.filter(case=other, kind="record_visit")
                .values_list("user__username", flat=True)) == ["olga"]


def test_a_refused_agreement_is_referred_and_no_longer_counts_as_succeeded(cast: Cast) -> None:
    case = resolved(cast)
    # Referring a resolved case needs a failed agreement.
    with pytest.raises(ConditionUnmet, match="not performed"):
        step(case, "refer", cast.olga, local(2026, 3, 12, 9), channel="litigation", reason="起诉。")
    assert counts.tally_cases(Case.objects.filter(pk=case.pk)) == {"found": 1, "handled": 1, "succeeded": 1}
    case = visit(cast, case, "refused", local(2026, 3, 18, 10))
    offered = {t.slug for t in services.available_operations(case, cast.olga)}
    assert {"reopen", "refer"} <= offered
    case = step(case, "refer", cast.olga, local(2026, 3, 20, 9), channel="litigation", reason="拒不履行，引导诉讼。")
    assert (case.stage, case.closure, case.resolved_at) == ("closed", "referred", None)
    # The agreement failed: 调处 but no longer 成功, as a case referred before resolution.
    assert counts.tally_cases(Case.objects.filter(pk=case.pk)) == {"found": 1, "handled": 1, "succeeded": 0}


def test_reopened_and_resolved_again_the_new_agreement_starts_afresh(cast: Cast) -> None:
    case = visit(cast, resolved(cast), "refused", local(2026, 3, 18, 10))
    case = step(case, "reopen", cast.olga, local(2026, 3, 19, 9), reason="拒不履行，重新调解。")
    case = resolve(cast, case, local(2026, 3, 25, 9), summary="重新达成口头协议。")
    assert performance_of(case) == ""
    assert Deadline.objects.filter(case=case, kind="follow_up", met_at__isnull=True).count() == 1
    assert close(cast, case).stage == "closed"


def test_a_petition_has_no_agreement_to_perform(cast: Cast) -> None:
    case = step(accept(cast, report(cast, **PETITION)), "resolve", cast.mia, RESOLVED_AT,
                outcome="explained", summary="已解释政策。")
    with pytest.raises(ConditionUnmet, match="mediation agreement"):
        visit(cast, case, "fully", local(2026, 3, 18, 10))
    assert "performance" not in FollowUpForm(case=case).fields
    assert "record_visit" not in {t.slug for t in services.available_operations(case, cast.olga)}
    assert close(cast, case).stage == "closed"


def test_a_visit_names_a_performance_the_form_knows(cast: Cast) -> None:
    with pytest.raises(InvalidData) as refused:
        step(resolved(cast), "record_visit", cast.mia, local(2026, 3, 18, 10), record="回访。", performance="maybe")
    assert set(refused.value.errors) == {"performance"}
    assert not FollowUpVisit.objects.exists()


def test_the_api_records_a_visit_and_refuses_the_closing_one(cast: Cast) -> None:
    case = resolved(cast)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + token_for(cast.olga))
    url = f"/api/v1/cases/{case.pk}/transitions/"
    response = client.post(url + "record_visit/", {"record": "被申请人拒绝支付。", "performance": "refused"},
                           format="json")
    assert response.status_code == 200, response.content
    assert FollowUpVisit.objects.get(case=case).performance == "refused"
    response = client.post(url + "follow_up/", {"record": "回访。", "satisfaction": "unsatisfied"}, format="json",
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409 and "not fully performed" in response.json()["message"]
    assert Case.objects.get(pk=case.pk).stage == "resolved"
