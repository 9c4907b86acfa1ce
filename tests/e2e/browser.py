"""What a browser test imports: the demo accounts it logs in as, and login() and shot().

The server (tests/e2e/conftest.py) is loaded with `seed_demo`, so these accounts exist,
all with the demo password. Pages navigate with Turbo, which changes the location
without a load event: wait on the URL (path_pattern) or on an element, never on "load".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, expect

from demo.management.commands.seed_demo import DEFAULT_PASSWORD

CHROMIUM = "/usr/bin/chromium"
PASSWORD = DEFAULT_PASSWORD
LOGIN_PATH = "/accounts/login/"
WORKBENCH_PATH = "/desk/workbench/"
# Under var/ (or TIAOCHU_VAR_DIR), never committed: the run's artifacts.
SCREENSHOTS = Path(settings.VAR_DIR) / "e2e-screenshots"


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    unit: str
    name: str

    def __str__(self) -> str:
        return self.username


# One person for each part of the story in issue 4, all of 柳林镇 so that they work on
# the same cases: the village worker reports, the officer accepts and assigns, the
# mediator resolves, the supervisor watches the township.
REPORTER = Account("wg_dongwan", "网格员", "东湾村", "张秀梅")
OFFICER = Account("zzb_li", "经办人", "柳林镇", "李明")
MEDIATOR = Account("tj_wang", "调解员", "柳林镇", "王德明")
SUPERVISOR = Account("zzb_zhuren", "督办领导", "柳林镇", "吴建华")
# The sweep's escalation alerts for a case of 柳林镇 go to the supervisors of the unit
# above it, the county.
COUNTY_SUPERVISOR = Account("xian_ld", "督办领导", "青阳县", "韩振华")
ACCOUNTS = (REPORTER, OFFICER, MEDIATOR, SUPERVISOR, COUNTY_SUPERVISOR)


def path_pattern(path: str) -> re.Pattern[str]:
    """A URL on any host whose path is exactly `path`, with or without a query, for
    expect(page).to_have_url()."""
    return re.compile(rf"^[a-z]+://[^/]+{re.escape(path)}(?:[?#].*)?$")


def submit_login(page: Page, username: str | Account, password: str) -> None:
    """Open the login page, type the credentials and submit, without waiting for the
    outcome (a test of a refused login looks at the form it gets back)."""
    page.goto(LOGIN_PATH)
    page.locator("input[name=username]").fill(str(username))
    field = page.locator("input[name=password]")
    field.fill(password)
    # Enter submits whatever the submit button looks like.
    field.press("Enter")


def login(page: Page, username: str | Account, password: str = PASSWORD) -> Page:
    """Log `page` in (its context keeps the session) and wait for the workbench."""
    submit_login(page, username, password)
    expect(page).to_have_url(path_pattern(WORKBENCH_PATH))
    return page


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A screenshot saved as var/e2e-screenshots/<name>.png, of the whole page or (not
    full_page) of the screen as the user sees it; returns its path. Names are the
    artifacts' names: say what the picture shows (e.g. "intake-phone")."""
    if not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"a screenshot name is letters, digits, '.', '-' and '_': {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # Animations stopped, so a picture never catches a ripple or a slide half-way.
    page.screenshot(path=path, full_page=full_page, animations="disabled")
    return path
