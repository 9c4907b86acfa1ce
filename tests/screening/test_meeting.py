"""The monthly meeting's data for a township, and a decision taken in the meeting
recorded on the case through the transition service."""

from __future__ import annotations

from datetime import date

import pytest

from cases.models import CaseEvent
from screening.meeting import by_village, meeting_data
from screening.returns import submit_return
from tests.conftest import local, report
from workflow import services
from workflow.models import SupervisionOrder

pytestmark = pytest.mark.django_db


def test_the_meeting_sees_the_month_grouped_by_village_and_category(cast):
    old = report(cast, at=local(2026, 2, 10, 9), title="二月旧案")  # open since February, overdue
    new = report(cast, at=local(2026, 3, 30, 9), title="三月新案", category="neighbours")
    major = report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 5, 9), risk="major",
                   source="110", title="重大")
    services.transition(major, "escalate", actor=cast.olga, data={"reason": "重大风险。"}, at=local(2026, 3, 5, 10))
    closed = report(cast, at=local(2026, 3, 6, 9), title="撤回")
    services.transition(closed, "withdraw", actor=cast.olga, data={"reason": "和解。"}, at=local(2026, 3, 7, 9))
    report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 5, 9))  # another township
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  items=[{"case": new.pk}], at=local(2026, 4, 2, 9))

    data = meeting_data(cast.liulin, "2026-03", at=local(2026, 4, 3, 9))
    groups = {(g.village, g.category): g.counts for g in data.groups}
    assert groups[("东湾村", "land_forest")] == {"new": 1, "open": 1, "overdue": 1, "major": 0, "escalated": 0}
    assert groups[("东湾村", "neighbours")]["new"] == groups[("东湾村", "neighbours")]["open"] == 1
    assert groups[("西岭村", "land_forest")] == {"new": 1, "open": 1, "overdue": 1, "major": 1, "escalated": 1}
    # The open cases each village lists, most pressing first: both overdue, so the older first.
    assert data.listed == {cast.dongwan.pk: [old.pk, new.pk], cast.xiling.pk: [major.pk]}
    assert data.cases[old.pk].sections == ["open", "overdue"] and data.cases[new.pk].sections == ["new", "open", "overdue"]
    assert data.totals == {"new": 3, "open": 3, "overdue": 3, "major": 1, "escalated": 1}
    assert set(by_village(data)) == {"东湾村", "西岭村"}
    assert data.cases[major.pk].sections == ["new", "open", "overdue", "major", "escalated"]
    assert {r.village.name: r.status for r in data.returns} == {"东湾村": "filed", "西岭村": "pending"}
    assert data.return_totals["filed"] == 1 and data.return_totals["late"] == 0
    # 西岭村's return is not due before 27 April: no suspects until then (screening.returns.yields_suspects).
    assert data.suspects == [] and [r.village.name for r in data.awaiting] == ["西岭村"]
    assert data.month == date(2026, 3, 1)
    late = meeting_data(cast.liulin, "2026-03", at=local(2026, 4, 28, 9))
    assert [(v.village.name, v.case_ids) for v in late.suspects] == [("西岭村", [major.pk])] and late.awaiting == []


def test_a_decision_of_the_meeting_goes_through_the_transition_service(cast):
    case = report(cast, at=local(2026, 3, 2, 9))
    services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 2, 10),
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    services.transition(case, "supervise", actor=cast.sam, at=local(2026, 4, 3, 10),
                        data={"instructions": "排查例会决定：五个工作日内化解。", "days": 5})
    order = SupervisionOrder.objects.get(case=case)
    # Five working days from Friday 3 April: 4–6 April are the Qingming holiday.
    assert order.issued_by == cast.sam and order.deadline.due_at == local(2026, 4, 13, 23, 59, 59)
    assert CaseEvent.objects.filter(case=case, kind="supervise", actor=cast.sam).exists()
