"""The running system and the browser pages a browser test works with; the fixtures
that make them are in tests/e2e/conftest.py."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.browser import shot
from tests.servers import PROJECT_ROOT, Child

# Milliseconds any Playwright action or expectation waits before failing. Pages answer
# in well under a second; this leaves room for a loaded CI machine and a password hash.
TIMEOUT_MS = 10_000
PHONE = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
SCREENS: dict[str, dict] = {
    # A township office's common screen.
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    # A common phone's CSS size; scale 2 keeps the screenshots legible and small.
    "phone": {"viewport": {"width": 390, "height": 844}, **PHONE},
    # The narrowest and the widest of the phones village workers carry.
    "phone-360": {"viewport": {"width": 360, "height": 740}, **PHONE},
    "phone-414": {"viewport": {"width": 414, "height": 896}, **PHONE},
}


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`manage.py ARGS` in the environment `env`; its stdout. A failure fails the test
    with the command's output."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"manage.py {' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class Server:
    """The system under test: one uvicorn process, its own database and var/ directory."""

    url: str
    var_dir: Path
    env: dict[str, str]
    child: Child

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run `manage.py ARGS` on the server's database; its stdout. A failure fails the
        test with the command's output."""
        return manage(self.env, *args, timeout=timeout)

    def shell(self, code: str) -> str:
        """Run Python `code` in `manage.py shell` on the server's database; what it printed.
        Print JSON to hand data back. The server sees the change at once (its next sweep
        included): it is another process on the same database."""
        return self.manage("shell", "-v", "0", "-c", code)

    def bring_due(self, case_number: str, step: str = "overdue", seconds: float = 2.0) -> list[int]:
        """Stand in for days passing: the open deadlines of the case reach the sweep's
        `step` ("overdue": the red card; "escalation": escalated for supervision, to the
        supervisors of the unit above) `seconds` from now, their earlier steps taken
        already. The server's own sweep then alerts, over the live socket, everyone the
        step concerns. Returns the ids of the deadlines moved."""
        if step not in ("overdue", "escalation"):
            raise ValueError(f"step is 'overdue' or 'escalation', not {step!r}")
        moved = json.loads(self.shell(f"""
import json
from datetime import timedelta
from django.utils import timezone
from workflow.models import Deadline
now = timezone.now()
soon, before = now + timedelta(seconds={seconds!r}), now - timedelta(hours=1)
deadlines = Deadline.objects.open().filter(case__number={case_number!r}, paused_at__isnull=True)
# Only clocks that have not taken the step yet: one the demo's sweep already took it for
# (a stalled case escalated at seeding) has its notifications, and cannot take it twice.
deadlines = deadlines.filter(**{{"breached_at__isnull" if {step!r} == "overdue" else "escalated_at__isnull": True}})
ids = list(deadlines.values_list("pk", flat=True))
if {step!r} == "overdue":
    # Warned an hour ago; due soon; the escalation a day later, out of the test's way.
    deadlines.update(warn_at=before, warned_at=before, due_at=soon, breached_at=None,
                     escalate_at=now + timedelta(days=1), escalated_at=None, next_action_at=soon)
else:
    deadlines.update(warn_at=before, warned_at=before, due_at=before, breached_at=before,
                     escalate_at=soon, escalated_at=None, next_action_at=soon)
print(json.dumps(ids))
"""))
        if not moved:
            pytest.fail(f"case {case_number} has no open, running deadline to bring due")
        return moved

    def log_tail(self, lines: int = 60) -> str:
        return self.child.tail(lines)


@dataclass
class Opened:
    """A page a test opened, and what went wrong in it (for a failing test's report)."""

    screen: str
    page: Page
    problems: list[str] = field(default_factory=list)


class Pages:
    """Opens pages, each in a browser context of its own, and closes them all after the
    test."""

    def __init__(self, browser: Browser, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.opened: list[Opened] = []

    def __call__(self, screen: str = "desktop") -> Page:
        if screen not in SCREENS:
            raise ValueError(f"screen is one of {', '.join(SCREENS)}, not {screen!r}")
        context = self.browser.new_context(
            base_url=self.server.url, locale="zh-CN", timezone_id="Asia/Shanghai", **SCREENS[screen],
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        opened = Opened(screen, page)
        page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
        page.on("console", lambda message: opened.problems.append(f"console error: {message.text}")
                if message.type == "error" else None)
        self.opened.append(opened)
        return page

    def problems(self) -> list[str]:
        return [f"[{o.screen} page {i}] {p}" for i, o in enumerate(self.opened, 1) for p in o.problems]

    def close(self, failed_test: str | None) -> None:
        for i, opened in enumerate(self.opened, 1):
            if failed_test is not None and not opened.page.is_closed():
                try:
                    shot(opened.page, f"FAILED-{failed_test}-{i}")
                except Exception as error:  # the page may be what broke
                    print(f"no screenshot of page {i}: {error}")
            opened.page.context.close()
