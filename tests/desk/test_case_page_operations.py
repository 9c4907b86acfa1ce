"""The case page's operations (issue 15): the way on first, open, its button the primary
one; then the other moves of stage; then the operations that keep the stage, folded. The
order is workflow.flow's (in_order), which the API's operation list follows too. Cases
are built through the real service; assertions read the HTML the page sends."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case
from tests.conftest import PETITION, Cast, local, report, step
from tests.desk.test_pages import page, text_of
from workflow.flow import FORWARD, MOVE, ORDER, SIDE, WAY_ON, in_order, operations, place_of
from workflow.services import available_operations

pytestmark = pytest.mark.django_db

OPERATION = re.compile(r'<details( open)? data-operation="([a-z_]+)">')
GROUP = re.compile(r'<div class="operation-group" data-place="([a-z]+)">')


def shown(html: str) -> list[tuple[str, bool]]:
    """The operations on the page, in order: (name, open)."""
    return [(name, bool(opened)) for opened, name in OPERATION.findall(html)]


def places(html: str) -> dict[str, str]:
    """Operation → the group it is shown in."""
    found, place = {}, ""
    for match in re.finditer(f"{GROUP.pattern}|{OPERATION.pattern}", html):
        if match.group(1):
            place = match.group(1)
        else:
            found[match.group(3)] = place
    return found


def primary(html: str) -> list[str]:
    """The operations whose button is the primary one."""
    buttons = re.findall(r'<form method="post" action="[^"]*/([a-z_]+)/" class="desk-form".*?'
                         r'<button type="submit" class="([^"]*)"', html, flags=re.S)
    return [name for name, classes in buttons if "primary" in classes.split()]


# Each stage of a dispute and of a petition, built through the service, with the person
# who carries the case there.

def dispute(cast: Cast, stage: str) -> Case:
    return at_stage(cast, report(cast, at=local(2026, 3, 2, 9)), stage, "agreement_oral")


def petition(cast: Cast, stage: str) -> Case:
    return at_stage(cast, report(cast, at=local(2026, 3, 2, 9), **PETITION), stage, "explained")


def at_stage(cast: Cast, case: Case, stage: str, outcome: str) -> Case:
    if stage == "reported":
        return case
    case = step(case, "accept", cast.olga, local(2026, 3, 3, 9), assignee=cast.mia.pk, lead_department=cast.justice.pk)
    if stage == "escalated":
        return step(case, "escalate", cast.olga, local(2026, 3, 4, 9), reason="需县级协调。")
    if stage == "investigating":
        return case
    case = step(case, "start_mediation", cast.mia, local(2026, 3, 4, 9), findings="属实。")
    if stage == "mediating":
        return case
    case = step(case, "resolve", cast.mia, local(2026, 3, 5, 9), outcome=outcome, summary="已化解。")
    if stage == "resolved":
        return case
    return step(case, "follow_up", cast.olga, local(2026, 3, 9, 9), record="电话回访。", satisfaction="satisfied")


def offered(cast: Cast, client: Any, case: Case, who: str) -> str:
    response = page(client, getattr(cast, who), reverse("desk:case:detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


WAY_ON_FIRST = [
    # kind, stage, who: the way on (open), the other moves, the operations that keep the stage.
    ("dispute", "reported", "olga", "accept", ["reject", "escalate", "withdraw"],
     ["note", "attach_document", "correct", "request_extension", "pause_deadline"]),
    ("petition", "reported", "olga", "accept", ["reject", "escalate", "withdraw"],
     ["note", "attach_document", "correct", "request_extension", "pause_deadline"]),
    # A dispute is mediated once investigated; a petition is answered.
    ("dispute", "investigating", "mia", "start_mediation", ["resolve"],
     ["record_session", "note", "attach_document", "request_extension", "pause_deadline"]),
    ("petition", "investigating", "mia", "resolve", ["start_mediation"],
     ["record_session", "note", "attach_document", "request_extension", "pause_deadline"]),
    ("dispute", "mediating", "mia", "resolve", [],
     ["record_session", "note", "attach_document", "request_extension", "pause_deadline"]),
    ("petition", "mediating", "mia", "resolve", [],
     ["record_session", "note", "attach_document", "request_extension", "pause_deadline"]),
    ("dispute", "escalated", "cora", "take_over", ["refer", "withdraw"],
     ["note", "attach_document", "correct", "request_extension", "pause_deadline"]),
    ("petition", "escalated", "cora", "take_over", ["refer", "withdraw"],
     ["note", "attach_document", "correct", "request_extension", "pause_deadline"]),
    # A dispute's agreement is followed through by visits (issue 18: record_visit).
    ("dispute", "resolved", "olga", "follow_up", ["reopen", "withdraw"],
     ["note", "attach_document", "assign", "correct", "request_extension", "pause_deadline", "record_visit"]),
    ("petition", "resolved", "olga", "follow_up", ["reopen", "withdraw"],
     ["note", "attach_document", "assign", "correct", "request_extension", "pause_deadline"]),
]


@pytest.mark.parametrize(("kind", "stage", "who", "way_on", "moves", "side"), WAY_ON_FIRST,
                         ids=[f"{k}-{s}-{w}" for k, s, w, *_ in WAY_ON_FIRST])
def test_the_way_on_comes_first_open_then_the_other_moves_then_the_rest_folded(
        cast: Cast, client: Any, kind: str, stage: str, who: str, way_on: str, moves: list[str], side: list[str]) -> None:
    case = (dispute if kind == "dispute" else petition)(cast, stage)
    assert case.stage == stage
    html = offered(cast, client, case, who)
    assert shown(html) == [(way_on, True)] + [(name, False) for name in moves + side]
    assert places(html) == {way_on: "forward", **dict.fromkeys(moves, "move"), **dict.fromkeys(side, "side")}
    assert primary(html) == [way_on]
    # The operations that keep the stage come under a heading of their own.
    assert html.index('data-place="side"><h3>') < html.index(f'data-operation="{side[0]}"')


@pytest.mark.parametrize("kind", ["dispute", "petition"])
def test_without_the_way_on_nothing_is_open_and_no_button_is_primary(cast: Cast, client: Any, kind: str) -> None:
    # olga (officer) may not mediate or resolve herself: her moves come first, all folded.
    html = offered(cast, client, (dispute if kind == "dispute" else petition)(cast, "investigating"), "olga")
    assert shown(html) == [(name, False) for name in ["escalate", "refer", "withdraw", "record_session", "note",
                                                       "attach_document", "assign", "correct",
                                                       "request_extension", "pause_deadline",
                                                       # 联调: she names the co-handling departments.
                                                       "name_co_department"]]
    assert primary(html) == [] and "forward" not in places(html).values()


@pytest.mark.parametrize("kind", ["dispute", "petition"])
def test_a_closed_case_offers_only_operations_that_keep_it_closed(cast: Cast, client: Any, kind: str) -> None:
    html = offered(cast, client, (dispute if kind == "dispute" else petition)(cast, "closed"), "olga")
    assert shown(html) == [("note", False), ("attach_document", False)]
    assert set(places(html).values()) == {"side"} and "<h3>" not in html.split("operation-group", 1)[1][:80]


def test_a_refused_form_is_opened_instead_of_the_way_on(cast: Cast, client: Any) -> None:
    case = dispute(cast, "investigating")
    client.force_login(cast.mia)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "resolve"]),
                           {"outcome": "agreement_oral", "summary": ""})
    assert response.status_code == 400
    assert shown(response.content.decode())[:2] == [("start_mediation", False), ("resolve", True)]
    case.refresh_from_db()
    assert case.stage == "investigating"


def test_the_order_is_declared_once_for_every_operation() -> None:
    assert sorted(ORDER) == sorted(operations()) and len(set(ORDER)) == len(ORDER)
    for (stage, kind), name in WAY_ON.items():
        assert kind in Case.Kind.values
        moves = [t for t in operations()[name].get_transitions() if t.source == stage]
        assert moves and moves[0].target in Case.Stage.values and moves[0].target != stage, (stage, name)
    assert {stage for stage, _kind in WAY_ON} == set(Case.Stage.values) - {"closed"}


def test_the_api_lists_the_operations_in_the_pages_order(cast: Cast, client: Any) -> None:
    from tests.api.test_api import API, api

    case = petition(cast, "investigating")
    names = [op["name"] for op in api(cast.mia).get(f"{API}/cases/{case.pk}/").json()["operations"]]
    expected = in_order(case, available_operations(case, cast.mia))
    assert names == [t.slug for t in expected]
    assert names[0] == "resolve" and place_of(case, expected[0]) == FORWARD
    assert [place_of(case, t) for t in expected[1:]] == sorted((place_of(case, t) for t in expected[1:]),
                                                              key=[FORWARD, MOVE, SIDE].index)
    shown_on_page = [name for name, _open in shown(offered(cast, client, case, "mia"))]
    # The page leaves out what has nothing to act on (resume with no paused clock).
    assert shown_on_page == [name for name in names if name in shown_on_page]
    assert {"start_mediation", "record_session"} <= set(shown_on_page)


# The lifecycle and the heading, on a phone.

def test_the_lifecycle_is_folded_below_the_facts_and_the_operations(cast: Cast, client: Any) -> None:
    case = dispute(cast, "investigating")
    html = offered(cast, client, case, "mia")
    folded = re.search(r'<details class="desk-card lifecycle-card">\s*<summary>', html)
    assert folded, "the lifecycle is a closed <details>"
    assert html.index('class="desk-card operations"') < html.index('<dl class="facts">') < folded.start()
    drawing = html[folded.start():html.index("</details>", folded.start())]
    assert 'data-stage="investigating" class="stage current"' in drawing
    # The moves out of the stage the case is in stand out.
    assert 'class="move out" data-from="investigating" data-to="mediating"' in drawing
    assert 'class="move" data-from="reported" data-to="investigating"' in drawing


def test_the_lifecycle_labels_stay_readable_in_a_phones_width(cast: Cast, client: Any) -> None:
    from desk.lifecycle import FONT, _drawing

    svg = _drawing("zh-hans")
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    # A 360 px phone leaves its card 318 px (desk.css: page 8 px and card 12 px padding a
    # side, a 1 px border); drawn that wide, a label of FONT units is 11 px or more.
    assert FONT * 318 / width >= 11, width
    labels = re.findall(r'<text class="label"[^>]*>([^<]+)</text>', svg)
    assert "开始调解" in labels and any("受理" in label for label in labels)
    # Withdrawing ends the case from every open stage: said once under the drawing, not
    # drawn as five more arcs.
    assert not any("撤回" in label for label in labels)
    assert '<p class="lifecycle-note">撤回' in svg and "已办结" in svg.split('class="lifecycle-note"')[1]


def test_the_case_number_is_kept_on_one_line(cast: Cast, client: Any) -> None:
    from pathlib import Path

    from django.conf import settings

    case = report(cast, at=local(2026, 3, 2, 9))
    html = offered(cast, client, case, "olga")
    assert f'<h1 class="case-heading"><span class="case-number">{case.number}</span>' in html
    css = (Path(settings.BASE_DIR) / "desk" / "static" / "desk" / "desk.css").read_text()
    assert re.search(r"\.case-number \{[^}]*white-space: nowrap", css)
    assert case.number in text_of(page(client, cast.olga, reverse("desk:case:detail", args=[case.pk])))


def test_the_page_reads_the_persons_grants_on_the_case_once(cast: Cast, client: Any) -> None:
    case = dispute(cast, "investigating")
    with CaptureQueriesContext(connection) as statements:
        html = offered(cast, client, case, "mia")
    assert "start_mediation" in dict(shown(html))
    assert sum(1 for q in statements.captured_queries if q["sql"].startswith("SELECT 'm', 0, m.role")) == 1
