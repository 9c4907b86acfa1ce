"""The workbench is organised around what to do now (issue 15): 待受理, my cases, coming
due, overdue, supervision orders to answer, each with its count, its nearest few, and the
whole list in the queue; then the unread notifications."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from notifications.models import Notification
from tests.conftest import accept, local, report
from workflow import services
from workflow.models import Deadline

pytestmark = pytest.mark.django_db

WORKBENCH = reverse("desk:workbench:index")


def sections(client: Any, user: Any) -> dict[str, str]:
    """Each list of the workbench page by key: its HTML, as far as the next list."""
    client.force_login(user)
    html = client.get(WORKBENCH).content.decode()
    parts = re.split(r'<div class="desk-card work-section" id="(\w+)"', html)
    found = {parts[i]: parts[i + 1].split('<div class="desk-card', 1)[0] for i in range(1, len(parts), 2)}
    return found


def counts(client: Any, user: Any) -> dict[str, int]:
    client.force_login(user)
    html = client.get(WORKBENCH).content.decode()
    return {key: int(n) for key, n in re.findall(
        r'data-section="(\w+)">\s*<span class="figure">(\d+)</span>', html)}


def test_a_new_report_lands_in_the_officers_awaiting_acceptance_and_leaves_it_once_accepted(
        cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 2, 10, 0), tick=False)
    waiting = report(cast, title="待受理的纠纷", at=local(2026, 3, 2, 9, 0))
    accepted = accept(cast, report(cast, title="已受理的纠纷", at=local(2026, 3, 2, 9, 0)), local(2026, 3, 2, 9, 30))
    olga = sections(client, cast.olga)
    assert waiting.number in olga["awaiting"] and accepted.number not in olga["awaiting"]
    assert counts(client, cast.olga)["awaiting"] == 1
    # Nobody else of the township accepts: not the mediator, the supervisor or the village.
    for user in (cast.mia, cast.sam, cast.alice, cast.owen):
        assert counts(client, user)["awaiting"] == 0, user
        assert "awaiting" not in sections(client, user), user
    accept(cast, waiting, local(2026, 3, 2, 9, 45))
    assert counts(client, cast.olga)["awaiting"] == 0


def test_my_cases_are_those_i_carry_or_reported(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 2, 10, 0), tick=False)
    carried = accept(cast, report(cast, title="调解员承办的纠纷", at=local(2026, 3, 2, 9, 0)), local(2026, 3, 2, 9, 30))
    other = report(cast, actor=cast.bob, village=cast.xiling.pk, title="西岭村的纠纷", at=local(2026, 3, 2, 9, 0))
    mia, alice = sections(client, cast.mia), sections(client, cast.alice)
    assert carried.number in mia["mine"] and other.number not in mia["mine"]
    assert carried.number in alice["mine"] and other.number not in alice["mine"]  # alice reported it
    assert counts(client, cast.bob)["mine"] == 1


def test_coming_due_and_overdue_follow_the_cards_of_my_work(cast: Any, client: Any, time_machine: Any) -> None:
    waiting = report(cast, title="将到期的纠纷", at=local(2026, 3, 2, 9, 0))
    clock = Deadline.objects.get(case=waiting, kind="acceptance")
    time_machine.move_to(clock.warn_at + timedelta(minutes=1), tick=False)
    olga = sections(client, cast.olga)
    assert waiting.number in olga["due_soon"] and "overdue" not in olga
    assert 'class="card yellow"' in olga["due_soon"]
    time_machine.move_to(clock.due_at + timedelta(minutes=1), tick=False)
    olga = sections(client, cast.olga)
    assert waiting.number in olga["overdue"] and "due_soon" not in olga
    # Not the work of another township's officer, who cannot even see it.
    assert counts(client, cast.owen)["overdue"] == 0


def test_coming_due_and_overdue_are_the_queue_s_lists_counted_and_cut_to_the_nearest(
        cast: Any, client: Any, time_machine: Any) -> None:
    """The two carded lists, read in one pass (desk.workbench.carded_sections), against the
    queue's own `list=work&card=…`: the same count, and the queue's first rows."""
    # Registered a day apart: at noon on 12 March the oldest are overdue, the newest warned.
    cases = [report(cast, title=f"纠纷{i}", at=local(2026, 3, 2 + i, 9, 0)) for i in range(9)]
    moment = max(c.warn_at for c in Deadline.objects.filter(case__in=cases, kind="acceptance")
                 if c.due_at > local(2026, 3, 9, 12)) + timedelta(minutes=1)
    time_machine.move_to(moment, tick=False)
    shown = counts(client, cast.olga)
    for key, card in (("due_soon", "yellow"), ("overdue", "red")):
        queue = client.get(reverse("desk:queue:index"), {"list": "work", "card": card})
        numbers = re.findall(r'class="case-number" href="[^"]+">([^<]+)<', queue.content.decode())
        assert shown[key] == queue.context["page"].paginator.count > 0, key
        section = sections(client, cast.olga)[key]
        listed = re.findall(r'class="case-number" href="[^"]+">([^<]+)<', section)
        assert listed == numbers[:len(listed)] and 0 < len(listed) <= 5, (key, listed, numbers)
    assert shown["overdue"] > 5 and shown["due_soon"] + shown["overdue"] <= len(cases)


def test_a_supervision_order_to_answer_is_listed_until_answered(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 3, 10, 0), tick=False)
    case = accept(cast, report(cast, at=local(2026, 3, 2, 9, 0)), local(2026, 3, 2, 9, 30))
    services.transition(case, "supervise", actor=cast.carl, at=local(2026, 3, 3, 9, 0),
                        data={"instructions": "三日内答复。"})
    assert case.number in sections(client, cast.olga)["supervision"]
    assert case.number in sections(client, cast.mia)["supervision"]  # the assignee answers too
    assert counts(client, cast.sam)["supervision"] == 0
    order = case.supervision_orders.get()
    services.transition(case, "reply_supervision", actor=cast.mia, at=local(2026, 3, 3, 9, 30),
                        data={"order": order.pk, "reply": "已约双方调解。"})
    assert counts(client, cast.olga)["supervision"] == 0


def test_each_list_links_to_the_queue_showing_all_of_it(cast: Any, client: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 3, 2, 10, 0), tick=False)
    numbers = {report(cast, title=f"纠纷{i}", at=local(2026, 3, 2, 9, 0)).number for i in range(7)}
    olga = sections(client, cast.olga)
    shown = {n for n in numbers if n in olga["awaiting"]}
    assert len(shown) == 5
    link = re.search(r'href="([^"]+)">[^<]*7', olga["awaiting"]).group(1).replace("&amp;", "&")
    client.force_login(cast.olga)
    queue = client.get(link).content.decode()
    assert all(n in queue for n in numbers)
    # The queue's list is the workbench's: the mediator's awaiting list is empty there too.
    client.force_login(cast.mia)
    assert not any(n in client.get(link).content.decode() for n in numbers)


def test_the_workbench_shows_unread_notifications_and_the_read_ones_on_request(cast: Any, client: Any) -> None:
    case = report(cast)
    read = Notification.objects.create(user=cast.olga, kind="note", level="assignment", text="已读的通知", case=case,
                                       created_at=local(2026, 3, 2, 9), read_at=local(2026, 3, 2, 10))
    client.force_login(cast.olga)
    html = client.get(WORKBENCH).content.decode()
    news = Notification.objects.get(user=cast.olga, kind="report")
    assert news.text in html and read.text not in html
    assert read.text in client.get(WORKBENCH + "?alerts=all").content.decode()
