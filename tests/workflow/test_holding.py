"""`permissions.holding` answers for a list what `grants_for` answers for one case: the
lists of work on the workbench can never offer a case its user cannot act on, nor miss
one they can."""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case, OrgUnit
from tests.conftest import accept, report, step
from tests.workflow.test_reach import ACCUSATION
from workflow.permissions import ALL_PERMISSIONS, DECIDE_CONCEALMENT, VILLAGE_ONLY, grants_for, holding

# A case's village gives viewing, notes and the concealment decision, which `holding`
# leaves out by design: they are no work to list.
WORK = sorted(ALL_PERMISSIONS - VILLAGE_ONLY - {DECIDE_CONCEALMENT})


@pytest.fixture
def cases(cast: Any) -> list[Case]:
    waiting = report(cast)
    carried = accept(cast, report(cast))
    escalated = step(accept(cast, report(cast)), "escalate", cast.olga, reason="需县级协调。")
    county = report(cast, actor=cast.cora, village="", responsible_unit=cast.county.pk)
    elsewhere = report(cast, actor=cast.nina, village=cast.nanshan.pk)
    accusation = report(cast, **{**ACCUSATION, "accused_unit": cast.liulin.pk})
    return [Case.objects.select_related("responsible_unit", "village", "accused_unit").get(pk=c.pk)
            for c in (waiting, carried, escalated, county, elsewhere, accusation)]


def test_holding_agrees_with_grants_for_every_person_permission_and_case(cast: Any, cases: list[Case]) -> None:
    assert {c.responsible_unit.level for c in cases} == {OrgUnit.Level.TOWNSHIP, OrgUnit.Level.COUNTY}
    checked = 0
    for user in cast.users.values():
        for permission in WORK:
            expected = {c.pk for c in cases if permission in grants_for(user, c)}
            assert set(holding(user, permission).values_list("pk", flat=True)) == expected, (user, permission)
            checked += bool(expected)
    # Not a vacuous agreement: most people hold some work on some of these cases.
    assert checked > 20


def test_the_officer_holds_acceptance_of_the_waiting_case_and_the_assignee_its_resolution(
        cast: Any, cases: list[Case]) -> None:
    waiting, carried, escalated = cases[:3]
    assert waiting.pk in set(holding(cast.olga, "accept_case").values_list("pk", flat=True))
    # The assignee's grants stay with the escalated case too; its stage decides what is offered.
    assert set(holding(cast.mia, "resolve_case").values_list("pk", flat=True)) == {carried.pk, escalated.pk}
    assert not holding(cast.alice, "accept_case").exists()
