"""Operations fetched when opened (desk.operation_frames): the meeting lists its decisions on
each row by name, and a row's form arrives from the case's own form when opened. A case
out of reach, or an operation the machine does not offer the person now, is a 404, as on
the case page; the form posts to the case's `operate` and returns to the list. The meeting
lists at most ROWS_PER_VILLAGE open cases a village, the most pressing first, and counts
the rest with a link to them in the queue."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from cases.models import Case
from desk.screening import ROWS_PER_VILLAGE
from tests.conftest import accept, local, report
from tests.screening.test_meeting_queries import case_page_offers, offered
from workflow.permissions import assignable_users

pytestmark = pytest.mark.django_db
AT = local(2026, 4, 28, 10)
MEETING = "desk:meeting:index"


def frame(client: Any, case: Case, name: str) -> Any:
    return client.get(reverse("desk:case:operation_form", args=[case.pk, name]), {"next": "/desk/meeting/?period=2026-03"})


def test_a_row_fetches_the_case_s_own_form_and_returns_to_the_list(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(AT, tick=False)
    case = accept(cast, report(cast, actor=cast.olga, at=local(2026, 3, 3, 9)), local(2026, 3, 3, 10))
    client.force_login(cast.olga)
    response = frame(client, case, "assign")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<turbo-frame id="operation-{case.pk}-assign">' in html and 'data-turbo-frame="_top"' in html
    assert sorted(re.findall(r'<option value="(\d+)"', html)) == sorted(str(u.pk) for u in assignable_users(case))
    assert 'name="next" value="/desk/meeting/?period=2026-03"' in html

    posted = client.post(reverse("desk:case:operate", args=[case.pk, "assign"]),
                         {"assignee": cast.olga.pk, "next": "/desk/meeting/?period=2026-03"})
    assert posted.status_code == 302 and posted["Location"] == "/desk/meeting/?period=2026-03"
    assert Case.objects.get(pk=case.pk).assignee_id == cast.olga.pk


def test_a_form_out_of_reach_or_not_offered_now_is_not_found(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(AT, tick=False)
    case = accept(cast, report(cast, actor=cast.olga, at=local(2026, 3, 3, 9)), local(2026, 3, 3, 10))
    client.force_login(cast.owen)  # another township's officer
    assert frame(client, case, "assign").status_code == 404
    client.force_login(cast.olga)
    assert frame(client, case, "accept").status_code == 404  # accepted already
    assert frame(client, case, "no_such_thing").status_code == 404
    assert frame(client, case, "assign").status_code == 200
    client.logout()
    assert frame(client, case, "assign").status_code == 302  # to the login
    assert client.post(reverse("desk:case:operation_form", args=[case.pk, "assign"])).status_code in (302, 405)


def test_the_meeting_lists_the_most_pressing_open_cases_of_a_village_and_counts_the_rest(
        cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(AT, tick=False)
    # Long overdue: registered in January and never accepted.
    overdue = [report(cast, actor=cast.olga, at=local(2026, 1, 5 + i, 9), title=f"一月旧案{i}") for i in range(3)]
    new = [report(cast, actor=cast.olga, at=local(2026, 3, 2 + i % 25, 9), title=f"三月新案{i}")
           for i in range(ROWS_PER_VILLAGE + 2)]
    client.force_login(cast.sam)
    html = client.get(reverse(MEETING), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    village = html[html.index("<h2>东湾村</h2>"):]
    village = village[:village.index("</div>")]
    rows = [int(pk) for pk in re.findall(r'<tr data-case="(\d+)">', village)]
    assert len(rows) == ROWS_PER_VILLAGE
    assert rows[:3] == [c.pk for c in overdue]
    assert set(rows[3:]) <= {c.pk for c in new}
    more = len(overdue) + len(new) - ROWS_PER_VILLAGE
    link = re.search(r'<p class="more-cases"><a href="([^"]+)">([^<]+)</a>', village)
    assert link and link.group(1) == f"/desk/queue/?village={cast.dongwan.pk}"
    assert re.findall(r"\d+", link.group(2)) == [str(more)]
    # Each listed row names what the machine offers (as on the case page), without a form.
    offers = offered(village)
    assert any(offers.values()) and "<select" not in village and "<form" not in village
    for pk, names in offers.items():
        assert names == case_page_offers(Case.objects.get(pk=pk), cast.sam)
