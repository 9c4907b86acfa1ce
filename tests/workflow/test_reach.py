"""The rule of reach where it leaked: who registers for which unit, who an accusation goes
to and who hears of it, who may be assigned a case or lead it, and which cases a unit's
figures count (信访工作条例 第三十条: a 检举控告 never reaches the unit it accuses, nor
anyone beneath it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Case, OrgUnit
from notifications.models import Notification
from reports.assessment import assess
from tests.conftest import DISPUTE, PARTIES, PETITION, local, report, token_for
from workflow import services
from workflow.errors import InvalidData, NotPermitted
from workflow.forms import AcceptForm, AssignForm
from workflow.models import AssessmentItem, AssessmentScheme
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db
ACCUSATION = {**PETITION, "petition_type": "accusation", "title": "检举镇干部", "source": "letter"}


def api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def accusation_by_alice(cast: Any) -> Case:
    """alice of 东湾村 reports that 柳林镇's cadres took bribes."""
    return report(cast, at=local(2026, 3, 2, 9), **{**ACCUSATION, "accused_unit": cast.liulin.pk})


# Registration.

def test_an_accusation_against_the_township_goes_to_the_unit_above_it(cast: Any) -> None:
    case = accusation_by_alice(cast)
    assert (case.responsible_unit, case.accused_unit, case.village) == (cast.county, cast.liulin, cast.dongwan)
    cast.olga.refresh_from_db()
    assert not Case.objects.filter(pk=case.pk).filter(pk__in=_visible(cast.olga)).exists()


def test_nobody_beneath_the_accused_unit_hears_of_an_accusation(cast: Any) -> None:
    case = accusation_by_alice(cast)
    services.transition(case, "supervise", actor=cast.carl, at=local(2026, 3, 3, 9),
                        data={"instructions": "请县信访局依法办理。", "days": 5})
    sweep(local(2026, 4, 30, 10))
    told = set(Notification.objects.filter(case=case).values_list("user__username", flat=True))
    assert told and told <= {"cora", "carl"}
    assert not {"olga", "sam", "mia", "vic", "alice", "bob", "pete", "lena"} & told


def test_a_reporter_registers_only_for_the_township_of_their_village(cast: Any) -> None:
    refused = api(cast.alice).post("/api/v1/cases/", {**DISPUTE, "village": cast.dongwan.pk,
                                                      "responsible_unit": cast.taoyuan.pk, "parties": PARTIES},
                                   format="json")
    assert refused.status_code == 403, refused.content
    assert not Case.objects.exists()
    with pytest.raises(NotPermitted):
        services.report_case(actor=cast.alice, parties=PARTIES,
                             data={**DISPUTE, "village": cast.dongwan.pk, "responsible_unit": cast.county.pk})
    assert not Case.objects.exists()


def test_the_intake_page_refuses_a_responsible_unit_out_of_reach(cast: Any, client: Any) -> None:
    client.force_login(cast.alice)
    response = client.post(reverse("desk:intake:index"), {
        **DISPUTE, "village": cast.dongwan.pk, "responsible_unit": cast.taoyuan.pk,
        "parties-TOTAL_FORMS": "1", "parties-INITIAL_FORMS": "0",
        "parties-0-name": "张三", "parties-0-role": "applicant"})
    assert response.status_code in (200, 403)
    assert not Case.objects.exists()


def test_an_officer_registers_no_case_for_another_townships_village(cast: Any) -> None:
    with pytest.raises(NotPermitted):
        services.report_case(actor=cast.olga, parties=PARTIES,
                             data={**DISPUTE, "village": cast.nanshan.pk, "responsible_unit": cast.liulin.pk})
    assert not Case.objects.exists()


# Assignees and lead departments.

def test_only_people_who_can_carry_a_case_are_offered_as_assignee(cast: Any) -> None:
    case = report(cast)
    offered = set(AssignForm(case=case).fields["assignee"].queryset.values_list("username", flat=True))
    # 柳林镇's mediator and officer, and the liaisons of its departments; not its viewer,
    # village workers or supervisor, nor anyone of 桃源镇 or the county.
    assert offered == {"mia", "olga", "pete", "lena"}
    with pytest.raises(InvalidData):
        services.transition(case, "accept", actor=cast.olga,
                            data={"assignee": cast.vic.pk, "lead_department": cast.justice.pk})
    # The lead department's liaison may carry it, a county one included.
    case = services.transition(case, "accept", actor=cast.olga,
                               data={"assignee": cast.hans.pk, "lead_department": cast.labour_bureau.pk})
    assert case.assignee == cast.hans


def test_lead_departments_are_the_townships_and_the_countys_own(cast: Any) -> None:
    taoyuan_police = OrgUnit.objects.create(code="QY-TY-PCS", name="桃源派出所", level=OrgUnit.Level.DEPARTMENT,
                                            parent=cast.taoyuan)
    case = report(cast)
    offered = set(AcceptForm(case=case).fields["lead_department"].queryset)
    assert offered == {cast.police, cast.justice, cast.labour_bureau}
    with pytest.raises(InvalidData):
        services.transition(case, "accept", actor=cast.olga,
                            data={"assignee": cast.mia.pk, "lead_department": taoyuan_police.pk})
    assert Case.objects.get(pk=case.pk).stage == "reported"


def test_the_accused_cannot_be_assigned_or_lead_an_accusation(cast: Any) -> None:
    case = report(cast, actor=cast.cora, at=local(2026, 3, 2, 9),
                  **{**ACCUSATION, "accused_unit": cast.police.pk, "village": cast.dongwan.pk,
                     "responsible_unit": cast.liulin.pk})
    assert case.responsible_unit == cast.liulin
    assert cast.police not in set(AcceptForm(case=case).fields["lead_department"].queryset)
    assert cast.pete not in set(AssignForm(case=case).fields["assignee"].queryset)


# Counts.

def test_a_units_figures_leave_out_accusations_against_it(cast: Any) -> None:
    accusation_by_alice(cast)
    dispute = report(cast, at=local(2026, 3, 2, 9))
    scheme = AssessmentScheme.objects.create(code="repeat", name="重复信访", scale=100)
    AssessmentItem.objects.create(scheme=scheme, indicator="repeat_petitions", method="deduction",
                                  weight=Decimal(10), per_case=Decimal(1))
    AssessmentItem.objects.create(scheme=scheme, indicator="acceptance_on_time", method="rate", weight=Decimal(10))
    dongwan = next(u for u in assess(cast.liulin, "2026-03", scheme=scheme, at=local(2026, 4, 1, 9)).units
                   if u.unit == cast.dongwan)
    assert dongwan.figure("acceptance_on_time").case_ids == [dispute.pk]
    assert set(Case.objects.within(cast.liulin)) == {dispute}
    assert set(Case.objects.within(cast.dongwan)) == {dispute}
    # The county, which handles the accusation, counts it.
    assert Case.objects.within(cast.county).count() == 2


def test_the_import_names_no_case_the_importer_may_not_see(cast: Any) -> None:
    from reports.legacy_import import read_rows, validate
    from tests.reports.test_legacy_import import GOOD, workbook

    hidden = report(cast, actor=cast.cora, at=local(2026, 3, 2, 9),
                    **{**ACCUSATION, "title": GOOD[0][4], "accused_unit": cast.liulin.pk,
                       "responsible_unit": cast.county.pk})
    columns, rows = read_rows(workbook(GOOD[:1]))
    _, errors = validate(columns, rows, cast.liulin, actor=cast.olga)
    assert not any(hidden.number in e.message for e in errors)
    # Seen by the importer, the same case is named.
    _, errors = validate(columns, rows, cast.county, actor=cast.cora)
    assert any(hidden.number in e.message for e in errors)


def _visible(user: Any) -> Any:
    from workflow.permissions import visible_to

    return visible_to(user).values("pk")


# Repeat petitions (重复信访): checked by the service, for the page and the API alike.

def test_a_party_of_a_case_in_reach_is_named_before_a_repeat_is_registered(cast: Any) -> None:
    first = report(cast, at=local(2026, 3, 2, 9))
    hidden = report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 2, 9))
    client = api(cast.alice)
    payload = {**DISPUTE, "village": cast.dongwan.pk, "parties": PARTIES}
    refused = client.post("/api/v1/cases/", payload, format="json")
    assert refused.status_code == 400, refused.content
    message = refused.json()["errors"]["repeats_seen"][0]
    # alice sees 东湾村's case, not 南山村's: only hers is named.
    assert first.number in message and hidden.number not in message
    assert Case.objects.count() == 2
    accepted = client.post("/api/v1/cases/", {**payload, "repeats_seen": True}, format="json")
    assert accepted.status_code == 201, accepted.content
    assert Case.objects.count() == 3
    # The service itself refuses, whoever calls it without looking.
    with pytest.raises(InvalidData) as refusal:
        services.report_case(actor=cast.olga, parties=PARTIES, data={**DISPUTE, "village": cast.xiling.pk})
    assert "repeats_seen" in refusal.value.errors
