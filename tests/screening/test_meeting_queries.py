"""The monthly meeting page in a fixed number of queries (issue 16): however many villages,
cases, open cases with their decisions (assign, supervision order, escalate), suspects and
returns a township has, the page asks the database the same number of times; what it
offers on each row is what the state machine offers on the case page, and the form each
row fetches when opened (desk.operation_frames) offers whom the case may be given to."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, Membership, OrgUnit, Role
from screening.returns import decide_suspect, submit_return
from screening.visits import record_visit
from tests.conftest import PETITION, accept, local, person, report, step, unit
from workflow import services
from workflow.permissions import assignable_users, grants_for, grants_for_cases

pytestmark = pytest.mark.django_db
MEETING = "desk:meeting:index"
# Returns for March 2026 are due on Monday 27 April (the 25th is a Saturday): by the 28th
# every village's return is settled, filed or missing, and its suspects are listed.
AT = local(2026, 4, 28, 10)
DECISIONS = ("assign", "supervise", "escalate")


class Township:
    """柳林镇 growing: villages, each with a month of cases in every stage the meeting shows."""

    def __init__(self, cast: Any) -> None:
        self.cast = cast
        self.villages = [cast.dongwan, cast.xiling]
        self.cases: list[Case] = []
        self.suspects: list[Case] = []
        self.supervised: list[Case] = []
        self.department = cast.justice
        self.made = 0

    def add_village(self, *, department: bool = False) -> OrgUnit:
        n = len(self.villages) + 1
        village = unit(f"QY-LL-V{n}", f"新村{n}", OrgUnit.Level.VILLAGE, self.cast.liulin)
        # The village's own mediator: one may give them the township's cases, never one
        # accusing their village (信访工作条例 第三十条).
        person(f"mediator{n}", (village, Role.MEDIATOR))
        if department:
            # A county department with its liaison: one more lead department, whose
            # liaison may be given only the cases it leads.
            self.department = unit(f"QY-D{n}", f"县部门{n}", OrgUnit.Level.DEPARTMENT, self.cast.county)
            person(f"liaison{n}", (self.department, Role.LIAISON))
        self.villages.append(village)
        return village

    def month_of_cases(self, village: OrgUnit, *, files: str | None) -> None:
        """In `village`: a case open since February, March's new cases (registered,
        accepted and carried, accepted and under an open supervision order, escalated to
        the county, withdrawn, an accusation against the village accepted by the township,
        and one from the 110 hotline that the village's return does not list: a concealment
        suspect), and the village's return (`files`: "listing", "nil", or None for none)."""
        cast, olga = self.cast, self.cast.olga
        self.made += 1
        k = self.made

        def new(day: int, **data: Any) -> Case:
            data.setdefault("category", ("land_forest", "neighbours", "labour")[k % 3])
            data.setdefault("title", f"{village.name}纠纷{k}-{day}")
            case = report(cast, actor=olga, village=village.pk, at=local(2026, 3, day, 9), **data)
            self.cases.append(case)
            return case

        old = report(cast, actor=olga, village=village.pk, at=local(2026, 2, 10, 9), title=f"{village.name}二月旧案{k}")
        self.cases.append(old)
        new(2, source="screening")
        carried = new(3, source="screening")
        step(carried, "accept", olga, local(2026, 3, 3, 10), assignee=cast.mia.pk, lead_department=self.department.pk)
        pressed = new(4, source="screening", risk="major")
        accept(cast, pressed, local(2026, 3, 4, 10))
        step(pressed, "supervise", cast.sam, local(2026, 3, 20, 10), instructions="例会前督办：十日内化解。")
        self.supervised.append(pressed)
        escalated = new(5, source="screening")
        step(escalated, "escalate", olga, local(2026, 3, 5, 10), reason="涉及多村，报县处理。")
        withdrawn = new(6, source="screening")
        step(withdrawn, "withdraw", olga, local(2026, 3, 7, 10), reason="双方和解。")
        accusation = new(8, **{**PETITION, "petition_type": "accusation", "accused_unit": village.pk,
                                "title": f"检举{village.name}干部{k}"})
        accept(cast, accusation, local(2026, 3, 9, 10))
        hotline = new(9, source="110")
        self.suspects.append(hotline)
        # Household visits (走访) of the month, one raising a case: the meeting counts them by
        # village in one grouped query.
        for day in (10, 11):
            record_visit(actor=olga, village=village, at=local(2026, 3, day, 18), data={
                "household": f"农户{k}-{day}", "visited_at": local(2026, 3, day, 9).isoformat(), "findings": "无异常。",
                "raises_case": day == 11, "case_title": f"{village.name}走访发现{k}", "case_category": "neighbours",
                "case_summary": "走访发现邻里纠纷。", "repeats_seen": True})
        if files == "listing":
            listed = [c for c in self.cases if c.village_id == village.pk and c.source == "screening"
                      and c.reported_at >= local(2026, 3, 1)]
            submit_return(actor=olga, village=village, month="2026-03", signed_off_by="村长",
                          items=[{"case": c.pk} for c in listed], at=local(2026, 4, 2, 9))
        elif files == "nil":
            submit_return(actor=olga, village=village, month="2026-03", nil=True, signed_off_by="村长",
                          at=local(2026, 4, 2, 9))
        if len(self.suspects) % 3 == 1:  # some decided already: decided by whom, and why
            decide_suspect(hotline, actor=cast.sam, confirm=True, reason="村里知情未报。", at=AT)


def open_meeting(client: Any, user: Any, cast: Any) -> tuple[int, str]:
    """The page as `user` sees it, and the queries it took."""
    client.force_login(user)
    url = reverse(MEETING)
    client.get(url, {"unit": cast.liulin.pk, "period": "2026-03"})  # reference data read once per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"unit": cast.liulin.pk, "period": "2026-03"})
    assert response.status_code == 200
    return len(captured), response.content.decode()


def offered(html: str) -> dict[int, list[str]]:
    """The decisions offered on each case row of the page: case id → operation names."""
    rows = re.findall(r'<tr data-case="(\d+)">(.*?)</tr>', html, re.S)
    return {int(pk): re.findall(r'data-operation="([a-z_]+)"', row) for pk, row in rows}


def assignees(client: Any, case: Case) -> list[str]:
    """The people the assign form of `case` offers, by id: the form the row fetches when
    it is opened (desk.operation_frames)."""
    response = client.get(reverse("desk:case:operation_form", args=[case.pk, "assign"]))
    assert response.status_code == 200
    return re.findall(r'<option value="(\d+)"', response.content.decode())


def case_page_offers(case: Case, user: Any) -> list[str]:
    """What the case page (workflow.services.available_operations) offers of the meeting's decisions."""
    available = {t.slug for t in services.available_operations(Case.objects.get(pk=case.pk), user)}
    return [name for name in DECISIONS if name in available]


def check_page(html: str, user: Any, township: Township, client: Any) -> None:
    """What the page holds, against the database as it is: every open case of the month
    is a row with the decisions the case page offers this person (the supervised cases
    without a second order); each assign form offers whom its case may be given to; each
    village's hotline case is a suspect."""
    client.force_login(user)
    rows = offered(html)
    cases = Case.objects.select_related("responsible_unit", "accused_unit").in_bulk([c.pk for c in township.cases])
    open_cases = [c for c in cases.values() if c.stage != Case.Stage.CLOSED]
    assert len(open_cases) == 7 * township.made and set(rows) >= {c.pk for c in open_cases}
    for case in open_cases:
        assert rows[case.pk] == case_page_offers(case, user), case.title
    assert all("supervise" not in rows[c.pk] for c in township.supervised)
    assigned = [c for c in open_cases if "assign" in rows[c.pk]]
    assert len(assigned) >= 3 * township.made
    for case in assigned:
        assert sorted(assignees(client, case)) == sorted(str(u.pk) for u in assignable_users(case)), case.title
    assert html.count("data-suspect=") == len(township.suspects) == township.made
    for village in township.villages:
        made = sum(1 for c in township.cases if c.village_id == village.pk and c.title.startswith(village.name)) // 7
        if made:
            assert f'data-visits="{2 * made}" data-raised="{made}"' in html, village.name


def test_the_meeting_costs_the_same_queries_however_big_the_township(cast: Any, client: Any,
                                                                     time_machine: Any) -> None:
    time_machine.move_to(AT, tick=False)
    people = (cast.sam, cast.olga)  # the township's supervisor and its officer
    township = Township(cast)
    township.month_of_cases(cast.dongwan, files="listing")
    township.month_of_cases(cast.xiling, files=None)
    small = {user.username: open_meeting(client, user, cast) for user in people}
    for user in people:
        check_page(small[user.username][1], user, township, client)

    # Four times the villages, five times the cases, open cases, suspects and supervision
    # orders, more returns, another lead department and more people to assign.
    for village in (cast.dongwan, cast.xiling):
        township.month_of_cases(village, files=None)
    for i in range(6):
        village = township.add_village(department=i == 3)
        township.month_of_cases(village, files=("listing", "nil", None)[i % 3])
    large = {user.username: open_meeting(client, user, cast) for user in people}
    for user in people:
        html = large[user.username][1]
        check_page(html, user, township, client)
        # The new county department's liaison only for the cases it leads; a village's
        # mediator for every case but the accusation against their village.
        rows = offered(html)
        assigned = Case.objects.filter(pk__in=[pk for pk, ops in rows.items() if "assign" in ops])
        liaison = str(Membership.objects.get(unit=township.department).user_id)
        mediator = str(Membership.objects.get(unit=township.villages[-1], role=Role.MEDIATOR).user_id)
        for case in assigned:
            assert (liaison in assignees(client, case)) == (case.lead_department_id == township.department.pk)
            assert (mediator in assignees(client, case)) == (case.accused_unit_id != township.villages[-1].pk)

    queries = {size: {name: n for name, (n, _) in pages.items()} for size, pages in (("small", small), ("large", large))}
    assert queries["small"] == queries["large"], queries


def test_the_grants_read_for_a_list_are_those_read_case_by_case(cast: Any, time_machine: Any) -> None:
    """workflow.permissions.grants_for_cases, which the page asks once for all its rows,
    answers for each case what grants_for answers for it alone: by role, by the per-case
    grants of the assignee and the lead department, and nothing on an accusation for the
    unit it accuses."""
    time_machine.move_to(AT, tick=False)
    township = Township(cast)
    township.month_of_cases(cast.dongwan, files=None)
    township.month_of_cases(cast.xiling, files=None)
    township.month_of_cases(township.add_village(department=True), files=None)
    against_township = report(cast, actor=cast.cora, at=local(2026, 3, 12, 9),
                              **{**PETITION, "petition_type": "accusation", "accused_unit": cast.liulin.pk})
    cases = list(Case.objects.select_related("responsible_unit", "village", "accused_unit").order_by("pk"))
    # Each village's month: eight cases, and the one a household visit raised.
    assert against_township in cases and len(cases) == 9 * 3 + 1
    admin = get_user_model().objects.create_superuser("root", password="pw-root")
    gone = person("gone", (cast.liulin, Role.OFFICER))
    gone.is_active = False
    gone.save()
    people = [*cast.users.values(), *get_user_model().objects.filter(username__startswith="liaison"), admin, gone]
    for user in people:
        with CaptureQueriesContext(connection) as captured:
            listed = grants_for_cases(user, cases)
        assert len(captured) <= 1
        assert listed == {case.pk: grants_for(user, case) for case in cases}, user.username
    # The grants are no formality: the assignee and the lead department hold theirs.
    carried = next(c for c in cases if c.lead_department_id == township.department.pk)
    liaison = get_user_model().objects.get(username__startswith="liaison")
    assert "resolve_case" in grants_for_cases(cast.mia, [carried])[carried.pk]
    assert "record_session_case" in grants_for_cases(liaison, [carried])[carried.pk]
    assert grants_for_cases(cast.sam, [against_township]) == {against_township.pk: frozenset()}
