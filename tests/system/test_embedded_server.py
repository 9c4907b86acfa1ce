"""`make run` end to end: a real uvicorn process with `--lifespan on` serves the alerts
socket and sweeps deadlines in-process every SWEEP_INTERVAL seconds, on the in-memory
channel layer and without Redis. A deadline passing while the server runs must reach
the lead department's liaison as a live WebSocket push within seconds, and nobody
outside the case hears of it.

Runs on whatever database the suite runs on: the server process is pointed at the test
database. The helpers for starting and stopping child processes are shared with
tests/system/test_multiprocess.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from websockets.sync.client import ClientConnection, connect

from notifications.models import Notification
from tests.conftest import Cast, build_cast, report
from workflow import services
from workflow.models import Deadline

# The server is another process: it sees only what this test has committed. The
# serialized rollback restores the seeded calendar and rules for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
# Seconds a child process is given to start listening: Django's start-up plus migrations
# check under a loaded CI machine.
START_TIMEOUT = 20.0


# --- child processes (also used by tests/system/test_multiprocess.py) ---------------------------


def free_port() -> int:
    """A port nobody listens on now. Another program could take it before the server
    binds it; on a test machine that is rare enough, and the start-up check reports it."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def child_database_url() -> str:
    """The database this test runs on, as a DATABASE_URL for a child process: during the
    run, connection.settings_dict names the test database, not the configured one."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        # sqlite:/// followed by an absolute path: sqlite:////abs/path.
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    if connection.vendor == "postgresql":
        auth = quote(settings["USER"] or "", safe="")
        if settings["PASSWORD"]:
            auth += ":" + quote(settings["PASSWORD"], safe="")
        host = (settings["HOST"] or "localhost") + (f":{settings['PORT']}" if settings["PORT"] else "")
        return f"postgres://{auth}{'@' if auth else ''}{host}/{quote(settings['NAME'])}"
    raise NotImplementedError(f"no DATABASE_URL for {connection.vendor}")


def child_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a server or sweeper: the test database, production-like
    settings, and its own var/ directory so it generates its own secret key. Without
    REDIS_URL it uses the in-memory channel layer; callers add one to use Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(
        DATABASE_URL=child_database_url(),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        TIAOCHU_VAR_DIR=str(var_dir),
        # The sweep logs what it did at INFO; the log is printed when a test fails.
        LOG_LEVEL="INFO",
        # Unbuffered, so the log holds everything up to a SIGTERM.
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Child:
    """Start a child in the project root, its stdout and stderr in one log file (a file,
    not a pipe, so a chatty child never blocks on a full pipe)."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Child(name, process, log)


def serve(name: str, port: int, env: dict[str, str], log_dir: Path) -> Child:
    """The server as `make run` starts it: uvicorn with the ASGI lifespan on, which is
    what starts the in-process sweep when SWEEP_INTERVAL > 0."""
    return spawn(
        name,
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", HOST, "--port", str(port),
         "--lifespan", "on", "--timeout-graceful-shutdown", "2"],
        env,
        log_dir,
    )


def wait_for_port(child: Child, port: int, timeout: float = START_TIMEOUT) -> None:
    """Return once `port` accepts connections; with --lifespan on, uvicorn listens only
    after the lifespan startup (the sweep task) has completed."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if child.process.poll() is not None:
            pytest.fail(f"{child.name} exited with {child.process.returncode} before listening:\n{child.tail()}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{child.name} did not listen on {port} within {timeout} s:\n{child.tail()}")


def stop(children: Iterable[Child]) -> None:
    """Terminate every child, kill those that linger, and print each log's tail. pytest
    shows printed output only for a failing test, which is when the logs are wanted."""
    children = list(children)
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    for child in children:
        try:
            child.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
    for child in children:
        print(f"----- {child.name} (exit {child.process.returncode}) -----\n{child.tail()}")


def alerts_url(port: int, token: str) -> str:
    return f"ws://{HOST}:{port}/ws/alerts/?token={token}"


# --- the case data ---------------------------------------------------------------------


def accepted_case(cast: Cast, *, lead: Any, assignee: Any, at: datetime) -> Any:
    """A dispute of 东湾村 accepted by olga, with its investigation deadline open."""
    case = report(cast, at=at)
    return services.transition(case, "accept", actor=cast.olga, at=at,
                               data={"assignee": assignee.pk, "lead_department": lead.pk})


def bring_overdue_step_near(deadline_ids: Iterable[int], now: datetime, seconds: float) -> None:
    """Stands in for waiting days: the warning has been given already, the due time comes
    `seconds` from `now`, the escalation a day later. Only the overdue step is left to
    come, and it does not depend on office hours (a warning at night would wait for the
    morning), so the test behaves the same at any hour."""
    due = now + timedelta(seconds=seconds)
    Deadline.objects.filter(pk__in=list(deadline_ids)).update(
        warn_at=now - timedelta(hours=1), warned_at=now - timedelta(hours=1),
        due_at=due, escalate_at=now + timedelta(days=1), next_action_at=due,
    )


# --- the test --------------------------------------------------------------------------


def received_backlog(socket_: ClientConnection) -> list[dict[str, Any]]:
    message = json.loads(socket_.recv(timeout=10))
    assert message["type"] == "backlog", message
    return message["alerts"]


def listen(sockets: dict[str, ClientConnection], done: Callable[[dict[str, list[dict[str, Any]]]], bool],
           timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Everything the sockets receive until done(received) holds or `timeout` passes."""
    received: dict[str, list[dict[str, Any]]] = {name: [] for name in sockets}
    give_up = time.monotonic() + timeout
    while not done(received) and time.monotonic() < give_up:
        for name, socket_ in sockets.items():
            try:
                received[name].append(json.loads(socket_.recv(timeout=0.05)))
            except TimeoutError:
                pass
    return received


def overdue_push(messages: list[dict[str, Any]], deadline_id: int) -> dict[str, Any] | None:
    return next((m for m in messages if m.get("type") == "alert" and m.get("level") == "overdue"
                 and m.get("deadline") == deadline_id), None)


def test_make_run_pushes_a_live_alert_within_seconds_of_a_deadline_passing(tmp_path: Path) -> None:
    cast = build_cast()
    now = timezone.now()
    cases = [accepted_case(cast, lead=cast.justice, assignee=cast.mia, at=now) for _ in range(3)]
    moved = Deadline.objects.open().get(case=cases[0])
    # lena is the liaison of the lead department; hans is of another department.
    tokens = {user.username: Token.objects.create(user=user).key for user in (cast.lena, cast.hans)}

    port = free_port()
    server = serve("uvicorn", port, child_env(tmp_path / "var", SWEEP_INTERVAL="1"), tmp_path)
    try:
        wait_for_port(server, port)
        with connect(alerts_url(port, tokens["lena"])) as lena, connect(alerts_url(port, tokens["hans"])) as hans:
            # Neither has anything unread yet: accepting notified only the assignee.
            assert received_backlog(lena) == []
            assert received_backlog(hans) == []
            # Moved only now that both listen, so the alert must come as a live push
            # however long the server took to start (a slow start would otherwise turn
            # it into a backlog entry).
            bring_overdue_step_near([moved.pk], timezone.now(), seconds=2)
            due = time.monotonic() + 2
            got = listen({"lena": lena, "hans": hans},
                         lambda r: overdue_push(r["lena"], moved.pk) is not None, timeout=15)
            arrived = time.monotonic()
            # hans keeps listening a little longer: an alert for him would come in the
            # same sweep as lena's.
            got["hans"] += listen({"hans": hans}, lambda r: False, timeout=1)["hans"]
    finally:
        stop([server])

    alert = overdue_push(got["lena"], moved.pk)
    assert alert is not None, f"no overdue push for deadline {moved.pk} within 15 s; lena got {got['lena']}"
    print(f"overdue push {arrived - due:.2f} s after the due time")
    # Within seconds: the due time, at most one sweep interval, and the push.
    assert arrived - due < 5
    row = Notification.objects.select_related("deadline").get(pk=alert["id"])
    assert (row.user_id, row.kind, row.level, row.deadline_id) == (cast.lena.pk, "overdue", "overdue", moved.pk)
    assert (alert["case"], alert["case_number"]) == (cases[0].pk, cases[0].number)
    assert got["hans"] == [], "hans of 县人社局 is not concerned with a case led by 柳林司法所"
    # Only the moved deadline came due; the other cases' clocks are untouched.
    assert set(Notification.objects.filter(kind="overdue").values_list("deadline", flat=True)) == {moved.pk}
    moved.refresh_from_db()
    assert moved.breached_at is not None
