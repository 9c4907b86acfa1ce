"""Alert latency: from the sweep's commit to receipt by 1,000 connected WebSocket clients
(issue 3, docs/architecture.md: the path of an alert). Goal on Redis: p99 ≤ 250 ms.

The data: 1,000 people, each the assignee of one accepted case (built through the
service), each with a token for the socket. Each case's investigation clock is set to a
warned state, so the step the sweep takes is the red card, which goes out at once
whatever the hour (a yellow card outside office hours would wait for the morning). Its
recipients are the township's officer, the lead department's liaison and the assignee;
only the assignees listen, one socket each.

Redis: two uvicorn servers that only serve (SWEEP_INTERVAL=0), 500 clients on each, and
the sweep in this process on the same Redis, so its pushes cross processes as in the
scaled set-up. The sweep commits in batches (500 deadlines, 1,500 notifications) and pushes
after each commit; t0 is taken there, as the batch's push begins, and the latency of an
alert is its receipt time minus the t0 of its batch.

In-memory: the layer reaches only its own process, so the sweep must run inside the one
server (SWEEP_INTERVAL=1, the embedded set-up of `make run`) and its commit time cannot be
seen from here without changing product code. Two honest stand-ins are reported instead:
`from_due`, from the moment the deadlines come due to receipt, which includes up to a
second of waiting for the sweep's next tick and the whole sweep; and `from_sweep_start`,
from the sweep's own clock reading (Notification.created_at is the `now` the sweep read
when it began) to receipt, which includes the sweep's database work but not the wait.
Both are upper bounds of commit-to-receipt.

The clients run in a child process of their own (`--clients`), so neither the sweep here
nor the servers share an event loop or a GIL with them. They do not acknowledge: an ack
is a database write, and it would compete with the sweep being measured.

Needs Redis at BENCH_REDIS_URL's host (database 12 by default, flushed first); without it
the Redis figures are skipped. Run by `python -m tests.bench` once per database; on SQLite,
the embedded set-up, only the in-memory variant runs (see `main`).
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.bench.support import START_TIMEOUT, percentile, raise_open_files, reachable, serve, stop, test_database
from tests.servers import HOST, PROJECT_ROOT, child_database_url

CLIENTS = int(os.environ.get("BENCH_ALERT_CLIENTS", "1000"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
# Connections opened at once by the client process: enough to connect 1,000 in seconds,
# few enough that the servers' database pools and the backlog queries keep up.
CONNECT_CONCURRENCY = 50
# The wait for every alert after the sweep (or the due time); a run takes a few seconds.
COLLECT_TIMEOUT = 60.0
# After the last expected alert, keep listening this long to see duplicates.
GRACE = 1.0


# --- the client process ----------------------------------------------------------------


async def listen(targets: list[tuple[str, int]], level: str) -> dict[str, Any]:
    """Connect every target, report READY, then collect the wall-clock receipt time of
    each user's first alert of `level`, and count any further ones (duplicates)."""
    from websockets.asyncio.client import ClientConnection, connect

    sockets: dict[int, ClientConnection] = {}
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failed: list[str] = []

    async def open_one(url: str, user: int) -> None:
        async with gate:
            try:
                # No compression and no pings: the client's own CPU on this shared machine
                # would otherwise be counted in the servers' latency.
                ws = await connect(url, compression=None, ping_interval=None, open_timeout=60, max_size=None)
                first = json.loads(await ws.recv())
                assert first["type"] == "backlog", first
                sockets[user] = ws
            except Exception as exc:  # reported, not raised: the figures say how many
                failed.append(f"{user}: {exc!r}")

    await asyncio.gather(*(open_one(url, user) for url, user in targets))
    received: dict[int, float] = {}
    extra: dict[int, int] = {}
    done = asyncio.Event()

    async def receive(user: int, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                at = time.time()
                message = json.loads(raw)
                if message.get("type") != "alert" or message.get("level") != level:
                    continue
                if user in received:
                    extra[user] = extra.get(user, 0) + 1
                    continue
                received[user] = at
                if len(received) == len(sockets):
                    done.set()
        except Exception:  # a dropped socket shows as a missing receipt
            return

    tasks = [asyncio.create_task(receive(user, ws)) for user, ws in sockets.items()]
    print(f"READY {len(sockets)} {len(failed)}", flush=True)
    try:
        await asyncio.wait_for(done.wait(), COLLECT_TIMEOUT)
        await asyncio.sleep(GRACE)
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets.values()), return_exceptions=True)
    return {"received": received, "duplicates": sum(extra.values()), "failed": failed[:5], "connected": len(sockets)}


def clients_main() -> None:
    config = json.loads(sys.stdin.readline())
    raise_open_files(len(config["targets"]) + 256)
    result = asyncio.run(listen([tuple(t) for t in config["targets"]], config["level"]))
    print("RESULT " + json.dumps(result), flush=True)


# --- the bench process -----------------------------------------------------------------


class Clients:
    """The client process: started with its targets, READY once all are connected."""

    def __init__(self, targets: list[tuple[str, int]], level: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.alerts", "--clients"], cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"targets": targets, "level": level}) + "\n")
        self.process.stdin.close()

    def ready(self) -> tuple[int, int]:
        line = self.line(START_TIMEOUT + 60)
        if not line.startswith("READY"):
            raise RuntimeError(f"client process: {line!r}")
        _, connected, failed = line.split()
        return int(connected), int(failed)

    def result(self) -> dict[str, Any]:
        line = self.line(COLLECT_TIMEOUT + GRACE + 30)
        if not line.startswith("RESULT "):
            raise RuntimeError(f"client process: {line!r}")
        self.process.wait(timeout=30)
        result = json.loads(line[len("RESULT "):])
        result["received"] = {int(k): v for k, v in result["received"].items()}
        return result

    def line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.process.kill()
                raise RuntimeError("client process did not answer in time")
        return self.process.stdout.readline().strip()


@dataclass
class Fixture:
    users: list[int]
    tokens: dict[int, str]
    deadlines: list[int]


def build() -> Fixture:
    """1,000 mediators of 柳林镇, each the assignee of one case accepted through the
    service; their tokens made directly (as the token endpoint would)."""
    from django.contrib.auth import get_user_model

    from cases.models import Membership, Role
    from tests.conftest import build_cast, local, report, tokens_for
    from workflow import services
    from workflow.models import Deadline
    from workflow.refdata import invalidate_all

    invalidate_all()
    cast = build_cast()
    User = get_user_model()
    # Unusable passwords: these people sign in by token only, and hashing 1,000
    # passwords would dominate the set-up.
    people = [User(username=f"tiaojie{i:04d}") for i in range(CLIENTS)]
    for user in people:
        user.set_unusable_password()
    User.objects.bulk_create(people)
    people = list(User.objects.filter(username__startswith="tiaojie").order_by("username"))
    Membership.objects.bulk_create(Membership(user=u, unit=cast.liulin, role=Role.MEDIATOR) for u in people)
    tokens = tokens_for(people)
    deadlines = []
    for i, user in enumerate(people):
        case = report(cast, title=f"基准纠纷{i}", at=local(2026, 3, 2, 9))
        services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                            data={"assignee": user.pk, "lead_department": cast.justice.pk})
        deadlines.append(Deadline.objects.get(case=case, kind="investigation").pk)
    return Fixture([u.pk for u in people], tokens, deadlines)


def arm(fixture: Fixture, due_at: datetime) -> None:
    """Put the investigation clocks in the warned state, due at `due_at`, and clear any
    earlier run's red cards. A direct update: a benchmark's data setup, not a transition."""
    from notifications.models import Notification
    from workflow.models import Deadline

    Notification.objects.filter(deadline_id__in=fixture.deadlines, kind="overdue").delete()
    Deadline.objects.filter(pk__in=fixture.deadlines).update(
        warn_at=due_at - timedelta(days=2), warned_at=due_at - timedelta(days=2), due_at=due_at,
        escalate_at=due_at + timedelta(days=3), breached_at=None, escalated_at=None, next_action_at=due_at)


def report_latency(name: str, suffix: str, latencies: list[float], result: dict[str, Any]) -> None:
    missing = CLIENTS - len(latencies)
    if result["failed"] or result["connected"] < CLIENTS:
        print(f"# {name}: {result['connected']} of {CLIENTS} clients connected; first failures: {result['failed']}")
    if missing:
        print(f"# {name}: {missing} of {CLIENTS} clients received no alert within {COLLECT_TIMEOUT:.0f} s; "
              "the percentiles are over those that did")
    if result["duplicates"]:
        print(f"# {name}: {result['duplicates']} duplicate alerts")
    if latencies:
        print(f"BENCH {name}.p50_ms{suffix} {percentile(latencies, 0.50) * 1000:.0f} ms")
        print(f"BENCH {name}.p99_ms{suffix} {percentile(latencies, 0.99) * 1000:.0f} ms", flush=True)


def run_redis(fixture: Fixture, log_dir: Path, suffix: str) -> None:
    """Two servers on Redis; the sweep here, timed from its commit."""
    import redis

    import notifications.services
    from workflow.sweep import sweep

    redis.Redis.from_url(REDIS_URL).flushdb()
    arm(fixture, datetime.now(UTC) - timedelta(minutes=1))
    url = child_database_url()
    servers = [serve(f"redis-{n}", url, log_dir, REDIS_URL=REDIS_URL, SWEEP_INTERVAL="0") for n in range(2)]
    try:
        ports = [server.port for server in servers]
        targets = [(f"ws://{HOST}:{ports[i % 2]}/ws/alerts/?token={fixture.tokens[u]}", u)
                   for i, u in enumerate(fixture.users)]
        clients = Clients(targets, "overdue")
        clients.ready()
        time.sleep(1.0)  # let the servers' connection bursts settle
        t0: dict[int, float] = {}
        pushing = [0.0]
        real_push = notifications.services.push

        def timed_push(rows: list[Any]) -> None:
            # Called by on_commit: the batch's marks and notifications are committed.
            start = time.time()
            for row in rows:
                t0.setdefault(row.user_id, start)
            real_push(rows)
            pushing[0] += time.time() - start

        notifications.services.push = timed_push
        try:
            swept = sweep()
        finally:
            notifications.services.push = real_push
        result = clients.result()
        latencies = [at - t0[user] for user, at in result["received"].items()]
        print(f"# redis: {swept}; {len(servers)} servers, pushes took {pushing[0] * 1000:.0f} ms in all", flush=True)
        report_latency("alert.latency.redis", suffix, latencies, result)
    finally:
        stop(servers)


def run_memory(fixture: Fixture, log_dir: Path, suffix: str) -> None:
    """One embedded server sweeping every second; the deadlines come due once the clients
    are connected."""
    from notifications.models import Notification

    arm(fixture, datetime.now(UTC) + timedelta(days=1))
    server = serve("memory", child_database_url(), log_dir, SWEEP_INTERVAL="1")
    try:
        targets = [(f"ws://{HOST}:{server.port}/ws/alerts/?token={fixture.tokens[u]}", u) for u in fixture.users]
        clients = Clients(targets, "overdue")
        clients.ready()
        due = datetime.now(UTC) + timedelta(seconds=2)
        arm(fixture, due)
        result = clients.result()
        started = dict(Notification.objects.filter(deadline_id__in=fixture.deadlines, kind="overdue",
                                                   user_id__in=fixture.users).values_list("user_id", "created_at"))
        received = result["received"]
        report_latency("alert.latency.memory.from_due", suffix, [at - due.timestamp() for at in received.values()],
                       result)
        report_latency("alert.latency.memory.from_sweep_start", suffix,
                       [at - started[user].timestamp() for user, at in received.items()], result)
    finally:
        stop([server])


def main() -> None:
    # Redis serves the scaled set-up, on PostgreSQL; SQLite is the embedded one.
    scaled = urlparse(os.environ.get("DATABASE_URL", "")).scheme.startswith("postgres")
    redis_up = scaled and reachable(REDIS_URL, 6379)
    if redis_up:
        # Before Django reads its settings: the sweep here must push through Redis.
        os.environ["REDIS_URL"] = REDIS_URL
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    raise_open_files(2 * CLIENTS + 256)
    vendor = connection.vendor
    # SQLite is the embedded set-up (one process, in-memory layer): its figure is the
    # in-memory one. Redis serves the scaled set-up, several processes on PostgreSQL;
    # measuring it on SQLite would add minutes to `make bench` for a configuration
    # nobody runs.
    suffix = "" if vendor == "postgresql" else f".{vendor}"
    with test_database("alerts"), tempfile.TemporaryDirectory(prefix="bench-alerts-") as logs:
        start = time.perf_counter()
        fixture = build()
        print(f"# {CLIENTS} users, cases and tokens set up in {time.perf_counter() - start:.0f} s", flush=True)
        if scaled:
            if redis_up:
                run_redis(fixture, Path(logs), suffix)
            else:
                print(f"# alert.latency.redis skipped: Redis at {urlparse(REDIS_URL).netloc} does not answer")
        run_memory(fixture, Path(logs), suffix)
        if redis_up:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()


if __name__ == "__main__":
    if sys.argv[1:] == ["--clients"]:
        clients_main()
    else:
        main()
