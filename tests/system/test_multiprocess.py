"""The scaled set-up of docs/architecture.md (the path of an alert), as processes: two uvicorn servers that only serve
(SWEEP_INTERVAL=0) and two `sweep_deadlines --loop` processes, on PostgreSQL and Redis.
200 deadlines come due while WebSocket clients of several departments listen, spread
over both servers. Every concerned client must receive each of its alerts exactly once,
counting the backlog and the live pushes, and nobody may receive another's.

Runs in the PostgreSQL pass only (SQLite has no SKIP LOCKED and is the embedded
set-up, covered by tests/system/test_embedded_server.py). Needs Redis at 127.0.0.1:6379:
skipped without it, except under CI=true, where that is a failure."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect

from cases.models import CaseEvent
from notifications.models import Notification
from tests.conftest import build_cast, token_for
from tests.servers import Child, alerts_url, child_env, free_port, serve, spawn, stop, wait_for_port
from tests.system.test_embedded_server import accepted_case, bring_overdue_step_near
from workflow.models import Deadline

# The servers and sweepers are other processes: they see only committed data. The
# serialized rollback restores the seeded calendar and rules for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# A Redis database of this test's own, flushed before it starts: nothing else's groups
# or channels interfere, and nothing of a previous run lingers.
REDIS_URL = "redis://127.0.0.1:6379/13"
CASES = 200
# (lead department, assignee), in turn over the cases. pete and hans are assignees in
# their own departments, where they are also the liaison: one notification each, not two.
ASSIGNMENTS = [("justice", "mia"), ("police", "pete"), ("labour_bureau", "mia"), ("labour_bureau", "hans")]
LIAISONS = {"justice": "lena", "police": "pete", "labour_bureau": "hans"}
# The due times are spread over this many groups, STAGGER seconds apart, so the sweepers
# meet the deadlines over several rounds and both of them take some.
GROUPS, STAGGER, FIRST_DUE = 10, 0.3, 2.0
# Give up collecting after this long; a pass takes a few seconds.
COLLECT_TIMEOUT = 40.0
# After every client has what it expects, listen this much longer for duplicates.
GRACE = 1.5


@dataclass
class Listener:
    """One WebSocket client: whose it is, which server it is on, and every notification
    id it received, in order, backlog and pushes alike (a list: a duplicate must show)."""

    user: str
    server: str
    socket: ClientConnection | None = None
    ids: list[int] = field(default_factory=list)
    backlog: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def take(self, raw: str | bytes) -> None:
        message = json.loads(raw)
        if message["type"] == "backlog":
            self.ids += [alert["id"] for alert in message["alerts"]]
            self.backlog = len(message["alerts"])
        elif message["type"] == "alert":
            self.ids.append(message["id"])
        else:
            self.errors.append(message)

    @property
    def name(self) -> str:
        return f"{self.user}@{self.server}"


def redis_or_skip() -> None:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5) as client:
            client.flushdb()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is required under CI=true: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")


def expected_overdue(assignments: list[tuple[str, str]]) -> Counter[str]:
    """Overdue alerts per user, from the set-up alone: each case's officer (olga of 柳林镇,
    the responsible unit), its lead department's liaison and its assignee, once each."""
    per_user: Counter[str] = Counter()
    for lead, assignee in assignments:
        per_user.update({"olga", LIAISONS[lead], assignee})
    return per_user


async def open_socket(listener: Listener, port: int, token: str) -> None:
    listener.socket = await connect(alerts_url(port, token))
    # The first message is the backlog; the consumer sends it before any push.
    listener.take(await asyncio.wait_for(listener.socket.recv(), timeout=10))


async def open_all(listeners: list[Listener], ports: dict[str, int], tokens: dict[str, str]) -> None:
    await asyncio.gather(*(open_socket(listener, ports[listener.server], tokens[listener.user])
                           for listener in listeners))


async def receive(listener: Listener, want: int, give_up: float) -> None:
    """Take messages until the listener holds `want` distinct ids, then GRACE seconds
    more (a duplicate would come late), or until the loop's clock reaches `give_up`."""
    loop = asyncio.get_running_loop()
    assert listener.socket is not None
    grace_ends: float | None = None
    while (now := loop.time()) < (grace_ends if grace_ends is not None else give_up):
        if grace_ends is None and len(set(listener.ids)) >= want:
            grace_ends = min(now + GRACE, give_up)
            continue
        try:
            raw = await asyncio.wait_for(listener.socket.recv(), timeout=(grace_ends or give_up) - now)
        except TimeoutError:
            return
        listener.take(raw)


async def collect(early: list[Listener], late: list[Listener], ports: dict[str, int], tokens: dict[str, str],
                  want: dict[str, int], late_after: float) -> None:
    """Listen on the early sockets while the deadlines come due; `late_after` seconds in,
    open the late ones, which then find part of the alerts in their backlog and the rest
    as pushes, the overlap being the consumer's to drop."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + COLLECT_TIMEOUT

    async def join_late(listener: Listener) -> None:
        await asyncio.sleep(late_after)
        await open_socket(listener, ports[listener.server], tokens[listener.user])
        await receive(listener, want[listener.user], give_up)

    await asyncio.gather(
        *(receive(listener, want[listener.user], give_up) for listener in early),
        *(join_late(listener) for listener in late),
    )


async def close_all(listeners: list[Listener]) -> None:
    await asyncio.gather(*(listener.socket.close() for listener in listeners if listener.socket is not None))


def overdue_reported(children: list[Child]) -> dict[str, int]:
    """The overdue steps each sweeper says it took (`… sweep: N warnings, M overdue …`)."""
    pattern = re.compile(r"sweep: \d+ warnings, (\d+) overdue")
    return {child.name: sum(int(m) for m in pattern.findall(child.log.read_text())) for child in children}


def test_two_servers_and_two_sweepers_deliver_each_alert_once_to_exactly_those_concerned(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")
    redis_or_skip()
    started = time.monotonic()

    cast = build_cast()
    now = timezone.now()
    assignments = [ASSIGNMENTS[i % len(ASSIGNMENTS)] for i in range(CASES)]
    cases = [accepted_case(cast, lead=getattr(cast, lead), assignee=getattr(cast, assignee), at=now)
             for lead, assignee in assignments]
    deadline_ids = list(Deadline.objects.open().filter(case__in=cases).order_by("pk").values_list("pk", flat=True))
    assert len(deadline_ids) == CASES
    overdue = expected_overdue(assignments)
    assert sum(overdue.values()) == 500  # 50 × (3 + 2 + 3 + 2)
    # owen (桃源镇's officer), carl (the county's supervisor: escalations only) and sam
    # (柳林镇's supervisor) are concerned with none of it.
    users = ["olga", "mia", "lena", "pete", "hans", "owen", "carl", "sam"]
    tokens = {name: token_for(getattr(cast, name)) for name in users}
    # What each already has unread (the assignment notices of accepting) comes in the backlog;
    # the news of the reports was read when the cases were accepted.
    before = {name: Notification.objects.filter(user=getattr(cast, name), read_at__isnull=True).count()
              for name in users}
    want = {name: before[name] + overdue[name] for name in users}
    setup_done = time.monotonic()

    # Users on server a, others on b, mia on both; lena and olga also connect to the
    # other server while the deadlines are coming due.
    early = [Listener(u, "a") for u in ("lena", "hans", "mia", "owen", "carl")] + [
        Listener(u, "b") for u in ("pete", "olga", "mia", "sam")]
    late = [Listener("lena", "b"), Listener("olga", "a")]

    env = child_env(tmp_path / "var", REDIS_URL=REDIS_URL, SWEEP_INTERVAL="0")
    ports = {"a": free_port(), "b": free_port()}
    servers = {name: serve(f"server-{name}", port, env, tmp_path) for name, port in ports.items()}
    sweepers = [spawn(f"sweeper-{i}", [sys.executable, "manage.py", "sweep_deadlines", "--loop", "0.5"], env, tmp_path)
                for i in (1, 2)]
    children = [*servers.values(), *sweepers]
    loop = asyncio.new_event_loop()
    try:
        for name, server in servers.items():
            wait_for_port(server, ports[name])
        loop.run_until_complete(open_all(early, ports, tokens))
        listening = time.monotonic()
        # Stands in for waiting days, and is done only now that the processes run and the
        # clients listen: started earlier, a slow start would find the deadlines already
        # swept and test only the backlog. In GROUPS steps STAGGER seconds apart.
        moment = timezone.now()
        for group in range(GROUPS):
            bring_overdue_step_near(deadline_ids[group::GROUPS], moment, seconds=FIRST_DUE + group * STAGGER)
        loop.run_until_complete(collect(early, late, ports, tokens, want,
                                        late_after=FIRST_DUE + GROUPS * STAGGER / 2))
        collected = time.monotonic()
        loop.run_until_complete(close_all(early + late))
        # A sweeper that died on the way (a step taken twice is refused by the unique
        # constraint, which ends the loop) would leave its work to the other unnoticed.
        exited = {child.name: child.process.returncode for child in children if child.process.poll() is not None}
    finally:
        loop.close()
        stop(children)
    late_split = ", ".join(f"{x.name} {x.backlog} + {len(x.ids) - x.backlog}" for x in late)
    print(f"set-up {setup_done - started:.1f} s, start-up {listening - setup_done:.1f} s, "
          f"collection {collected - listening:.1f} s; overdue steps per sweeper: {overdue_reported(sweepers)}; "
          f"late sockets' backlog + pushes: {late_split}")
    assert exited == {}, f"exited during the run: {exited}"

    # The database's account, asserted first: the clients are checked against it.
    breached = Deadline.objects.filter(pk__in=deadline_ids, breached_at__isnull=False).count()
    assert breached == CASES
    rows = Notification.objects.filter(deadline__in=deadline_ids)
    assert not rows.exclude(kind="overdue").exists()
    doubled = rows.values("deadline", "kind", "user").annotate(n=Count("pk")).filter(n__gt=1)
    assert not doubled.exists(), list(doubled[:5])
    per_user = Counter(dict(rows.values_list("user__username").annotate(n=Count("pk"))))
    assert per_user == overdue
    assert CaseEvent.objects.filter(case__in=cases, kind="deadline_overdue").count() == CASES
    # What the sweepers printed adds up to the same: each step was taken by one of them.
    assert sum(overdue_reported(sweepers).values()) == CASES

    # Every client: each of its user's notifications exactly once, and nothing else.
    for listener in early + late:
        rows = Notification.objects.filter(user__username=listener.user)
        mine = set(rows.values_list("pk", flat=True))
        unread = set(rows.filter(read_at__isnull=True).values_list("pk", flat=True))
        got = Counter(listener.ids)
        assert listener.errors == [], (listener.name, listener.errors)
        assert not set(got) - mine, f"{listener.name} received others' notifications {sorted(set(got) - mine)}"
        assert not unread - set(got), f"{listener.name} missed {len(unread - set(got))} of {len(unread)}"
        assert not [i for i, n in got.items() if n > 1], f"{listener.name} received ids twice: " + str(
            sorted(i for i, n in got.items() if n > 1))
    assert all(listener.ids == [] for listener in early if listener.user in ("owen", "carl", "sam"))
