"""The assessment page (issue 16) asks the database a fixed number of questions: as many
for a township of eight villages and five times the cases as for one of two, and as many
for a county of five townships as for one of two. Before, it asked one or more per unit
and indicator (287 on the demo)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import OrgUnit, Role
from screening.returns import decide_suspect, submit_return
from tests.conftest import PETITION, accept, local, person, report, resolve, step, unit
from workflow.return_clocks import open_return_deadlines

pytestmark = pytest.mark.django_db
AT = local(2026, 4, 10, 10, 0)


def cases_in(cast: Any, village: OrgUnit, actor: Any, n: int, *, handled_by: Any = None) -> None:
    """`n` cases in `village` registered in March 2026, of every kind the indicators count:
    accepted on time, resolved and visited; accepted late and open; a repeat petition; a
    major group incident; registered only. Cases are accepted only where `handled_by`
    (the township's officer and mediator) is given."""
    for i in range(n):
        day = 2 + i % 20
        kind = i % 5
        if kind == 2:
            report(cast, actor=actor, village=village.pk, at=local(2026, 3, day, 9),
                   **{**PETITION, "is_repeat": True, "title": f"重复信访{i}"})
            continue
        case = report(cast, actor=actor, village=village.pk, at=local(2026, 3, day, 9), title=f"纠纷{i}",
                      **({"risk": "major", "is_group": True, "people_involved": 40} if kind == 3 else {}))
        if handled_by is None or kind >= 3:
            continue
        if kind == 0:
            accept(cast, case, local(2026, 3, day, 11))
            resolve(cast, case, local(2026, 3, day + 1, 9))
            step(case, "follow_up", cast.olga, local(2026, 3, day + 2, 9), record="回访，已履行。",
                 satisfaction="satisfied")
        else:
            accept(cast, case, local(2026, 3, day + 9, 9))


def april_business(cast: Any) -> None:
    """What the assessment also counts: returns (one late, one missing, the rest filed on
    time), a confirmed concealment and an accusation against 东湾村."""
    report(cast, actor=cast.olga, at=local(2026, 3, 15, 9),
           **{**PETITION, "petition_type": "accusation", "accused_unit": cast.dongwan.pk, "title": "检举村干部"})
    hidden = report(cast, actor=cast.olga, village=cast.dongwan.pk, at=local(2026, 3, 25, 9), source="110",
                    risk="major", title="瞒报")
    submit_return(actor=cast.olga, village=cast.dongwan, month="2026-03", signed_off_by="王村长", nil=True,
                  at=local(2026, 4, 2, 9))
    submit_return(actor=cast.olga, village=cast.xiling, month="2026-03", signed_off_by="徐村长", nil=True,
                  at=local(2026, 4, 28, 9))
    decide_suspect(hidden, actor=cast.olga, confirm=True, reason="知情未报。", at=local(2026, 4, 28, 10))


def page_queries(client: Any, user: Any, parent: OrgUnit) -> tuple[int, str]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("desk:assessment:index"), {"unit": parent.pk, "period": "2026-03"})
    assert response.status_code == 200
    html = response.content.decode()
    return len(queries), html


def rows(html: str) -> int:
    return html.count("<tr data-unit=")


def test_a_township_of_eight_villages_takes_as_many_queries_as_one_of_two(cast, client, time_machine):
    time_machine.move_to(local(2026, 4, 1, 9))
    cases_in(cast, cast.dongwan, cast.alice, 5, handled_by=cast.olga)
    cases_in(cast, cast.xiling, cast.bob, 5, handled_by=cast.olga)
    april_business(cast)
    time_machine.move_to(AT)
    small, html = page_queries(client, cast.sam, cast.liulin)
    assert rows(html) == 2

    time_machine.move_to(local(2026, 4, 1, 9))
    for n in range(6):
        village = unit(f"QY-LL-V{n}", f"新村{n}", OrgUnit.Level.VILLAGE, cast.liulin)
        cases_in(cast, village, cast.olga, 7, handled_by=cast.olga)
    open_return_deadlines("2026-03", list(OrgUnit.objects.filter(level="village", parent=cast.liulin)))
    time_machine.move_to(AT)
    large, html = page_queries(client, cast.sam, cast.liulin)
    assert rows(html) == 8
    assert large == small


def test_a_county_of_five_townships_takes_as_many_queries_as_one_of_two(cast, client, time_machine):
    time_machine.move_to(local(2026, 4, 1, 9))
    cases_in(cast, cast.dongwan, cast.alice, 5, handled_by=cast.olga)
    cases_in(cast, cast.nanshan, cast.nina, 5)
    april_business(cast)
    time_machine.move_to(AT)
    small, html = page_queries(client, cast.carl, cast.county)
    assert rows(html) == 2

    time_machine.move_to(local(2026, 4, 1, 9))
    for n in range(3):
        township = unit(f"QY-T{n}", f"新镇{n}", OrgUnit.Level.TOWNSHIP, cast.county)
        officer = person(f"officer{n}", (township, Role.OFFICER))
        for m in range(2):
            village = unit(f"QY-T{n}-V{m}", f"新镇{n}村{m}", OrgUnit.Level.VILLAGE, township)
            cases_in(cast, village, officer, 8)
    cases_in(cast, cast.xiling, cast.bob, 2, handled_by=cast.olga)
    time_machine.move_to(AT)
    large, html = page_queries(client, cast.carl, cast.county)
    assert rows(html) == 5
    assert large == small
