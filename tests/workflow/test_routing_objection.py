"""The objection to a routing (issue 18; 信访工作条例 第二十三条): a department a petition is
routed to that finds it not its matter objects within 5 工作日, with its reasons; the routing
unit verifies it and sends the petition elsewhere or keeps the routing. Through the service."""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.conftest import PETITION, Cast, accept, local, report, step
from workflow.errors import CaseNotFound, ConditionUnmet, InvalidData, NotPermitted
from workflow.models import Deadline
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db

ROUTED_AT = local(2026, 3, 3, 9)  # a Tuesday
OBJECTED_AT = local(2026, 3, 5, 10)


def routed(cast: Cast) -> Case:
    """A petition accepted by olga and routed to 柳林司法所 (lena)."""
    return accept(cast, report(cast, **PETITION), ROUTED_AT)


def objected(case: Case, actor: Any, at: Any = None) -> Case:
    return step(case, "object_to_routing", actor, at or OBJECTED_AT, reason="该事项属于派出所职责范围。")


def decide(case: Case, actor: Any, decision: str, at: Any = None, **data: Any) -> Case:
    return step(case, "decide_objection", actor, at or local(2026, 3, 6, 9), decision=decision, reason="经核实。",
                **data)


def told(case: Case, kind: str) -> set[str]:
    return set(Notification.objects.filter(case=case, kind=kind).values_list("user__username", flat=True))


def test_the_department_objects_and_the_objection_clock_opens(cast: Cast) -> None:
    case = objected(routed(cast), cast.lena)
    clock = Deadline.objects.get(case=case, kind="objection")
    assert (clock.duration, clock.unit, clock.legal_basis) == (5, "working", "信访工作条例 第二十三条")
    assert clock.started_at == OBJECTED_AT and clock.met_at is None
    event = CaseEvent.objects.get(case=case, kind="object_to_routing")
    assert event.data["objecting_department"] == cast.justice.pk and event.data["deadlines_opened"] == ["objection"]
    assert event.data["reason"] == "该事项属于派出所职责范围。"
    assert told(case, "object_to_routing") == {"olga", "sam"}
    # One objection at a time.
    with pytest.raises(ConditionUnmet):
        objected(case, cast.lena, local(2026, 3, 5, 11))


def test_agreed_the_petition_goes_to_another_department(cast: Cast) -> None:
    case = decide(objected(routed(cast), cast.lena), cast.olga, "reroute", lead_department=cast.police.pk)
    case.refresh_from_db()
    assert case.lead_department == cast.police and case.stage == "investigating"
    assert Deadline.objects.get(case=case, kind="objection").met_at == local(2026, 3, 6, 9)
    assert not visible_to(cast.lena).filter(pk=case.pk).exists()
    assert visible_to(cast.pete).filter(pk=case.pk).exists()
    event = CaseEvent.objects.get(case=case, kind="decide_objection")
    assert event.data["deadlines_stopped"] == ["objection"] and event.data["lead_department"] == cast.police.pk
    assert told(case, "decide_objection") == {"lena"}
    # The new department's own 5 working days run from the new routing.
    objected(case, cast.pete, local(2026, 3, 12, 9))


def test_not_agreed_the_routing_stands(cast: Cast) -> None:
    case = decide(objected(routed(cast), cast.lena), cast.olga, "uphold")
    case.refresh_from_db()
    assert case.lead_department == cast.justice
    assert Deadline.objects.get(case=case, kind="objection").met_at is not None
    assert told(case, "decide_objection") == {"lena"}


def test_a_reroute_names_the_department(cast: Cast) -> None:
    case = objected(routed(cast), cast.lena)
    with pytest.raises(InvalidData):
        decide(case, cast.olga, "reroute")
    with pytest.raises(InvalidData):  # not back to the one that objected
        decide(case, cast.olga, "reroute", lead_department=cast.justice.pk)


def test_after_five_working_days_the_objection_is_refused(cast: Cast) -> None:
    case = routed(cast)
    # 5 工作日 from Tuesday 3 March, the start day not counted: Tuesday 10 March, to its end.
    with pytest.raises(ConditionUnmet, match="2026-03-10"):
        objected(case, cast.lena, local(2026, 3, 11, 9))
    objected(case, cast.lena, local(2026, 3, 10, 17))


def test_who_may_object_and_decide(cast: Cast) -> None:
    case = routed(cast)
    for name in ["olga", "mia", "sam", "cora"]:
        with pytest.raises(NotPermitted):
            objected(case, getattr(cast, name))
    with pytest.raises(CaseNotFound):
        objected(case, cast.pete)
    with pytest.raises(ConditionUnmet):  # nothing to decide yet
        decide(case, cast.olga, "uphold")
    objected(case, cast.lena)
    for name in ["lena", "mia", "carl"]:
        with pytest.raises(NotPermitted):
            decide(case, getattr(cast, name), "uphold")
    decide(case, cast.sam, "uphold")


def test_a_dispute_has_no_routing_objection(cast: Cast) -> None:
    case = accept(cast, report(cast), ROUTED_AT)
    with pytest.raises(ConditionUnmet):
        objected(case, cast.lena)
