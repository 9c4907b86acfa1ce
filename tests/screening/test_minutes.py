"""The minutes of the monthly meeting (排查例会纪要, docs/reporting.md): stored with the
township and month, listing the decisions taken at the meeting (from its start until the
minutes are closed, on the township's cases only), frozen once closed, written only by the
township's officers and supervisors, printed as PDF with everything they hold; a township
out of reach is a 404, bad input a form error."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from cases.models import MeetingMinutes
from screening.minutes import close_minutes, minutes_content, save_minutes
from screening.returns import decide_suspect, submit_return
from tests.conftest import accept, local, report, step
from workflow.errors import ConditionUnmet, InvalidData, NotPermitted
from workflow.permissions import may_keep_minutes

pytestmark = pytest.mark.django_db
MARCH = date(2026, 3, 1)
HELD = local(2026, 4, 8, 9, 0)
CLOSED = local(2026, 4, 8, 11, 0)
MINUTES = {"held_at": HELD, "place": "镇综治中心二楼会议室", "chair": "王镇长",
           "attendees": "综治办全体、各村综治专干、派出所、司法所", "resolutions": "一、东湾村土地纠纷由司法所牵头，月底前化解。"}


@pytest.fixture
def meeting(cast: Any) -> dict[str, Any]:
    """柳林镇's March: 东湾村 filed its return on 2 April listing `listed`, not `hotline`
    (a concealment suspect); `early` was escalated before the meeting; at the meeting (8
    April, 9:00–11:00) `assigned` is reassigned, `supervised` gets a supervision order,
    `hotline` is confirmed as concealed; 桃源镇 escalates a case of its own meanwhile, and
    after the minutes close `assigned` is escalated."""
    made = {
        "listed": report(cast, at=local(2026, 3, 4, 9), title="排查发现"),
        "hotline": report(cast, at=local(2026, 3, 10, 9), source="110", title="110转来"),
        "assigned": report(cast, at=local(2026, 3, 11, 9), title="改派"),
        "supervised": report(cast, at=local(2026, 3, 12, 9), title="督办"),
        "early": report(cast, at=local(2026, 3, 13, 9), title="会前上报"),
        "elsewhere": report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, 8, 9), title="南山"),
    }
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  items=[{"case": made["listed"].pk}], at=local(2026, 4, 2, 9))
    for name in ("assigned", "early"):
        accept(cast, made[name], local(2026, 3, 14, 9))
    step(made["early"], "escalate", cast.olga, local(2026, 4, 7, 15), reason="会前已上报")
    save_minutes(actor=cast.olga, township=cast.liulin, month="2026-03", data=MINUTES, at=local(2026, 4, 8, 9, 5))
    step(made["assigned"], "assign", cast.olga, local(2026, 4, 8, 9, 20), assignee=cast.olga.pk)
    step(made["supervised"], "supervise", cast.sam, local(2026, 4, 8, 9, 30), instructions="三日内回复进展", days=3)
    decide_suspect(made["hotline"], actor=cast.olga, confirm=True, reason="未列入排查表", at=local(2026, 4, 8, 9, 40))
    step(made["elsewhere"], "escalate", cast.owen, local(2026, 4, 8, 9, 50), reason="南山上报")
    return made


def listed(content: Any) -> list[tuple[str, str]]:
    return [(d["number"], d["kind"]) for d in content.decisions]


def test_the_minutes_are_kept_with_the_township_and_month_and_list_the_meetings_decisions(
        cast: Any, meeting: dict[str, Any]) -> None:
    minutes = MeetingMinutes.objects.get()
    assert (minutes.township, minutes.month, minutes.chair, minutes.closed_at) == (cast.liulin, MARCH, "王镇长", None)
    content = minutes_content(minutes, at=local(2026, 4, 8, 10))
    assert listed(content) == [(meeting["assigned"].number, "assign"), (meeting["supervised"].number, "supervise"),
                               (meeting["hotline"].number, "concealment_confirmed")]
    assert content.decisions[1]["detail"] == "三日内回复进展" and content.decisions[1]["by"] == "sam"
    assert content.decisions[0]["detail"] == "olga"
    assert content.figures["returns"]["filed"] == 1 and content.figures["totals"]["new"] == 5


def test_closed_minutes_are_frozen(cast: Any, meeting: dict[str, Any]) -> None:
    closed = close_minutes(actor=cast.sam, township=cast.liulin, month=MARCH, at=CLOSED)
    step(meeting["assigned"], "escalate", cast.olga, local(2026, 4, 8, 14), reason="会后上报")
    report(cast, at=local(2026, 3, 30, 9), title="补登")
    content = minutes_content(MeetingMinutes.objects.get(), at=local(2026, 4, 9))
    assert listed(content) == [(meeting["assigned"].number, "assign"), (meeting["supervised"].number, "supervise"),
                               (meeting["hotline"].number, "concealment_confirmed")]
    assert content.figures == closed.figures and content.figures["totals"]["new"] == 5
    with pytest.raises(ConditionUnmet):
        save_minutes(actor=cast.olga, township=cast.liulin, month=MARCH, data={**MINUTES, "place": "改了"},
                     at=local(2026, 4, 9))
    with pytest.raises(ConditionUnmet):
        close_minutes(actor=cast.olga, township=cast.liulin, month=MARCH, at=local(2026, 4, 9))
    again = MeetingMinutes.objects.get()
    assert (again.place, again.closed_at, again.closed_by) == (MINUTES["place"], CLOSED, cast.sam)


def test_an_edit_after_closing_is_refused_on_the_page(cast: Any, client: Any, time_machine: Any,
                                                      meeting: dict[str, Any]) -> None:
    close_minutes(actor=cast.sam, township=cast.liulin, month=MARCH, at=CLOSED)
    time_machine.move_to(local(2026, 4, 9, 10), tick=False)
    client.force_login(cast.olga)
    page = client.get(reverse("desk:meeting:index"), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    assert 'name="place"' not in page and "镇综治中心二楼会议室" in page
    url = reverse("desk:meeting:minutes", args=[cast.liulin.pk, "2026-03"])
    response = client.post(url, {**MINUTES, "held_at": "2026-04-08T09:00", "place": "改了", "action": "save"})
    assert response.status_code == 422
    assert MeetingMinutes.objects.get().place == MINUTES["place"]


def test_the_meeting_page_saves_and_closes_the_minutes(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 8, 8), tick=False)
    client.force_login(cast.olga)
    url = reverse("desk:meeting:minutes", args=[cast.liulin.pk, "2026-03"])
    page = client.get(reverse("desk:meeting:index"), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    assert f'action="{url}"' in page and 'id="minutes"' in page
    response = client.post(url, {**MINUTES, "held_at": "2026-04-08T09:00", "action": "save"})
    assert response.status_code == 302
    assert MeetingMinutes.objects.get().held_at == HELD
    time_machine.move_to(CLOSED, tick=False)
    client.force_login(cast.sam)  # a login ends after half an hour idle
    assert client.post(url, {"action": "close"}).status_code == 302
    assert (MeetingMinutes.objects.get().closed_at, MeetingMinutes.objects.get().closed_by) == (CLOSED, cast.sam)


@pytest.mark.parametrize("data", [
    {"held_at": "明天上午"},
    {"held_at": ""},
    {"held_at": "2026-02-27T09:00"},  # before the month it reviews
    {"place": ""},
    {"place": "会" * 201},
    {"chair": "张\x00三"},
    {"attendees": ""},
    {"resolutions": "议" * 8001},
])
def test_bad_input_is_a_form_error_and_writes_nothing(cast: Any, client: Any, time_machine: Any,
                                                      data: dict[str, str]) -> None:
    time_machine.move_to(local(2026, 4, 8, 8), tick=False)
    client.force_login(cast.olga)
    url = reverse("desk:meeting:minutes", args=[cast.liulin.pk, "2026-03"])
    response = client.post(url, {**MINUTES, "held_at": "2026-04-08T09:00", "action": "save", **data})
    assert response.status_code == 422
    assert 'class="errorlist' in response.content.decode()
    assert not MeetingMinutes.objects.exists()


def test_closing_unwritten_or_unheld_minutes_is_refused(cast: Any) -> None:
    with pytest.raises(ConditionUnmet):
        close_minutes(actor=cast.olga, township=cast.liulin, month=MARCH, at=CLOSED)
    save_minutes(actor=cast.olga, township=cast.liulin, month=MARCH, data=MINUTES, at=local(2026, 4, 7))
    with pytest.raises(ConditionUnmet):
        close_minutes(actor=cast.olga, township=cast.liulin, month=MARCH, at=local(2026, 4, 7, 10))
    assert MeetingMinutes.objects.get().closed_at is None


def test_who_keeps_the_minutes(cast: Any) -> None:
    keeps = {name for name in ("olga", "sam", "carl", "cora", "vic", "owen", "mia", "alice", "pete")
             if may_keep_minutes(getattr(cast, name), cast.liulin)}
    assert keeps == {"olga", "sam", "carl", "cora"}
    for name in ("vic", "owen", "mia"):
        with pytest.raises(NotPermitted):
            save_minutes(actor=getattr(cast, name), township=cast.liulin, month=MARCH, data=MINUTES,
                         at=local(2026, 4, 8))
    with pytest.raises(InvalidData):
        save_minutes(actor=cast.carl, township=cast.county, month=MARCH, data=MINUTES, at=local(2026, 4, 8))
    assert not MeetingMinutes.objects.exists()


# The PDF and its door.

def test_the_pdf_holds_everything_the_minutes_say(cast: Any, client: Any, meeting: dict[str, Any]) -> None:
    from tests.paper.conftest import text_of

    close_minutes(actor=cast.sam, township=cast.liulin, month=MARCH, at=CLOSED)
    client.force_login(cast.vic)  # a viewer reads them
    response = client.get(reverse("desk:meeting:minutes_pdf", args=[cast.liulin.pk, "2026-03"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = text_of(response.content)
    for expected in ("矛盾纠纷排查例会纪要", "柳林镇2026年3月", "会议时间2026年4月8日9时00分", "会议地点镇综治中心二楼会议室",
                     "主持人王镇长", "综治办全体、各村综治专干、派出所、司法所", "本月新增", "已报送1个",
                     meeting["assigned"].number, "指派承办人", meeting["supervised"].number, "督办", "三日内回复进展",
                     meeting["hotline"].number, "认定瞒报", "会议议定事项", "东湾村土地纠纷由司法所牵头，月底前化解。",
                     "本纪要于2026年4月8日11时00分定稿"):
        assert expected in text, expected
    assert meeting["early"].number not in text and meeting["elsewhere"].number not in text


@pytest.mark.parametrize(("who", "township", "month"), [
    ("owen", "liulin", "2026-03"),   # another township's officer
    ("alice", "liulin", "2026-03"),  # a village worker reviews no township
    ("olga", "taoyuan", "2026-03"),
    ("olga", "liulin", "2026-02"),   # no minutes that month
    ("olga", "liulin", "2026-13"),
    ("olga", "99999999999999999999999", "2026-03"),
])
def test_a_township_out_of_reach_is_a_404(cast: Any, client: Any, meeting: dict[str, Any], who: str,
                                          township: str, month: str) -> None:
    client.force_login(getattr(cast, who))
    unit_id = {"liulin": cast.liulin.pk, "taoyuan": cast.taoyuan.pk}.get(township, township)
    assert client.get(reverse("desk:meeting:minutes_pdf", args=[unit_id, month])).status_code == 404
    if (who, month) == ("olga", "2026-02"):
        return  # she may write February's minutes; there are none to print yet
    response = client.post(reverse("desk:meeting:minutes", args=[unit_id, month]),
                           {**MINUTES, "held_at": "2026-04-08T09:00", "action": "save"})
    assert response.status_code == 404
    assert list(MeetingMinutes.objects.values_list("township", "month", "place")) == [
        (cast.liulin.pk, MARCH, MINUTES["place"])]
