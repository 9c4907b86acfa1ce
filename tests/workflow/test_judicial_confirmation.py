"""司法确认 (issue 18): a dispute resolved by a written mediation agreement opens the
parties' 30-day window to apply to the court (人民调解法 第三十三条; 民事诉讼法 (2023) 第二百零五条);
the application stops it, the court's ruling is recorded (第二百零六条), and a rejection offers
the case for reopening or referral. Everything through the transition service."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.conftest import PETITION, Cast, accept, local, report, resolve, step, token_for
from workflow import services
from workflow.errors import ConditionUnmet, InvalidData
from workflow.models import Deadline, JudicialConfirmation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Any:
    # Refusals are matched in English here; test_translations covers zh-hans.
    with translation.override("en"):
        yield

RESOLVED_AT = local(2026, 3, 10, 16)
COURT = "青阳县人民法院"


def written(cast: Cast, **overrides: Any) -> Case:
    """A dispute accepted by olga, resolved by mia's written agreement, recorded by the system
    (its paper archived: no file to keep)."""
    case = accept(cast, report(cast, **overrides), local(2026, 3, 3, 9))
    return services.transition(case, "resolve", actor=None, at=RESOLVED_AT,
                               data={"outcome": "agreement_written", "summary": "李某分两期支付租金。"})


def window(case: Case) -> Deadline:
    return Deadline.objects.get(case=case, kind="judicial_confirmation")


def apply(cast: Cast, case: Case, at: Any = None, **data: Any) -> Case:
    return step(case, "apply_confirmation", cast.olga, at or local(2026, 3, 20, 10),
                **{"court": COURT, "applied_on": "2026-03-20", **data})


def rule_on(cast: Cast, case: Case, result: str, at: Any = None, actor: Any = None) -> Case:
    return step(case, "record_confirmation", actor or cast.mia, at or local(2026, 3, 30, 10),
                result=result, ruling_number="（2026）青0101民特12号", ruled_on="2026-03-30")


def test_a_written_agreement_opens_the_thirty_day_window(cast: Cast) -> None:
    case = written(cast)
    clock = window(case)
    assert (clock.duration, clock.unit, clock.legal_basis) == (30, "calendar", "人民调解法 第三十三条")
    assert clock.started_at == RESOLVED_AT and clock.met_at is None
    # 30 日 from 10 March, the start day not counted: Thursday 9 April, to its end.
    assert clock.due_at == local(2026, 4, 9, 23, 59, 59)
    assert "judicial_confirmation" in CaseEvent.objects.get(case=case, kind="resolve").data["deadlines_opened"]


def test_the_window_is_the_parties_and_shows_no_card_when_it_passes(cast: Cast) -> None:
    # The parties may let the 30 days pass: no duty of the unit is late then. The window
    # is kept on the case, but no card, no overdue count, and no alert from the sweep.
    from workflow.counts import card, overdue, warned
    from workflow.sweep import sweep

    case = written(cast)
    step(case, "record_visit", cast.mia, local(2026, 3, 12, 10), record="双方均表示履行。", performance="fully")
    later = local(2026, 5, 20, 10)  # the window and the follow-up clock long past
    clock = window(case)
    assert clock.next_action_at is None and card(clock, later) == ""
    assert not Case.objects.filter(pk=case.pk).filter(overdue(later) | warned(later)).exists()
    before = Notification.objects.filter(case=case).count()
    sweep(later)  # it raises the township's monthly table, late by then, and nothing of the case
    assert Notification.objects.filter(case=case).count() == before
    assert not CaseEvent.objects.filter(case=case, kind__startswith="sweep").exists()


def test_an_oral_agreement_or_a_petition_opens_no_window(cast: Cast) -> None:
    oral = resolve(cast, accept(cast, report(cast)), RESOLVED_AT)
    petition = step(accept(cast, report(cast, **PETITION)), "resolve", cast.mia, RESOLVED_AT,
                    outcome="explained", summary="已解释政策。")
    assert not Deadline.objects.filter(kind="judicial_confirmation").exists()
    for case in (oral, petition):
        with pytest.raises(ConditionUnmet, match="written mediation agreement"):
            apply(cast, case)
    assert not JudicialConfirmation.objects.exists()


def test_the_application_stops_the_window_and_is_recorded(cast: Cast) -> None:
    case = apply(cast, written(cast), local(2026, 3, 20, 10))
    assert case.stage == "resolved"
    clock = window(case)
    assert clock.met_at == local(2026, 3, 20, 10) and clock.breached_at is None
    application = JudicialConfirmation.objects.get(case=case)
    assert (application.court, str(application.applied_on), application.applied_by, application.result) == (
        COURT, "2026-03-20", cast.olga, "")
    event = CaseEvent.objects.get(case=case, kind="apply_confirmation")
    assert (event.actor, event.from_stage, event.to_stage) == (cast.olga, "resolved", "resolved")
    assert event.data["court"] == COURT and event.data["applied_on"] == "2026-03-20"
    assert event.data["deadlines_stopped"] == ["judicial_confirmation"]
    assert event.data["confirmation"] == application.pk
    # The follow-up visit's clock runs on: the application is no visit.
    assert Deadline.objects.get(case=case, kind="follow_up").met_at is None


def test_one_application_per_agreement(cast: Cast) -> None:
    case = apply(cast, written(cast))
    with pytest.raises(ConditionUnmet, match="already been applied for"):
        apply(cast, case)
    assert JudicialConfirmation.objects.count() == 1


def test_an_application_before_the_agreement_is_refused(cast: Cast) -> None:
    with pytest.raises(InvalidData) as refused:
        apply(cast, written(cast), applied_on="2026-03-09")
    assert set(refused.value.errors) == {"applied_on"}
    assert not JudicialConfirmation.objects.exists()


def test_the_case_is_not_closed_while_the_court_examines_the_agreement(cast: Cast) -> None:
    case = apply(cast, written(cast))
    with pytest.raises(ConditionUnmet, match="not ruled"):
        step(case, "follow_up", cast.olga, local(2026, 3, 25, 9), record="回访。", satisfaction="satisfied")
    case = rule_on(cast, case, "confirmed")
    application = JudicialConfirmation.objects.get(case=case)
    assert (application.result, application.ruling_number, str(application.ruled_on), application.ruled_by) == (
        "confirmed", "（2026）青0101民特12号", "2026-03-30", cast.mia)
    assert CaseEvent.objects.get(case=case, kind="record_confirmation").data["result"] == "confirmed"
    # Confirmed valid: nobody needs telling, the agreement stands.
    assert not Notification.objects.filter(kind="record_confirmation").exists()
    case = step(case, "follow_up", cast.olga, local(2026, 4, 2, 9), record="回访，已履行。", satisfaction="satisfied")
    assert (case.stage, case.closure) == ("closed", "visited")


def test_a_ruling_needs_an_application_and_comes_after_it(cast: Cast) -> None:
    case = written(cast)
    with pytest.raises(ConditionUnmet, match="awaits a ruling"):
        rule_on(cast, case, "confirmed")
    case = apply(cast, case)
    with pytest.raises(ConditionUnmet, match="before the application"):
        step(case, "record_confirmation", cast.mia, local(2026, 3, 30, 10), result="confirmed",
             ruling_number="（2026）青0101民特12号", ruled_on="2026-03-19")
    with pytest.raises(InvalidData):
        step(case, "record_confirmation", cast.mia, local(2026, 3, 30, 10), result="void", ruling_number="x",
             ruled_on="2026-03-30")
    assert JudicialConfirmation.objects.get(case=case).result == ""


def test_a_rejection_tells_the_unit_and_offers_reopening_or_referral(cast: Cast) -> None:
    case = rule_on(cast, apply(cast, written(cast)), "rejected")
    told = Notification.objects.filter(case=case, kind="record_confirmation")
    # The responsible unit's officer and the assignee, not mia who recorded it.
    assert set(told.values_list("user__username", flat=True)) == {"olga"}
    assert "（2026）青0101民特12号" in told.get().text and told.get().level == "assignment"
    offered = {t.slug for t in services.available_operations(case, cast.olga)}
    assert {"reopen", "refer"} <= offered and "apply_confirmation" not in offered
    case = step(case, "reopen", cast.olga, local(2026, 4, 1, 9), reason="司法确认被驳回，重新调解。")
    assert case.stage == "investigating" and case.resolved_at is None


def test_a_rejected_agreement_is_referred_to_the_courts_and_no_longer_counts_as_resolved(cast: Cast) -> None:
    case = rule_on(cast, apply(cast, written(cast)), "rejected", actor=cast.olga)
    assert set(Notification.objects.filter(case=case, kind="record_confirmation")
               .values_list("user__username", flat=True)) == {"mia"}
    case = step(case, "refer", cast.olga, local(2026, 4, 1, 9), channel="litigation", reason="当事人起诉。")
    assert (case.stage, case.closure, case.resolved_at, case.outcome) == ("closed", "referred", None, {})
    assert CaseEvent.objects.get(case=case, kind="refer").data["previous_outcome"]["kind"] == "agreement_written"


def test_leaving_resolved_stops_the_window_and_a_new_agreement_opens_another(cast: Cast) -> None:
    case = step(written(cast), "reopen", cast.olga, local(2026, 3, 12, 9), reason="协议内容需变更。")
    assert window(case).met_at == local(2026, 3, 12, 9)
    case = services.transition(case, "resolve", actor=None, at=local(2026, 3, 15, 9),
                               data={"outcome": "agreement_written", "summary": "变更后的协议。"})
    clocks = Deadline.objects.filter(case=case, kind="judicial_confirmation").order_by("started_at")
    assert [c.met_at is None for c in clocks] == [False, True]
    apply(cast, case)
    assert JudicialConfirmation.objects.filter(case=case).count() == 1


def test_the_api_applies_and_records_through_the_generic_door(cast: Cast) -> None:
    case = written(cast)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + token_for(cast.olga))
    url = f"/api/v1/cases/{case.pk}/transitions/"
    response = client.post(url + "apply_confirmation/", {"court": COURT, "applied_on": "2026-03-20"}, format="json")
    assert response.status_code == 200, response.content
    assert window(case).met_at is not None
    # A second application: refused, nothing written.
    response = client.post(url + "apply_confirmation/", {"court": COURT, "applied_on": "2026-03-20"}, format="json")
    assert response.status_code == 409 and JudicialConfirmation.objects.count() == 1
    response = client.post(url + "record_confirmation/", {"result": "rejected", "ruling_number": "（2026）青民特1号",
                                                          "ruled_on": "2026-03-30"}, format="json")
    assert response.status_code == 200
    assert JudicialConfirmation.objects.get().result == "rejected"
    assert Notification.objects.filter(case=case, kind="record_confirmation", user=cast.mia).exists()
