"""The monthly meeting page (issue 15): concealment suspects only for villages whose return
is settled, decided several at once with one reason (each recorded as if decided alone),
one compact table, and an agenda that prints without the controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cases.models import CaseEvent, OrgUnit
from screening.meeting import meeting_data
from screening.returns import concealment_suspects, decide_suspect, decide_suspects, submit_return
from tests.conftest import local, report, unit
from workflow import services
from workflow.errors import ConditionUnmet

pytestmark = pytest.mark.django_db
MEETING = "desk:meeting:index"
# Returns for March 2026 are due on Monday 27 April (the 25th is a Saturday).
BEFORE_DUE, AFTER_DUE = local(2026, 4, 3, 10), local(2026, 4, 28, 10)
CSS = Path(settings.BASE_DIR) / "desk" / "static" / "desk" / "desk.css"


@pytest.fixture
def march(cast: Any) -> dict[str, Any]:
    """March 2026 in 柳林镇. 东湾村 files on 2 April, listing `listed` but neither `hotline`
    (110) nor `visit`; 西岭村 files nothing, and `court` came from the court; 南山村 is
    the other township's."""
    made = {
        "listed": report(cast, at=local(2026, 3, 4, 9), source="screening", title="排查发现"),
        "hotline": report(cast, at=local(2026, 3, 10, 9), source="110", title="110转来"),
        "visit": report(cast, actor=cast.olga, at=local(2026, 3, 12, 9), source="visit", title="来访"),
        "court": report(cast, actor=cast.olga, village=cast.xiling.pk, at=local(2026, 3, 8, 9), source="court",
                        title="法院转来"),
        "other": report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 8, 9), source="110",
                        title="南山"),
    }
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  items=[{"case": made["listed"].pk}], at=local(2026, 4, 2, 9))
    return made


def page_url(cast: Any) -> str:
    return reverse(MEETING) + f"?unit={cast.liulin.pk}&period=2026-03"


def open_meeting(client: Any, cast: Any) -> str:
    return client.get(reverse(MEETING), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()


def suspects_card(html: str) -> str:
    start = html.index('<div class="desk-card suspects">')
    return html[start:html.index('<div class="desk-card meeting-village">', start)]


def in_english(client: Any) -> Any:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def decisions() -> list[tuple[int, str, str, str]]:
    return sorted(CaseEvent.objects.filter(kind__startswith="concealment").values_list(
        "case_id", "kind", "actor__username", "data__reason"))


def said(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


# The rule: a village whose return is not yet due has no suspects.

def test_a_village_whose_return_is_not_due_has_no_suspects_until_it_is(cast: Any, march: dict[str, Any]) -> None:
    def found(at: Any) -> dict[str, list[int]]:
        return {v.village.name: v.case_ids for v in concealment_suspects(cast.liulin, "2026-03", at=at)}

    filed = [march["hotline"].pk, march["visit"].pk]
    # 东湾村 filed: what it left out is suspect at once. 西岭村 may still list `court`.
    assert found(BEFORE_DUE) == {"东湾村": filed}
    data = meeting_data(cast.liulin, "2026-03", at=BEFORE_DUE)
    assert [r.village.name for r in data.awaiting] == ["西岭村"] and len(data.suspects) == 1
    # Past the due time without a return: missing, and `court` is a suspect.
    assert found(AFTER_DUE) == {"东湾村": filed, "西岭村": [march["court"].pk]}
    assert meeting_data(cast.liulin, "2026-03", at=AFTER_DUE).awaiting == []


def test_a_suspect_is_decided_only_once_its_return_is_due(cast: Any, march: dict[str, Any]) -> None:
    with translation.override("en"), pytest.raises(ConditionUnmet, match="not due yet"):
        decide_suspect(march["court"], actor=cast.olga, confirm=True, reason="知情未报。", at=BEFORE_DUE)
    assert decisions() == []
    event = decide_suspect(march["court"], actor=cast.olga, confirm=True, reason="知情未报。", at=AFTER_DUE)
    assert (event.kind, event.data["return_status"], event.data["return"]) == ("concealment_confirmed", "missing", None)


def test_the_page_lists_only_the_suspects_of_settled_returns(cast: Any, march: dict[str, Any], client: Any,
                                                             time_machine: Any) -> None:
    time_machine.move_to(BEFORE_DUE, tick=False)
    client.force_login(cast.olga)
    html = open_meeting(client, cast)
    assert f'data-suspect="{march["hotline"].pk}"' in html and f'data-suspect="{march["visit"].pk}"' in html
    assert f'data-suspect="{march["court"].pk}"' not in html and f'data-suspect="{march["listed"].pk}"' not in html
    assert f'data-awaiting="{cast.xiling.pk}"' in html
    time_machine.move_to(AFTER_DUE, tick=False)
    client.force_login(cast.olga)  # the session has expired meanwhile
    html = open_meeting(client, cast)
    assert f'data-suspect="{march["court"].pk}"' in html and "data-awaiting=" not in html


# One compact table, one decision for the ticked ones.

def test_the_suspects_are_one_table_with_one_reason_box_and_select_all(cast: Any, march: dict[str, Any], client: Any,
                                                                       time_machine: Any) -> None:
    time_machine.move_to(AFTER_DUE, tick=False)
    decide_suspect(march["visit"], actor=cast.sam, confirm=False, reason="月底来访，来不及列入。")
    client.force_login(cast.olga)
    html = suspects_card(open_meeting(client, cast))
    assert html.count("<form") == html.count('id="suspect-decisions"') == 1 and html.count('name="reason"') == 1
    assert html.count("<table") == 1 and 'data-select-all' in html
    # The undecided are ticked here; the decided one shows its decision, who took it and why.
    for case in ("hotline", "court"):
        assert f'name="case" value="{march[case].pk}"' in html
    assert f'name="case" value="{march["visit"].pk}"' not in html
    assert "月底来访，来不及列入。" in html and "sam" in html
    # No per-row forms: one form decides the ticked suspects.
    assert html.count('name="decision"') == 2  # its two buttons


def test_ticked_suspects_are_decided_together_each_as_if_alone(cast: Any, march: dict[str, Any], client: Any,
                                                               time_machine: Any) -> None:
    time_machine.move_to(AFTER_DUE, tick=False)
    client.force_login(cast.olga)
    next_page = page_url(cast)
    response = client.post(reverse(MEETING), {"case": [march["hotline"].pk, march["court"].pk], "decision": "confirm",
                                              "reason": "村里知情未报。", "next": next_page})
    assert response.status_code == 302 and response["Location"] == next_page
    assert decisions() == [(march["hotline"].pk, "concealment_confirmed", "olga", "村里知情未报。"),
                           (march["court"].pk, "concealment_confirmed", "olga", "村里知情未报。")]
    # Each event holds what a single decision writes.
    alone = decide_suspect(march["visit"], actor=cast.olga, confirm=False, reason="另案。")
    for event in CaseEvent.objects.filter(kind="concealment_confirmed"):
        assert set(event.data) == set(alone.data) and event.data["month"] == "2026-03"
        assert event.at == AFTER_DUE and event.from_stage == event.to_stage == "reported"
    assert [level for level, _ in said(response)] == ["success"]
    assert march["hotline"].number in said(response)[0][1] and march["court"].number in said(response)[0][1]


def test_refused_suspects_are_named_one_by_one_and_the_others_recorded(cast: Any, march: dict[str, Any], client: Any,
                                                                       time_machine: Any) -> None:
    time_machine.move_to(BEFORE_DUE, tick=False)
    decide_suspect(march["visit"], actor=cast.sam, confirm=False, reason="另案。")
    client.force_login(cast.olga)
    ticked = [march[name].pk for name in ("listed", "hotline", "court", "other", "visit")] + [999999]
    response = in_english(client).post(reverse(MEETING), {"case": ticked, "decision": "confirm", "reason": "知情未报。"})
    assert response.status_code == 302
    assert decisions() == sorted([(march["hotline"].pk, "concealment_confirmed", "olga", "知情未报。"),
                                  (march["visit"].pk, "concealment_dismissed", "sam", "另案。")])
    errors = [text for level, text in said(response) if level == "error"]
    assert errors == [
        f"{march['listed'].number}: This case is not a concealment suspect.",
        f"{march['court'].number}: The return of 西岭村 for 2026-03 is not due yet: the village may still list this case.",
        f"{march['other'].pk}: No such case.",  # another township's: not even its number is told
        f"{march['visit'].number}: This concealment suspect has been decided already.",
        "999999: No such case.",
    ]
    assert [text for level, text in said(response) if level == "success"] == [
        f"Decisions recorded on 1 suspects: {march['hotline'].number}."]


def test_the_service_decides_in_bulk_as_the_page_does(cast: Any, march: dict[str, Any]) -> None:
    results = decide_suspects([march["hotline"].pk, march["hotline"].pk, march["court"].pk, 2**70], actor=cast.olga,
                              confirm=False, reason="不属瞒报。", at=AFTER_DUE)
    assert [(r.case_id, r.event is not None) for r in results] == [
        (march["hotline"].pk, True), (march["court"].pk, True), (2**70, False)]
    assert [r.number for r in results[:2]] == [march["hotline"].number, march["court"].number]


def test_a_viewer_sees_the_suspects_but_decides_nothing(cast: Any, march: dict[str, Any], client: Any,
                                                        time_machine: Any) -> None:
    time_machine.move_to(AFTER_DUE, tick=False)
    client.force_login(cast.vic)
    html = open_meeting(client, cast)
    assert f'data-suspect="{march["hotline"].pk}"' in html
    assert 'name="case"' not in html and 'name="reason"' not in html and 'id="suspect-decisions"' not in html
    response = in_english(client).post(reverse(MEETING), {"case": [march["hotline"].pk], "decision": "confirm",
                                                          "reason": "知情未报。"})
    assert said(response) == [("error", f"{march['hotline'].number}: Only the township's officers and supervisors "
                                        "decide on concealment.")]
    client.force_login(cast.alice)  # a village worker does not even reach the page
    assert client.post(reverse(MEETING), {"case": [march["hotline"].pk], "decision": "confirm",
                                          "reason": "知情未报。"}).status_code == 403
    assert decisions() == []


@pytest.mark.parametrize("sent, message", [
    ({"decision": "confirm", "reason": "知情未报。"}, "Tick the suspects to decide."),
    ({"case": ["abc"], "decision": "confirm", "reason": "知情未报。"}, "“abc” is no case of the list."),
    ({"case": ["²"], "decision": "confirm", "reason": "知情未报。"}, "“²” is no case of the list."),
    ({"case": [str(2**63)], "decision": "confirm", "reason": "知情未报。"}, f"“{2**63}” is no case of the list."),
    ({"case": "HOTLINE", "decision": "maybe", "reason": "知情未报。"}, "Confirm or dismiss the ticked suspects."),
    ({"case": "HOTLINE", "decision": "confirm"}, "Give the reason for the decision."),
    ({"case": "HOTLINE", "decision": "confirm", "reason": "   "}, "Give the reason for the decision."),
    ({"case": "HOTLINE", "decision": "confirm", "reason": "知情\x00未报"}, None),
])
def test_bad_input_is_told_and_changes_nothing(cast: Any, march: dict[str, Any], client: Any, time_machine: Any,
                                               sent: dict[str, Any], message: str | None) -> None:
    time_machine.move_to(AFTER_DUE, tick=False)
    client.force_login(cast.olga)
    if sent.get("case") == "HOTLINE":
        sent = {**sent, "case": [march["hotline"].pk, march["court"].pk]}
    response = in_english(client).post(reverse(MEETING), sent)
    assert response.status_code == 302
    errors = [text for level, text in said(response)]
    assert len(errors) == 1 and [level for level, _ in said(response)] == ["error"]
    assert message is None or errors == [message]
    assert decisions() == []


# Short, the same queries however many, printable.

def test_the_page_costs_the_same_queries_however_many_villages_and_suspects(cast: Any, client: Any,
                                                                            time_machine: Any) -> None:
    time_machine.move_to(AFTER_DUE, tick=False)
    client.force_login(cast.olga)
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", nil=True, signed_off_by="王村长",
                  at=local(2026, 4, 2, 9))
    queries, made = {}, 0

    def add_village_with_suspects(n: int) -> None:
        nonlocal made
        made += 1
        village = unit(f"QY-LL-V{made}", f"新村{made}", OrgUnit.Level.VILLAGE, cast.liulin)
        for i in range(n):
            case = report(cast, actor=cast.olga, village=village.pk, source="12345", title=f"新村{made}-{i}",
                          at=local(2026, 3, 3 + i, 9))
            # Closed within the month: a suspect still, with no operation forms of its own.
            services.transition(case, "withdraw", actor=cast.olga, data={"reason": "和解。"}, at=local(2026, 3, 20, 9))
            if i == 0:
                decide_suspect(case, actor=cast.sam, confirm=True, reason="知情未报。")

    for villages, suspects in ((1, 2), (4, 5)):
        while made < villages:
            add_village_with_suspects(suspects)
        with CaptureQueriesContext(connection) as captured:
            html = open_meeting(client, cast)
        queries[villages] = len(captured)
        assert html.count("data-suspect=") == {1: 2, 4: 2 + 3 * 5}[villages]
    assert queries[1] == queries[4], queries


def test_the_agenda_prints_without_menus_buttons_or_forms(cast: Any, march: dict[str, Any], client: Any,
                                                          time_machine: Any) -> None:
    time_machine.move_to(AFTER_DUE, tick=False)
    client.force_login(cast.olga)
    html = open_meeting(client, cast)
    assert 'onclick="window.print()"' in html
    assert 'class="decide-bar no-print"' in html and 'class="desk-form desk-card no-print filters"' in html
    css = CSS.read_text(encoding="utf-8")
    ours = css[css.index("/* meeting and returns */"):]
    printed = ours[ours.index("@media print"):]
    for hidden in (".meeting .tick", ".meeting .decide-bar", ".meeting .operations", ".meeting .messages"):
        assert hidden in printed
    assert "display: none !important" in printed
