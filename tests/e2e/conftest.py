"""The browser tests' world: one server process for all of them, loaded with the demo
county, and Debian's chromium driven by Playwright, each test in fresh browser contexts.

Fixtures a test asks for:
  server    the running system (Server: url, manage(), shell(), bring_due(), log_tail())
  new_page  new_page("desktop" | "phone") -> a Page in a context of its own (own cookies,
            so one test can have several people logged in at once)
  desktop   a Page on a 1280×800 screen; phone: a Page on a 390×844 touch screen
Both screens are zh-CN in Asia/Shanghai, as the people using tiaochu are. A failing test
gets a screenshot of each of its pages (var/e2e-screenshots/FAILED-*.png), the browser's
errors and the end of the server's log in its report.

Without /usr/bin/chromium these tests are skipped (`make browser` installs it), except
under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.browser import ACCOUNTS, CHROMIUM, LOGIN_PATH, SCREENSHOTS
from tests.e2e.harness import TIMEOUT_MS, Pages, Server, manage
from tests.servers import HOST, free_port, serve, stop, wait_for_port

IN_CI = os.environ.get("CI") == "true"
# Enough for every stage and a queue longer than a page, in a fifth of the time the
# default 300 cases take to seed.
SEED_CASES = 60
# Seconds between the server's own sweeps: a deadline passing shows up in a browser
# within about a second.
SWEEP_INTERVAL = "1"
# The machine's network is closed: without these Chromium keeps trying Google's services
# (sync, component updates, QUIC), each attempt refused. --no-sandbox: CI runs as root.
# Playwright adds its own fresh --user-data-dir for every launch.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- availability ----------------------------------------------------------------------


@pytest.fixture(scope="package", autouse=True)
def _chromium_present() -> None:
    """Before anything starts: a machine without the browser still passes `make test`,
    but CI must not pass by skipping."""
    if os.access(CHROMIUM, os.X_OK):
        return
    reason = f"{CHROMIUM} is not installed; `make browser` installs Debian's chromium and fonts-noto-cjk"
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="package", autouse=True)
def _fresh_screenshots(_chromium_present: None) -> None:
    """The screenshots directory holds this run's pictures only, so none of them can be
    taken for a picture of the current pages when it is from an older run."""
    if SCREENSHOTS.is_dir():
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()


# --- the server ------------------------------------------------------------------------


def server_env(var_dir: Path) -> dict[str, str]:
    """Always a SQLite file of its own in `var_dir`, whatever DATABASE_URL the suite runs
    on: the browser tests exercise pages, sockets and scripts, which behave alike on both
    databases (the rest of the suite checks the queries on PostgreSQL), and a file of its
    own needs no database created and dropped on a server, and can never meet the test
    database that pytest-django empties between tests. No REDIS_URL: the server's sweep
    reaches the browsers through the in-memory layer, as in `make run`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(
        TIAOCHU_VAR_DIR=str(var_dir),
        # As `make run`: in DEBUG the server itself serves the static files (config/asgi.py).
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SWEEP_INTERVAL=SWEEP_INTERVAL,
        # The sweep logs what it did at INFO; the log goes into a failing test's report.
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, _chromium_present: None) -> Iterator[Server]:
    """The system as `make run` starts it, on a free loopback port: migrated, the demo
    county loaded, uvicorn with the lifespan on (the in-process sweep)."""
    var_dir = tmp_path_factory.mktemp("e2e-server")
    env = server_env(var_dir)
    manage(env, "migrate", "-v", "0")
    seeded = manage(env, "seed_demo", "--cases", str(SEED_CASES))
    (var_dir / "seed_demo.log").write_text(seeded)
    usernames = {line.split()[0] for line in seeded.splitlines() if line.startswith("  ") and line.split()}
    missing = [a.username for a in ACCOUNTS if a.username not in usernames]
    if missing:
        pytest.fail(f"seed_demo no longer creates {', '.join(missing)} (tests/e2e/browser.py names them):\n{seeded}")

    port = free_port()
    child = serve("e2e-server", port, env, var_dir)
    running = Server(f"http://{HOST}:{port}", var_dir, env, child)
    try:
        wait_for_port(child, port)
        warm_up(running)
        yield running
    finally:
        stop([child])


def warm_up(server: Server) -> None:
    """One request before the first test, so Django's first-request imports are not paid
    inside a test's timeout. Any HTTP answer will do, an error page included."""
    try:
        urllib.request.urlopen(server.url + LOGIN_PATH, timeout=30).close()
    except urllib.error.HTTPError:
        pass
    except OSError as error:
        pytest.fail(f"the server does not answer HTTP ({error}):\n{server.log_tail()}")


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser(_chromium_present: None) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        try:
            yield launched
        finally:
            launched.close()


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    if report.failed and report.when in ("call", "teardown"):
        funcargs = getattr(item, "funcargs", {})
        if isinstance(pages := funcargs.get("new_page"), Pages) and (problems := pages.problems()):
            report.sections.append(("browser errors", "\n".join(problems)))
        if isinstance(running := funcargs.get("server"), Server):
            report.sections.append(("server log (end)", running.log_tail()))
    return report


@pytest.fixture
def new_page(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Pages]:
    pages = Pages(browser, server)
    yield pages
    call = request.node.stash.get(_REPORTS, {}).get("call")
    failed = re.sub(r"[^\w.-]+", "_", request.node.name) if call is not None and call.failed else None
    pages.close(failed)


@pytest.fixture
def desktop(new_page: Pages) -> Page:
    return new_page("desktop")


@pytest.fixture
def phone(new_page: Pages) -> Page:
    return new_page("phone")
