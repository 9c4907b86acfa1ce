"""Issue 4's story in a real browser: a village worker reports a dispute on a phone; the
township officer accepts and assigns it; the mediator mediates and resolves it; a
supervisor with the board open receives a live alert when the server's own sweep finds
a case overdue.

Screenshots (var/e2e-screenshots/):
- intake-phone-errors: the intake form on a phone, sent with a bad phone number: the
  error in Chinese under the field, everything typed kept.
- intake-phone-filled: the form filled in, two parties.
- case-reported-phone: the new case as its reporter sees it (stage 已登记, ID masked).
- workbench-officer: the officer's workbench, nearest deadline first, with cards.
- case-accept-form-officer: the accept form open (lead department, assignee), after the
  officer asked for the parties' full details (a recorded viewing).
- case-accepted-officer: the case after acceptance: 调查核实, timeline, deadlines.
- queue-officer: the queue filtered to 东湾村.
- workbench-mediator: the mediator's workbench with the case under 我的案件.
- case-resolved-mediator: the case after a mediation session and resolution: 已化解,
  lifecycle diagram with the stage marked, session in the record.
- board-supervisor: the county supervisor's 督办 board before the alert.
- board-live-alert: the same board with the live toast and the counter raised.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.browser import COUNTY_SUPERVISOR, MEDIATOR, OFFICER, REPORTER, login, path_pattern, shot
from tests.e2e.harness import Pages, Server

CASE_PAGE = re.compile(r"/desk/case/(\d+)/$")


def id_number(body: str) -> str:
    """A valid resident ID (GB 11643 check digit) from its first 17 digits."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


APPLICANT_ID = id_number("32012219850312761")


def operate(page: Page, name: str, fields: dict[str, str], selects: dict[str, str] | None = None,
            files: dict[str, dict[str, Any]] | None = None) -> None:
    """Open the operation's form on the case page (the way on is shown open), fill it and send it."""
    box = page.locator(f"details[data-operation={name}]")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for field, label in (selects or {}).items():
        box.locator(f"select[name={field}]").select_option(label=label)
    for field, value in fields.items():
        box.locator(f"[name={field}]").fill(value)
    for field, upload in (files or {}).items():
        box.locator(f"input[name={field}]").set_input_files(upload)
    box.locator("button[type=submit]").click()


def stage_of(page: Page) -> Any:
    return page.locator("h1 .stage-badge")


def test_a_dispute_from_the_village_to_resolution(new_page: Pages) -> None:
    # The village worker, on a phone.
    phone = login(new_page("phone"), REPORTER)
    phone.goto("/desk/intake/")
    phone.locator("select[name=kind]").select_option("dispute")
    phone.locator("select[name=category]").select_option(label="邻里")
    phone.locator("select[name=source]").select_option("screening")
    expect(phone.locator("select[name=village] option:checked")).to_have_text("东湾村")
    phone.locator("input[name=title]").fill("东湾村两户宅前排水沟纠纷")
    phone.locator("textarea[name=summary]").fill("两户因宅前排水沟走向发生争执，已有口角，需尽快调处。")
    phone.locator("input[name=people_involved]").fill("2")
    phone.locator("input[name=parties-0-name]").fill("周大成")
    phone.locator("select[name=parties-0-role]").select_option("applicant")
    phone.locator("input[name=parties-0-id_number]").fill(APPLICANT_ID)
    phone.locator("input[name=parties-0-phone]").fill("12345")
    phone.locator("[data-add-party]").click()
    phone.locator("input[name=parties-1-name]").fill("吴小兰")
    phone.locator("select[name=parties-1-role]").select_option("respondent")
    phone.get_by_role("button", name="登记", exact=True).click()
    # Refused: the error under the field, what was typed kept.
    error = phone.locator(".field.has-error", has=phone.locator("input[name=parties-0-phone]"))
    expect(error.locator(".errorlist")).to_contain_text("手机号码")
    expect(phone.locator("input[name=title]")).to_have_value("东湾村两户宅前排水沟纠纷")
    expect(phone.locator("input[name=parties-1-name]")).to_have_value("吴小兰")
    shot(phone, "intake-phone-errors")
    phone.locator("input[name=parties-0-phone]").fill("13912345678")
    shot(phone, "intake-phone-filled")
    phone.get_by_role("button", name="登记", exact=True).click()
    expect(phone).to_have_url(CASE_PAGE)
    case_url = re.sub(r"^[a-z]+://[^/]+", "", phone.url)
    expect(stage_of(phone)).to_have_text("已登记")
    number = phone.locator("h1").inner_text().split()[0]
    expect(phone.locator(".parties")).not_to_contain_text(APPLICANT_ID)  # masked for the reporter
    shot(phone, "case-reported-phone")

    # The township officer accepts it, names the lead department and the mediator.
    desk = login(new_page("desktop"), OFFICER)
    expect(desk.locator("table.case-list").first).to_be_visible()
    shot(desk, "workbench-officer")
    desk.goto(case_url)
    expect(desk.locator(".parties")).not_to_contain_text(APPLICANT_ID)  # masked until asked for
    desk.get_by_role("button", name="查看完整信息").click()  # the officer may; the viewing is recorded
    expect(desk.locator(".parties")).to_contain_text(APPLICANT_ID)
    desk.goto(case_url)
    box = desk.locator("details[data-operation=accept]")
    expect(box).to_have_attribute("open", "")  # the way on: first, and open
    box.locator("select[name=lead_department]").select_option(label="柳林司法所")
    box.locator("select[name=assignee]").select_option(label=f"{MEDIATOR.name}（{MEDIATOR.username}）")
    shot(desk, "case-accept-form-officer")
    box.locator("button[type=submit]").click()
    expect(stage_of(desk)).to_have_text("调查核实")
    expect(desk.locator("[data-event=accept]")).to_contain_text(MEDIATOR.name)
    expect(desk.locator("tr[data-deadline=investigation]")).to_be_visible()
    shot(desk, "case-accepted-officer")
    desk.goto("/desk/queue/")
    desk.locator("select[name=village]").select_option(label="东湾村")
    desk.get_by_role("button", name="筛选").click()
    expect(desk.locator(f"tr[data-case] >> text={number}")).to_be_visible()
    shot(desk, "queue-officer")

    # The mediator finds it on the workbench, mediates and resolves it.
    mediator = login(new_page("desktop"), MEDIATOR)
    mine = mediator.locator(".desk-card", has=mediator.get_by_role("heading", name="我的案件"))
    expect(mine).to_contain_text(number)
    shot(mediator, "workbench-mediator")
    mine.get_by_role("link", name=number).click()
    expect(mediator).to_have_url(path_pattern(case_url))
    operate(mediator, "start_mediation", {"findings": "现场查看，排水沟改道影响邻户，双方同意调解。"})
    expect(stage_of(mediator)).to_have_text("调解中")
    operate(mediator, "record_session", {"held_on": "2026-11-30", "place": "东湾村调解室",
                                         "participants": "王德明、周大成、吴小兰",
                                         "record": "双方同意排水沟沿原路线恢复，费用各半。"})
    expect(mediator.locator(".session")).to_contain_text("东湾村调解室")
    # A written agreement is sent with its signed document (issue 15).
    operate(mediator, "resolve", {"summary": "达成书面调解协议，排水沟恢复原线路。"},
            selects={"outcome": "达成书面调解协议"},
            files={"agreement": {"name": "调解协议书.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"}})
    expect(stage_of(mediator)).to_have_text("已化解")
    expect(mediator.locator('svg.lifecycle [data-stage="resolved"].current')).to_have_count(1)
    shot(mediator, "case-resolved-mediator")


def test_a_supervisor_with_the_board_open_receives_a_live_alert(server: Server, desktop: Page) -> None:
    number = json.loads(server.shell("""
import json
from workflow.models import Deadline
deadline = (Deadline.objects.open().filter(paused_at__isnull=True, escalated_at__isnull=True,
                                          case__responsible_unit__code="QY-LL", case__stage="investigating")
            .select_related("case").order_by("-pk").first())
print(json.dumps(deadline.case.number))
"""))
    login(desktop, COUNTY_SUPERVISOR)
    desktop.goto("/desk/board/")
    expect(desktop.locator("h1")).to_have_text("督办看板")
    expect(desktop.locator("html[data-alerts=live]")).to_have_count(1)  # the socket is open
    counter = desktop.locator(".alert-counter .count")
    before = int(counter.get_attribute("data-count") or "0")
    shot(desktop, "board-supervisor")
    server.bring_due(number, "escalation", seconds=1)
    toast = desktop.locator(".toast", has_text=number)
    expect(toast).to_be_visible(timeout=15_000)
    expect(counter).to_have_attribute("data-count", str(before + 1))
    shot(desktop, "board-live-alert")
    desktop.reload()
    expect(desktop.locator("tr[data-case]", has_text=number)).to_be_visible()
