"""The browser set-up works end to end: the login page in Chinese on both screens, a
refused and an accepted login, and the server's own sweep reaching a browser's socket.

Screenshots: login-desktop, login-phone (the login page), login-wrong-password (the form
back with its error), login-officer-workbench (where the officer lands)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.e2e.browser import LOGIN_PATH, OFFICER, WORKBENCH_PATH, login, path_pattern, shot, submit_login
from tests.e2e.harness import Pages, Server


def invalid_login_message() -> str:
    """Django's refusal as the server words it under zh-hans (our catalogue included)."""
    with translation.override("zh-hans"):
        username = get_user_model()._meta.get_field("username").verbose_name
        return str(AuthenticationForm.error_messages["invalid_login"]) % {"username": username}


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_login_page_is_tiaochus_own_in_chinese(new_page: Pages, screen: str) -> None:
    page = new_page(screen)
    page.goto(LOGIN_PATH)
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.locator("body")).to_contain_text("调处")
    expect(page.locator("body")).not_to_contain_text("Viewflow Demo")
    shot(page, f"login-{screen}")


def test_a_wrong_password_brings_the_form_back_with_the_error_and_the_username(desktop: Page) -> None:
    submit_login(desktop, OFFICER, "not-the-password")
    expect(desktop.get_by_text(invalid_login_message()).first).to_be_visible()
    expect(desktop).to_have_url(path_pattern(LOGIN_PATH))
    expect(desktop.locator("input[name=username]")).to_have_value(OFFICER.username)
    shot(desktop, "login-wrong-password")


def test_the_officer_logs_in_and_lands_on_the_workbench(desktop: Page) -> None:
    login(desktop, OFFICER)
    expect(desktop).to_have_url(path_pattern(WORKBENCH_PATH))
    expect(desktop.locator("input[name=password]")).to_have_count(0)
    shot(desktop, "login-officer-workbench")


def test_the_servers_own_sweep_pushes_a_live_alert_into_the_browser(server: Server, desktop: Page) -> None:
    """The path the live alerts on the pages take, without the pages: a change made by
    another process (server.bring_due), the sweep inside the server, the in-memory
    layer, and a socket opened by the browser from the server's origin."""
    picked = json.loads(server.shell(f"""
import json
from django.contrib.auth import get_user_model
from cases import tokens
from workflow.models import Deadline
deadline = (Deadline.objects.open().filter(paused_at__isnull=True, case__responsible_unit__code="QY-LL")
            .select_related("case").order_by("pk").first())
_row, token = tokens.issue(get_user_model().objects.get(username={OFFICER.username!r}), "smoke test")
print(json.dumps({{"case": deadline.case.number, "token": token}}))
"""))
    # Any page of the server's will do: the socket's Origin is what the server checks.
    desktop.goto(LOGIN_PATH)
    socket_url = server.url.replace("http://", "ws://") + f"/ws/alerts/?token={picked['token']}"
    desktop.evaluate("""url => new Promise((opened, failed) => {
        window.received = [];
        const socket = new WebSocket(url);
        socket.onmessage = event => window.received.push(JSON.parse(event.data));
        socket.onopen = () => opened();
        socket.onerror = () => failed(new Error("the alerts socket did not open"));
    })""", socket_url)
    desktop.wait_for_function("() => window.received.some(m => m.type === 'backlog')")
    # Moved only once the socket listens, so the alert comes as a live push.
    moved = server.bring_due(picked["case"], "overdue", seconds=1)
    desktop.wait_for_function(
        "ids => window.received.some(m => m.type === 'alert' && m.level === 'overdue' && ids.includes(m.deadline))",
        arg=moved, timeout=15_000,
    )
    alerts = desktop.evaluate("ids => window.received.filter(m => m.type === 'alert' && ids.includes(m.deadline))",
                              moved)
    assert {alert["case_number"] for alert in alerts} == {picked["case"]}
