"""联调 (joint handling, docs/workflow.md): the responsible unit's officer names departments
to co-handle a case beside the lead department; each gets per-case grants, is told, sees
the case in its lists and records its part; removed, it loses its grants; it never
resolves or closes the case. Through the service, asserting on what the database holds."""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case, CaseEvent, CaseGroupObjectPermission, OrgUnit
from notifications.models import Notification
from tests.conftest import Cast, accept, local, report, resolve, step
from workflow import queues
from workflow.errors import CaseNotFound, InvalidData, NotPermitted, WrongStage
from workflow.permissions import CO_DEPARTMENT_GRANTS, LEAD_DEPARTMENT_GRANTS, grants_for, holding, visible_to

pytestmark = pytest.mark.django_db

T0 = local(2026, 3, 2, 9)


def investigating(cast: Cast) -> Case:
    """A dispute of 东湾村 held by 柳林镇: mia carries it, 柳林司法所 (lena) leads it."""
    return accept(cast, report(cast, at=T0), local(2026, 3, 3, 9))


def name(cast: Cast, case: Case, department: OrgUnit, at: Any = None, **data: Any) -> Case:
    return step(case, "name_co_department", cast.olga, at or local(2026, 3, 4, 9), department=department.pk,
                task=data.get("task", "核实双方冲突经过。"))


def codenames(case: Case, department: OrgUnit) -> set[str]:
    return set(CaseGroupObjectPermission.objects.filter(content_object=case, group_id=department.group_id)
               .values_list("permission__codename", flat=True))


def told(case: Case, kind: str) -> set[str]:
    return set(Notification.objects.filter(case=case, kind=kind).values_list("user__username", flat=True))


def test_a_named_department_gets_its_grants_is_told_and_finds_the_case_in_its_lists(cast: Cast) -> None:
    case = investigating(cast)
    assert not visible_to(cast.pete).filter(pk=case.pk).exists()

    name(cast, case, cast.police, task="核实双方冲突经过。")

    case.refresh_from_db()
    assert list(case.co_departments.all()) == [cast.police]
    assert codenames(case, cast.police) == CO_DEPARTMENT_GRANTS
    assert codenames(case, cast.justice) == LEAD_DEPARTMENT_GRANTS  # the lead keeps its own
    event = CaseEvent.objects.get(case=case, kind="name_co_department")
    assert (event.actor, event.data["department"], event.data["task"]) == (cast.olga, cast.police.pk, "核实双方冲突经过。")
    assert (event.from_stage, event.to_stage) == ("investigating", "investigating")
    # Its liaison is told, and nobody else.
    assert told(case, "name_co_department") == {"pete"}
    assert "联调" in Notification.objects.get(case=case, kind="name_co_department").text
    # The liaison sees it, finds it among their work, and holds its part.
    assert grants_for(cast.pete, Case.objects.select_related("responsible_unit", "village").get(pk=case.pk)) \
        == CO_DEPARTMENT_GRANTS
    assert visible_to(cast.pete).filter(pk=case.pk).exists()
    assert holding(cast.pete, "record_part_case").filter(pk=case.pk).exists()
    assert queues.my_work(cast.pete).filter(pk=case.pk).exists()
    assert not holding(cast.pete, "resolve_case").filter(pk=case.pk).exists()


def test_removing_a_department_revokes_its_grants_and_tells_it(cast: Cast) -> None:
    case = investigating(cast)
    name(cast, case, cast.police)
    name(cast, case, cast.labour_bureau, local(2026, 3, 4, 10))

    step(case, "remove_co_department", cast.olga, local(2026, 3, 5, 9), department=cast.police.pk,
         reason="已查明，无需协办。")

    case.refresh_from_db()
    assert list(case.co_departments.all()) == [cast.labour_bureau]
    assert codenames(case, cast.police) == set()
    assert codenames(case, cast.labour_bureau) == CO_DEPARTMENT_GRANTS
    assert codenames(case, cast.justice) == LEAD_DEPARTMENT_GRANTS
    assert told(case, "remove_co_department") == {"pete"}
    event = CaseEvent.objects.get(case=case, kind="remove_co_department")
    assert (event.data["department"], event.data["reason"]) == (cast.police.pk, "已查明，无需协办。")
    # Out of reach again: the case is no longer the police station's.
    assert not visible_to(cast.pete).filter(pk=case.pk).exists()
    assert not queues.my_work(cast.pete).filter(pk=case.pk).exists()
    with pytest.raises(CaseNotFound):
        step(case, "record_part", cast.pete, local(2026, 3, 5, 10), part="补充笔录。")
    # A department not co-handling is not removed.
    with pytest.raises(InvalidData) as refused:
        step(case, "remove_co_department", cast.olga, local(2026, 3, 5, 11), department=cast.police.pk, reason="?")
    assert "department" in refused.value.errors


def test_a_case_without_co_departments_offers_none_to_remove(cast: Cast) -> None:
    case = investigating(cast)
    from workflow.errors import ConditionUnmet

    with pytest.raises(ConditionUnmet):
        step(case, "remove_co_department", cast.olga, department=cast.police.pk, reason="?")


def test_the_co_department_records_its_part_and_the_lead_hears_of_it(cast: Cast) -> None:
    case = investigating(cast)
    name(cast, case, cast.police)

    step(case, "record_part", cast.pete, local(2026, 3, 5, 9), part="已询问双方并制作笔录。")

    event = CaseEvent.objects.get(case=case, kind="record_part")
    assert (event.actor, event.data["department"], event.data["part"]) == (cast.pete, cast.police.pk,
                                                                            "已询问双方并制作笔录。")
    # The responsible unit's officer and the assignee hear of it.
    assert told(case, "record_part") == {"olga", "mia"}
    case.refresh_from_db()
    assert case.stage == "investigating"


def test_a_liaison_records_only_the_part_of_their_own_department(cast: Cast) -> None:
    case = investigating(cast)
    name(cast, case, cast.police)
    name(cast, case, cast.labour_bureau, local(2026, 3, 4, 10))
    with pytest.raises(InvalidData) as refused:
        step(case, "record_part", cast.pete, department=cast.labour_bureau.pk, part="代人社局记录。")
    assert "department" in refused.value.errors
    step(case, "record_part", cast.hans, local(2026, 3, 5, 9), department=cast.labour_bureau.pk, part="工资核算。")
    assert CaseEvent.objects.get(case=case, kind="record_part").data["department"] == cast.labour_bureau.pk
    # The lead department's liaison holds no part to record.
    with pytest.raises(NotPermitted):
        step(case, "record_part", cast.lena, part="?")


def test_a_co_department_neither_resolves_nor_closes(cast: Cast) -> None:
    case = investigating(cast)
    name(cast, case, cast.police)
    refusals = {
        "resolve": {"outcome": "agreement_oral", "summary": "和解。"},
        "start_mediation": {"findings": "属实。"},
        "withdraw": {"reason": "撤回。"},
        "refer": {"channel": "litigation", "reason": "诉讼。"},
        "escalate": {"reason": "上报。"},
        "assign": {"assignee": cast.pete.pk},
        "name_co_department": {"department": cast.labour_bureau.pk, "task": "?"},
        "record_session": {"held_on": "2026-03-05", "place": "派出所", "participants": "双方", "record": "?"},
    }
    for operation, data in refusals.items():
        with pytest.raises(NotPermitted):
            step(case, operation, cast.pete, local(2026, 3, 5, 9), **data)
    # The lead closes as usual; the co-department's grants give it nothing there either.
    resolve(cast, case, local(2026, 3, 6, 9))
    with pytest.raises(NotPermitted):
        step(case, "follow_up", cast.pete, local(2026, 3, 7, 9), record="回访。", satisfaction="satisfied")
    with pytest.raises(WrongStage):
        step(case, "record_part", cast.pete, local(2026, 3, 7, 9), part="迟到的记录。")
    step(case, "follow_up", cast.mia, local(2026, 3, 7, 10), record="回访。", satisfaction="satisfied")
    case.refresh_from_db()
    assert (case.stage, case.closure) == ("closed", "visited")
    # The closed case stays in the co-department's sight (its record), out of its work.
    assert visible_to(cast.pete).filter(pk=case.pk).exists()
    assert not queues.my_work(cast.pete).filter(pk=case.pk).exists()


def test_the_choices_follow_the_rule_of_reach(cast: Cast) -> None:
    case = investigating(cast)
    other_township = OrgUnit.objects.create(code="QY-TY-PCS", name="桃源派出所", level=OrgUnit.Level.DEPARTMENT,
                                            parent=cast.taoyuan)
    # Another township's department, the lead itself, and a village are refused.
    for department in (other_township, cast.justice, cast.dongwan):
        with pytest.raises(InvalidData) as refused:
            name(cast, case, department)
        assert "department" in refused.value.errors
    # The county's department is within reach (lead_departments: the units above too).
    name(cast, case, cast.labour_bureau)
    with pytest.raises(InvalidData):  # named once
        name(cast, case, cast.labour_bureau, local(2026, 3, 4, 10))
    assert list(Case.objects.get(pk=case.pk).co_departments.all()) == [cast.labour_bureau]
    assert not CaseGroupObjectPermission.objects.filter(content_object=case, group_id=other_township.group_id).exists()


def test_naming_is_for_the_stages_of_handling(cast: Cast) -> None:
    case = report(cast, at=T0)
    with pytest.raises(WrongStage):
        name(cast, case, cast.police)
    accept(cast, case, local(2026, 3, 3, 9))
    resolve(cast, case, local(2026, 3, 4, 9))
    with pytest.raises(WrongStage):
        name(cast, case, cast.police, local(2026, 3, 5, 9))
    assert not Case.objects.get(pk=case.pk).co_departments.exists()


def test_the_api_lists_the_co_departments_and_takes_the_part(cast: Cast) -> None:
    from tests.api.test_api import API, UNIT_KEYS, api

    case = investigating(cast)
    name(cast, case, cast.police)
    body = api(cast.olga).get(f"{API}/cases/{case.pk}/").json()
    assert [unit["id"] for unit in body["co_departments"]] == [cast.police.pk]
    assert set(body["co_departments"][0]) == UNIT_KEYS
    pete = api(cast.pete)
    operations = [op["name"] for op in pete.get(f"{API}/cases/{case.pk}/").json()["operations"]]
    assert "record_part" in operations and "resolve" not in operations
    response = pete.post(f"{API}/cases/{case.pk}/transitions/record_part/", {"part": "已调取监控。"}, format="json")
    assert response.status_code == 200, response.json()
    assert CaseEvent.objects.get(case=case, kind="record_part").data == {"department": cast.police.pk,
                                                                         "part": "已调取监控。"}
    refused = pete.post(f"{API}/cases/{case.pk}/transitions/resolve/",
                        {"outcome": "agreement_oral", "summary": "和解。"}, format="json")
    assert refused.status_code == 403
