"""`make run` end to end: a real uvicorn process with `--lifespan on` serves the alerts
socket and sweeps deadlines in-process every SWEEP_INTERVAL seconds, on the in-memory
channel layer and without Redis. A deadline passing while the server runs must reach
the lead department's liaison as a live WebSocket push within seconds, and nobody
outside the case hears of it.

Runs on whatever database the suite runs on: the server process is pointed at the test
database (tests/servers.py starts and stops it)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from websockets.sync.client import ClientConnection, connect

from notifications.models import Notification
from tests.conftest import Cast, build_cast, report, token_for
from tests.servers import alerts_url, child_env, free_port, serve, stop, wait_for_port
from workflow import services
from workflow.models import Deadline

# The server is another process: it sees only what this test has committed. The
# serialized rollback restores the seeded calendar and rules for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

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
    tokens = {user.username: token_for(user) for user in (cast.lena, cast.hans)}

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

    # The tokens came in the URL (?token=): the server's log shows neither.
    log = server.log.read_text(errors="replace")
    assert "/ws/alerts/?token=…" in log and not any(token in log for token in tokens.values())
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
