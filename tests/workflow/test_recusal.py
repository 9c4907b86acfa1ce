"""回避 (issue 18): a member of staff who is a party to a case, known by the ID number of
their StaffProfile, is never its assignee and decides nothing on it — they keep what a
village member has, viewing and notes (workflow.permissions.RECUSED_KEEP), whatever
their role or grants. Checked through the rule of reach and the transition service."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseEvent, CaseUserObjectPermission, StaffProfile
from tests.conftest import DISPUTE, PARTIES, accept, local, report, step
from workflow import services
from workflow.errors import InvalidData, NotPermitted
from workflow.permissions import RECUSED_KEEP, assignable_users, grants_for, holding, recused

pytestmark = pytest.mark.django_db

T0 = local(2026, 3, 2, 9)
T1 = local(2026, 3, 4, 10)
# The applicant of the cast's cases (tests.conftest.PARTIES).
APPLICANT = PARTIES[0]["id_number"]
# A valid number of nobody in these cases.
STRANGER = "110105194912310038"


def party_to_it(user, number: str = APPLICANT) -> None:
    StaffProfile.objects.create(user=user, id_number=number)


def loaded(case: Case) -> Case:
    return Case.objects.select_related("responsible_unit", "village").get(pk=case.pk)


def other_case(cast) -> Case:
    """A dispute of 东湾村 between people none of the staff is."""
    return services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk},
                                parties=[{"name": "王五", "role": "applicant", "id_number": STRANGER}],
                                at=T0, repeats_seen=True)


def test_a_party_is_never_offered_as_assignee_nor_assigned(cast):
    party_to_it(cast.mia)
    case = report(cast, at=T0)
    assert cast.mia not in assignable_users(case)
    assert {cast.olga, cast.pete, cast.lena} <= set(assignable_users(case))
    with pytest.raises(InvalidData) as refused:
        accept(cast, case, local(2026, 3, 3, 9))
    assert set(refused.value.errors) == {"assignee"}
    assert Case.objects.get(pk=case.pk).stage == "reported"
    # Another case, where mia is nobody's party: she may carry it.
    assert cast.mia in assignable_users(other_case(cast))


def test_an_officer_who_is_a_party_keeps_viewing_and_notes_only(cast):
    party_to_it(cast.olga)
    case = report(cast, at=T0)
    assert recused(cast.olga, case)
    assert grants_for(cast.olga, loaded(case)) == RECUSED_KEEP
    assert {t.slug for t in services.available_operations(loaded(case), cast.olga)} == {"note", "attach_document"}
    for name, data in [("accept", {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}),
                       ("reject", {"reason": "不予受理。"}), ("correct", {"risk": "major", "reason": "?"}),
                       ("withdraw", {"reason": "撤回。"})]:
        with pytest.raises(NotPermitted):
            services.transition(case, name, actor=cast.olga, data=data, at=T1)
    step(case, "note", cast.olga, T1, text="本人系当事人，申请回避。")
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == ["report", "note"]
    # Not on their list of work either, while the case of others is.
    other = other_case(cast)
    assert set(holding(cast.olga, "accept_case").values_list("pk", flat=True)) == {other.pk}
    assert set(holding(cast.olga, "note_case").values_list("pk", flat=True)) == {case.pk, other.pk}
    assert not recused(cast.olga, other)
    assert "accept_case" in grants_for(cast.olga, loaded(other))


def test_an_assignee_found_to_be_a_party_loses_the_case_s_grants_in_effect(cast):
    case = accept(cast, report(cast, at=T0), local(2026, 3, 3, 9))
    party_to_it(cast.mia)
    # The guardian rows stay until someone reassigns; the rule of reach withholds them.
    assert CaseUserObjectPermission.objects.filter(content_object=case, user=cast.mia).exists()
    assert grants_for(cast.mia, loaded(case)) == RECUSED_KEEP
    with pytest.raises(NotPermitted):
        step(case, "resolve", cast.mia, T1, outcome="agreement_oral", summary="口头协议。")
    assert not holding(cast.mia, "resolve_case").filter(pk=case.pk).exists()
    # The officer hands it to someone else.
    step(case, "assign", cast.olga, T1, assignee=cast.lena.pk)
    assert not CaseUserObjectPermission.objects.filter(content_object=case, user=cast.mia).exists()
    assert "resolve_case" in grants_for(cast.lena, loaded(case))


def test_a_supervisor_who_is_a_party_decides_no_extension_nor_leads_the_case(cast):
    case = accept(cast, report(cast, at=T0, risk="major"), local(2026, 3, 3, 9))
    deadline = case.deadlines.get(kind="investigation")
    step(case, "request_extension", cast.mia, T1, deadline=deadline.pk, amount=3, reason="补充调查。")
    party_to_it(cast.sam)
    for name, data in [("decide_extension", {"deadline": deadline.pk, "approve": "yes"}),
                       ("take_charge", {}), ("supervise", {"instructions": "加快办理。"})]:
        with pytest.raises(NotPermitted):
            services.transition(case, name, actor=cast.sam, data=data, at=T1)
    # The county's supervisor, who is no party, decides.
    step(case, "decide_extension", cast.carl, T1, deadline=deadline.pk, approve="yes")
    assert case.deadlines.get(kind="investigation").extended_by == 3


def test_a_lower_case_x_in_the_staff_number_still_matches(cast):
    party_to_it(cast.olga, APPLICANT.lower())
    assert StaffProfile.objects.get(user=cast.olga).id_number == APPLICANT
    assert grants_for(cast.olga, loaded(report(cast, at=T0))) == RECUSED_KEEP


@pytest.mark.parametrize("number", ["", STRANGER])
def test_staff_without_a_matching_number_are_not_recused(cast, number):
    party_to_it(cast.olga, number)
    case = report(cast, at=T0)
    assert not recused(cast.olga, case)
    assert "accept_case" in grants_for(cast.olga, loaded(case))


def test_grants_for_still_answers_in_one_query(cast, django_assert_num_queries):
    party_to_it(cast.olga)
    case = loaded(report(cast, at=T0))
    with django_assert_num_queries(1):
        assert grants_for(cast.olga, case) == RECUSED_KEEP


def test_the_api_refuses_a_party_s_decision(cast):
    from tests.api.test_api import API, api

    party_to_it(cast.olga)
    case = report(cast, at=T0)
    client = api(cast.olga)
    names = {op["name"] for op in client.get(f"{API}/cases/{case.pk}/").json()["operations"]}
    assert names == {"note", "attach_document"}
    response = client.post(f"{API}/cases/{case.pk}/transitions/accept/",
                           {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}, format="json")
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).stage == "reported"
