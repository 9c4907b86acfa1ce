"""The day of the people who use tiaochu, in Chromium (issue 15): every page of every
role fits the screen, phone or desk; the alert reaches the page one lands on after
logging in; the bell equals the unread count in the database; a new report is news to
the township's officers at once.

Screenshots (var/e2e-screenshots/):
- readme-<page>-<role>-<screen>: the README's pictures (`make screenshots` copies them to
  docs/screenshots/): the first screen of a page as a role sees it, on a phone (390 px)
  and a desk (1366 px): readme-workbench-officer-phone, readme-queue-officer-desktop, …
- alert-on-landing-<screen>: the workbench just after login, the escalation's toast on it.
- report-news-officer: the officer's workbench with the toast of a new report.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    ACCOUNTS,
    COUNTY_SUPERVISOR,
    OFFICER,
    REPORTER,
    Account,
    login,
    shot,
)
from tests.e2e.harness import SCREENS, Pages, Server

VIEWER = Account("ck_viewer", "查看", "柳林镇", "")
LIAISON = Account("lx_sfs", "部门联络员", "柳林司法所", "杨静")
ROLES = {"reporter": REPORTER, "officer": OFFICER, "mediator": ACCOUNTS[2], "supervisor": ACCOUNTS[3],
         "county": COUNTY_SUPERVISOR, "viewer": VIEWER, "liaison": LIAISON}
# The pages whose pictures the README shows, by role.
PICTURED = {("workbench", "officer"), ("intake", "reporter"), ("queue", "officer"), ("case", "officer"),
            ("board", "supervisor"), ("meeting", "officer"), ("returns", "reporter"), ("dashboard", "county")}


def menu_paths(page: Page) -> list[str]:
    """The pages the menu offers this person, and one case they may see."""
    paths = page.evaluate("""() => Array.from(new Set(Array.from(document.querySelectorAll('a[href^="/desk/"]'))
        .map(a => new URL(a.href).pathname)))""")
    pages = sorted({p for p in paths if re.fullmatch(r"/desk/[a-z]+/", p)})
    case = next((p for p in paths if re.fullmatch(r"/desk/case/\d+/", p)), None)
    return pages + ([case] if case else [])


def overflow(page: Page, width: int) -> list[str]:
    """What reaches past the screen's right edge: nothing on a page that fits."""
    return page.evaluate("""width => document.documentElement.scrollWidth <= width ? [] :
        Array.from(document.querySelectorAll('body *')).filter(e => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && r.right > width + 1 && getComputedStyle(e).position !== 'fixed';
        }).slice(0, 8).map(e => `${e.tagName.toLowerCase()}.${e.className} → ${Math.round(e.getBoundingClientRect().right)} px`)""",
                         width)


@pytest.mark.parametrize("screen", ["phone", "desktop", "phone-360", "phone-414"])
def test_every_page_of_every_role_fits_the_screen(new_page: Pages, screen: str) -> None:
    width = SCREENS[screen]["viewport"]["width"]
    seen, wide = 0, {}
    for role, account in ROLES.items():
        page = login(new_page(screen), account)
        for path in menu_paths(page):
            page.goto(path)
            expect(page.locator(".desk h1").first).to_be_visible()
            seen += 1
            if problems := overflow(page, width):
                wide[f"{role} {path}"] = problems
            name = "case" if path.startswith("/desk/case/") else path.strip("/").split("/")[-1]
            if (name, role) in PICTURED and screen in ("phone", "desktop"):
                shot(page, f"readme-{name}-{role}-{screen}", full_page=False)
        page.context.close()
    assert seen >= 40, f"only {seen} pages were visited"
    assert wide == {}, f"pages wider than the {width} px screen: {json.dumps(wide, ensure_ascii=False, indent=1)}"


def unread_in_database(server: Server, account: Account) -> int:
    return int(server.shell(f"""
from notifications.models import Notification
print(Notification.objects.filter(user__username={account.username!r}, read_at__isnull=True).count())
"""))


def bell(page: Page) -> int:
    return int(page.locator(".alert-counter .count").get_attribute("data-count") or "0")


def bell_matches_database(server: Server, page: Page, account: Account, tries: int = 10) -> int:
    """The page's bell and the database's unread count agree; the count. The server's
    own sweep may alert this person meanwhile, so both are read again until they agree
    (each read of the database is a process of its own, a second or so)."""
    for _ in range(tries):
        shown, stored = bell(page), unread_in_database(server, account)
        if shown == stored and bell(page) == shown:
            return stored
        page.wait_for_timeout(500)
    raise AssertionError(f"the bell shows {bell(page)}, the database holds {unread_in_database(server, account)} unread")


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_alert_reaches_the_page_one_lands_on_after_login(server: Server, new_page: Pages, screen: str) -> None:
    number = json.loads(server.shell("""
import json
from workflow.models import Deadline
# A case none of whose clocks was escalated yet (by the demo, or by this test on another screen).
deadline = (Deadline.objects.open().filter(paused_at__isnull=True, case__responsible_unit__code="QY-LL",
                                          case__stage__in=["investigating", "mediating"])
            .exclude(case__deadlines__escalated_at__isnull=False).select_related("case").order_by("pk").first())
print(json.dumps(deadline.case.number))
"""))
    page = login(new_page(screen), COUNTY_SUPERVISOR)
    # No navigation after the login: the socket opens on the landing page itself.
    expect(page.locator("html[data-alerts=live]")).to_have_count(1)
    bell_matches_database(server, page, COUNTY_SUPERVISOR)
    # The backlog is in the bell and the list, never in toasts.
    expect(page.locator(".toast")).to_have_count(0)
    server.bring_due(number, "escalation", seconds=1)
    toast = page.locator(".toast", has_text=number)
    expect(toast).to_be_visible(timeout=15_000)
    expect(page.locator(".countdown").first).not_to_have_text(re.compile(r"^\d{4}-"))  # counting, not a raw date
    bell_matches_database(server, page, COUNTY_SUPERVISOR)
    shot(page, f"alert-on-landing-{screen}")


def test_the_bell_equals_the_unread_count_in_the_database_through_navigation(server: Server, desktop: Page) -> None:
    login(desktop, OFFICER)
    expect(desktop.locator("html[data-alerts=live]")).to_have_count(1)
    assert bell_matches_database(server, desktop, OFFICER) > 0, "the demo officer should have unread alerts"
    expect(desktop.locator(".toast")).to_have_count(0)
    for path in ("/desk/queue/", "/desk/meeting/", "/desk/workbench/"):
        desktop.locator(f'a[href="{path}"]').first.click()
        expect(desktop.locator("h1").first).to_be_visible()
        bell_matches_database(server, desktop, OFFICER)
    # Marked read on the page: the bell follows the database.
    before = bell_matches_database(server, desktop, OFFICER)
    desktop.locator("#alerts form button").first.click()
    expect(desktop.locator(".alert-counter .count")).not_to_have_attribute("data-count", str(before))
    assert bell_matches_database(server, desktop, OFFICER) < before


def test_a_new_report_reaches_the_officer_at_once_and_waits_in_the_awaiting_list(
        server: Server, new_page: Pages) -> None:
    officer = login(new_page("desktop"), OFFICER)
    expect(officer.locator("html[data-alerts=live]")).to_have_count(1)
    waiting = int(officer.locator('.work-count[data-section=awaiting] .figure').inner_text())
    reporter = login(new_page("phone"), REPORTER)
    reporter.goto("/desk/intake/")
    reporter.locator("select[name=kind]").select_option("dispute")
    # A dispute's page shows no petition fields.
    expect(reporter.locator("select[name=petition_type]")).to_be_hidden()
    reporter.locator("select[name=category]").select_option(label="邻里")
    reporter.locator("select[name=source]").select_option("screening")
    reporter.locator("input[name=title]").fill("东湾村两户院墙滴水纠纷")
    reporter.locator("textarea[name=summary]").fill("两户因院墙滴水发生争执。")
    expect(reporter.locator('[data-counter-for="id_summary"]')).to_have_text("12 / 2000")
    reporter.locator("input[name=parties-0-name]").fill("钱大海")
    reporter.locator("select[name=parties-0-role]").select_option("applicant")
    reporter.get_by_role("button", name="登记", exact=True).click()
    expect(reporter.locator("h1 .stage-badge")).to_have_text("已登记")
    number = reporter.locator("h1").inner_text().split()[0]
    toast = officer.locator(".toast", has_text=number)
    expect(toast).to_be_visible(timeout=15_000)
    expect(toast).to_contain_text("待受理")
    shot(officer, "report-news-officer")
    officer.reload()
    expect(officer.locator('.work-count[data-section=awaiting] .figure')).to_have_text(str(waiting + 1))
    # The five nearest are on the workbench; the whole list, the new case with it, in the queue.
    officer.locator("#awaiting a", has_text="在队列中查看全部").click()
    expect(officer.locator("tr[data-case]", has_text=number)).to_be_visible()
    expect(officer.locator("select[name=list] option:checked")).to_have_text("待受理")
