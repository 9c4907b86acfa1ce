"""Faults survived (issue 7): Redis stopped under a running server, a sweeper killed in
the middle of a run, PostgreSQL restarted under load. Each test starts the processes it
hurts, and the servers it stops are private ones (tests/system/faults_support.py), never the
shared ones on 127.0.0.1. Every wait is a poll with a deadline, every request and socket
has a timeout: a fault that makes something hang fails the test instead of stalling CI.

Which pass runs what. The Redis and sweeper tests run their server or sweeper on the
suite's database, so they run in both passes: what they check (alerts committed before
the push, a killed run's batch rolled back whole, the next run claiming only what is
left) goes through each database's own locking and crash recovery — SQLite's single
writer and journal, PostgreSQL's row locks and SKIP LOCKED. The PostgreSQL restart needs
a cluster of its own whatever the suite runs on, so it runs once, in the PostgreSQL
pass: the SQLite pass is the embedded set-up, which has no database server to lose."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.utils import timezone
from websockets.sync.client import connect

from cases.models import Case, CaseEvent
from notifications.consumers import SYNC_MIN_SECONDS
from notifications.models import Notification
from notifications.services import PUSH_TIMEOUT, notify
from tests.conftest import build_cast, local, report, token_for
from tests.servers import HOST, PROJECT_ROOT, alerts_url, child_env, free_port, serve, spawn, stop, wait_for_port
from tests.system.faults_support import AlertClient, PrivateCluster, PrivateRedis, port_open, request, wait_until
from tests.system.test_embedded_server import accepted_case, bring_overdue_step_near
from workflow.models import Deadline

# The servers and sweepers are other processes: they see only what the test has
# committed. The serialized rollback restores the seeded calendar and rules for the
# tests that follow. (The PostgreSQL restart uses a database of its own, not the suite's.)
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Seconds to wait for anything the system should do on its own (a sweep tick, a push, a
# reconnect); everything is polled, so a pass takes far less.
PATIENCE = 15.0


def ids_of(user: Any, **filters: Any) -> set[int]:
    return set(Notification.objects.filter(user=user, **filters).values_list("pk", flat=True))


def has_all(client: AlertClient, user: Any, **filters: Any) -> bool:
    """The client holds every unread notification of `user` matching `filters`; one read
    already (the news of a report, once the case is taken up) is no socket's to send."""
    return ids_of(user, read_at__isnull=True, **filters) <= set(client.received())


def all_alerted(clients: dict[str, AlertClient], users: dict[str, Any], deadlines: list[int]) -> bool:
    """Every overdue step of `deadlines` taken, and each client holding its alerts of them."""
    return overdue_steps_taken(deadlines) == len(deadlines) and all(
        has_all(clients[name], user, deadline__in=deadlines) for name, user in users.items())


def overdue_steps_taken(deadlines: list[int]) -> int:
    return Deadline.objects.filter(pk__in=deadlines, breached_at__isnull=False).count()


# --- Redis stopped --------------------------------------------------------------------


@committed
def test_with_redis_hung_then_down_the_sweep_and_pages_go_on_and_clients_get_the_backlog_once_it_returns(
    tmp_path: Path,
) -> None:
    """A server sweeping every second (SWEEP_INTERVAL=1) on its own redis-server, with
    three users' sockets open. Redis first hangs (SIGSTOP: connections open, nothing
    answers — a stopped process or a host dropped from the network), then is killed
    (connections refused), then starts again empty. Throughout, the sweep takes its
    steps and commits the alerts, and the pages and the API answer; afterwards each
    client holds each of its notifications exactly once."""
    redis = PrivateRedis(tmp_path)
    cast = build_cast()
    now = timezone.now()
    # olga (the officer), lena (the lead department's liaison) and mia (the assignee)
    # hear of every overdue deadline of these cases.
    cases = [accepted_case(cast, lead=cast.justice, assignee=cast.mia, at=now) for _ in range(10)]
    deadlines = list(Deadline.objects.open().filter(case__in=cases).order_by("pk").values_list("pk", flat=True))
    before, hung, down, after = deadlines[:2], deadlines[2:5], deadlines[5:8], deadlines[8:]
    waiting = report(cast, at=now)  # accepted over the API while Redis hangs
    listeners = {name: getattr(cast, name) for name in ("olga", "lena", "mia")}
    tokens = {name: token_for(user) for name, user in listeners.items()}
    browser = Client()
    browser.force_login(cast.olga)
    session = {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value}

    port = free_port()
    base = f"http://{HOST}:{port}"
    # The test's secret key, so the server accepts the session made here.
    env = child_env(tmp_path / "var", REDIS_URL=redis.url, SWEEP_INTERVAL="1", SECRET_KEY=settings.SECRET_KEY)
    server = None
    clients = {name: AlertClient(port, token, name) for name, token in tokens.items()}

    def pages_answer() -> None:
        for path in ("/desk/workbench/", "/api/v1/notifications/"):
            reply = request("GET", base + path, cookies=session)
            assert reply.status == 200, (path, reply.status, reply.body[:300])

    try:
        redis.start()
        server = serve("uvicorn", port, env, tmp_path)
        wait_for_port(server, port)
        for client in clients.values():
            client.start()
        wait_until(lambda: all(c.backlogs for c in clients.values()), PATIENCE, "every client connected")

        # Redis up: the overdue alerts arrive as live pushes.
        bring_overdue_step_near(before, timezone.now(), seconds=0.5)
        wait_until(lambda: all_alerted(clients, listeners, before), PATIENCE, "the alerts pushed while Redis is up")

        redis.freeze()
        # Steps come due before and after the first push that cannot get through: the
        # sweep must not wait on it.
        moment = timezone.now()
        bring_overdue_step_near(hung[:1], moment, seconds=0.5)
        bring_overdue_step_near(hung[1:], moment, seconds=3)
        wait_until(lambda: overdue_steps_taken(hung) == len(hung), PATIENCE, "the sweep going on with Redis hung")
        pages_answer()
        # A write notifies mia after its commit; its push is given up, the request answers.
        reply = request("POST", f"{base}/api/v1/cases/{waiting.pk}/transitions/accept/", token=tokens["olga"],
                        data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
        assert reply.status == 200, reply.body[:300]

        redis.kill()
        bring_overdue_step_near(down, timezone.now(), seconds=0.5)
        wait_until(lambda: overdue_steps_taken(down) == len(down), PATIENCE, "the sweep going on with Redis down")
        pages_answer()
        for name, client in clients.items():
            assert not ids_of(listeners[name], deadline__in=hung + down) & set(client.received()), (
                f"{name} received a push through a Redis that was not answering")

        redis.start()
        returned = time.monotonic()
        # Redis back, empty (no groups, no messages): every client reconnects and takes
        # what it missed from the backlog.
        wait_until(lambda: all(has_all(clients[n], u) for n, u in listeners.items()), PATIENCE,
                   "every client holding every one of its notifications after Redis returned")
        recovered_in = time.monotonic() - returned
        # And live pushes flow again: the server's pools reconnected, the consumers rejoined.
        bring_overdue_step_near(after, timezone.now(), seconds=0.5)
        wait_until(lambda: all_alerted(clients, listeners, after), PATIENCE, "the alerts pushed after Redis returned")
        # A duplicate would come with the next sweep tick or two: listen that long more.
        time.sleep(2)
        assert server.process.poll() is None, "the server died"
    finally:
        for client in clients.values():
            client.close()
        if server is not None:
            stop([server])
        redis.stop()
    print(f"the clients had their backlog {recovered_in:.1f} s after Redis returned; "
          + ", ".join(f"{c.user}: {c.backlogs} connections, {len(c.failures)} failed" for c in clients.values()))

    # The database: each step once, each recipient once.
    assert overdue_steps_taken(deadlines) == len(deadlines)
    events = Counter(CaseEvent.objects.filter(kind="deadline_overdue").values_list("data__deadline", flat=True))
    assert events == Counter({d: 1 for d in deadlines})
    per_deadline = Notification.objects.filter(deadline__in=deadlines, kind="overdue").values("deadline").annotate(
        n=Count("pk"), users=Count("user", distinct=True))
    assert {(row["deadline"], row["n"], row["users"]) for row in per_deadline} == {(d, 3, 3) for d in deadlines}
    assert Case.objects.get(pk=waiting.pk).stage == "investigating"
    assert Notification.objects.filter(case=waiting, user=cast.mia, kind="accept").count() == 1
    # The clients: each of their notifications exactly once, and nobody else's.
    for name, client in clients.items():
        received = Counter(client.received())
        assert set(received) - ids_of(listeners[name]) == set(), f"{name} received others' notifications"
        unread = ids_of(listeners[name], read_at__isnull=True)
        assert unread - set(received) == set(), f"{name} missed notifications"
        assert [i for i, n in received.items() if n > 1] == [] and client.doubles == [], f"{name} received ids twice"
        assert client.errors == [], (name, client.errors)
        assert client.backlogs >= 2, f"{name} never reconnected"


@committed
def test_an_alert_whose_push_a_hung_redis_lost_reaches_the_open_socket_on_its_next_sync(
    tmp_path: Path, settings: Any,
) -> None:
    """A server on its own redis-server, lena's socket open. Redis hangs (SIGSTOP) while a
    notification for her is committed and pushed from another process, as the sweeper
    does: the push gives up after PUSH_TIMEOUT without raising. Redis answers again
    (SIGCONT) with the socket still open, never reconnected: nothing comes by itself,
    and her next sync brings the alert, once."""
    redis = PrivateRedis(tmp_path)
    cast = build_cast()
    case = report(cast)
    token = token_for(cast.lena)
    # This process pushes through the private Redis, as a sweeper beside the server would.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [{"address": redis.url, "socket_timeout": None}]}}}
    channel_layers.backends.clear()
    port = free_port()
    server = None

    def alert_for_lena() -> Notification:
        with transaction.atomic():
            [row] = notify([cast.lena], kind="overdue", level=Notification.Level.OVERDUE,
                           text=f"{case.number} 受理期限已逾期", at=timezone.now(), case=case)
        return row

    def reply(socket_: Any) -> dict[str, Any]:
        return json.loads(socket_.recv(timeout=PATIENCE))

    try:
        redis.start()
        server = serve("uvicorn", port, child_env(tmp_path / "var", REDIS_URL=redis.url, SWEEP_INTERVAL="0"),
                       tmp_path)
        wait_for_port(server, port)
        with connect(alerts_url(port, token), open_timeout=5, close_timeout=1) as lena:
            assert reply(lena) == {"type": "backlog", "alerts": [], "unread": 0}
            # The server counts the backlog on connect as a sync.
            may_sync_at = time.monotonic() + SYNC_MIN_SECONDS

            redis.freeze()
            started = time.monotonic()
            lost = alert_for_lena()  # commits, then pushes; raising would fail the test here
            pushing = time.monotonic() - started
            assert pushing < PUSH_TIMEOUT + 2, f"the push held the commit back {pushing:.1f} s"
            assert Notification.objects.filter(pk=lost.pk, delivered_at__isnull=True).exists()
            redis.resume()

            # Until the socket may sync, nothing comes by itself: the push was lost.
            with pytest.raises(TimeoutError):
                lena.recv(timeout=max(0.0, may_sync_at - time.monotonic()) + 0.2)
            lena.send(json.dumps({"type": "sync", "after": 0}))
            assert [alert["id"] for alert in reply(lena)["alerts"]] == [lost.pk]
            lena.send(json.dumps({"type": "ack", "id": lost.pk}))
            assert reply(lena) == {"type": "acked", "id": lost.pk}

            # And live pushes reach the same socket again.
            live = alert_for_lena()
            assert reply(lena)["id"] == live.pk
            with pytest.raises(TimeoutError):
                lena.recv(timeout=0.5)
        assert server.process.poll() is None, "the server died"
    finally:
        if server is not None:
            stop([server])
        redis.stop()
        channel_layers.backends.clear()

    assert Notification.objects.get(pk=lost.pk).delivered_at is not None
    assert list(Notification.objects.filter(user=cast.lena).values_list("pk", flat=True).order_by("pk")) == [
        lost.pk, live.pk]


# --- a sweeper killed ------------------------------------------------------------------

# Deadlines swept in one run: several of the sweep's batches (workflow.sweep.BATCH), so a
# kill can land after some have committed and before the last.
CASES, PER_CASE = 12, 50
# Each deadline's ladder on a fixed working Monday-to-Wednesday, and the moments each
# run sweeps as (`sweep_deadlines --now`), inside office hours so no warning waits.
LADDER_TIMES = {"warning": (local(2026, 3, 9, 9), "2026-03-09T10:00"),
                "overdue": (local(2026, 3, 10, 9), "2026-03-10T10:00"),
                "escalation": (local(2026, 3, 11, 9), "2026-03-11T10:00")}
MARKS = {"warning": "warned_at", "overdue": "breached_at", "escalation": "escalated_at"}
# Who hears of each step (docs/architecture.md: the path of an alert): 柳林镇's officer, the lead department's liaison, the
# assignee, and on escalation the supervisor of the county above.
RECIPIENTS = {"warning": {"olga", "lena", "mia"}, "overdue": {"olga", "lena", "mia"},
              "escalation": {"olga", "lena", "mia", "carl"}}


def sweep_command(moment: str) -> list[str]:
    return [sys.executable, "manage.py", "sweep_deadlines", "--now", moment]


def marked(deadlines: list[int], step: str) -> set[int]:
    """The deadlines whose `step` is recorded as taken."""
    return set(Deadline.objects.filter(pk__in=deadlines, **{f"{MARKS[step]}__isnull": False})
               .values_list("pk", flat=True))


def assert_whole_steps(deadlines: list[int], step: str, expected: set[int]) -> None:
    """`step` taken for exactly the deadlines `expected`: each marked, with one audit
    event and one notification per recipient, and nothing of it for the others."""
    ours = set(deadlines)
    events = Counter(d for d in CaseEvent.objects.filter(kind=f"deadline_{step}")
                     .values_list("data__deadline", flat=True) if d in ours)
    notified = Counter(Notification.objects.filter(deadline__in=deadlines, kind=step)
                       .values_list("deadline", "user__username"))
    assert marked(deadlines, step) == expected, f"deadlines marked for {step} other than those expected"
    assert events == Counter({d: 1 for d in expected}), f"{step} events not one per marked deadline"
    assert notified == Counter({(d, user): 1 for d in expected for user in RECIPIENTS[step]}), (
        f"{step} notifications not one per recipient of each marked deadline")


# How long the sweeper runs between two looks at what it committed.
RUN_SLICE = 0.005


def kill_after_a_batch(sweeper: Any, committed_any: Callable[[], Any], what: str) -> None:
    """SIGKILL `sweeper` once `committed_any()` says a batch has committed. It runs in
    slices of RUN_SLICE seconds and is looked at while stopped (SIGSTOP), so nothing
    commits between the look and the kill: looked at while running, a quick machine
    finished every batch in between."""
    give_up = time.monotonic() + PATIENCE
    while time.monotonic() < give_up and sweeper.process.poll() is None:
        sweeper.process.send_signal(signal.SIGSTOP)
        if committed_any():
            sweeper.process.send_signal(signal.SIGKILL)
            sweeper.process.wait(timeout=10)
            return
        sweeper.process.send_signal(signal.SIGCONT)
        time.sleep(RUN_SLICE)
    pytest.fail(f"{what}: not within {PATIENCE} s, or the sweeper ended first (exit {sweeper.process.poll()})")


@committed
def test_a_sweeper_killed_mid_run_leaves_no_step_half_taken_and_the_next_run_takes_each_once(tmp_path: Path) -> None:
    """For each step of the ladder: `sweep_deadlines` over CASES × PER_CASE due
    deadlines is SIGKILLed once some batches have committed and before the last; what
    it committed is whole (mark, audit event and notifications together), and a second
    run takes exactly the rest."""
    cast = build_cast()
    # Accepted after the fixed days: their own clocks are not swept here.
    cases = [accepted_case(cast, lead=cast.justice, assignee=cast.mia, at=local(2026, 6, 1, 9)) for _ in range(CASES)]
    model = Deadline.objects.open().get(case=cases[0])
    # Stands in for months of cases: the same kind of clock, opened again and again on
    # these cases, with its ladder on the fixed days above.
    (warn, _), (due, _), (escalate, _) = LADDER_TIMES.values()
    Deadline.objects.bulk_create(
        Deadline(case=case, kind=model.kind, rule=model.rule, duration=model.duration, unit=model.unit,
                 legal_basis=model.legal_basis, started_at=warn - timedelta(days=7), warn_at=warn, due_at=due,
                 escalate_at=escalate, next_action_at=warn)
        for case in cases for _ in range(PER_CASE)
    )
    deadlines = list(Deadline.objects.filter(warn_at=warn).values_list("pk", flat=True))
    assert len(deadlines) == CASES * PER_CASE
    env = child_env(tmp_path / "var")

    timings = []
    for step, (_, moment) in LADDER_TIMES.items():
        sweeper = spawn(f"sweeper-{step}", sweep_command(moment), env, tmp_path)
        try:
            kill_after_a_batch(sweeper, lambda: marked(deadlines, step), f"the first {step} batch committed")
        finally:
            stop([sweeper])
        done = marked(deadlines, step)
        assert sweeper.process.returncode == -signal.SIGKILL, f"the {step} sweeper ended before the kill"
        assert 0 < len(done) < len(deadlines), f"killed after {len(done)} of {len(deadlines)}: not mid-run"
        # What the killed run committed is whole; what it had begun is gone.
        assert_whole_steps(deadlines, step, done)
        killed_after = len(done)

        started = time.monotonic()
        rerun = subprocess.run(sweep_command(moment), cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                               timeout=60)
        timings.append(f"{step}: killed after {killed_after}, rerun {time.monotonic() - started:.1f} s")
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        count = {"warning": "{} warnings", "overdue": "{} overdue", "escalation": "{} escalations"}[step]
        assert count.format(len(deadlines) - killed_after) in rerun.stdout, rerun.stdout
        assert_whole_steps(deadlines, step, set(deadlines))
    print("; ".join(timings))

    # The whole ladder, once per deadline.
    per_deadline = Counter(CaseEvent.objects.filter(case__in=cases, kind__startswith="deadline_")
                           .values_list("data__deadline", "kind"))
    assert per_deadline == Counter({(d, f"deadline_{step}"): 1 for d in deadlines for step in LADDER_TIMES})


# --- PostgreSQL restarted --------------------------------------------------------------

# Clients sending requests one after another while the database goes away and comes back.
WORKERS = 6
# Seconds a request may take before the test counts it as hung.
REQUEST_TIMEOUT = 5.0


@dataclass
class PrivateDatabase:
    cluster: PrivateCluster
    tokens: dict[str, str]
    cases: list[int]
    deadlines: list[int]  # open deadlines of those cases; each test takes one


@pytest.fixture(scope="module")
def private_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateDatabase]:
    """A private cluster, migrated and seeded once for the restart tests (migrating
    takes seconds); each test restarts it under a server of its own."""
    if connection.vendor != "postgresql":
        pytest.skip("runs once, in the PostgreSQL pass: its cluster is its own whatever the suite runs on, and "
                    "the SQLite pass is the embedded set-up, with no database server to restart")
    cluster = PrivateCluster()
    try:
        cluster.create()
        env = child_env(tmp_path_factory.mktemp("seed"), DATABASE_URL=cluster.url)
        for command in (["migrate", "--no-input", "-v", "0"],
                        ["shell", "-c", "from tests.system.faults_support import seed_private_database as s; s()"]):
            done = subprocess.run([sys.executable, "manage.py", *command], cwd=PROJECT_ROOT, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-3000:]
        seeded = json.loads(done.stdout.strip().splitlines()[-1])
        yield PrivateDatabase(cluster, seeded["tokens"], seeded["cases"], seeded["deadlines"])
    finally:
        cluster.destroy()


@dataclass
class Outcome:
    worker: int
    started: float
    finished: float
    status: int | None  # None: no answer within REQUEST_TIMEOUT, or the connection broke
    note: str = ""  # the text of the note the request added, if it was one
    problem: str = ""


def load(base: str, token: str, cases: list[int], worker: int, stopping: threading.Event,
         outcomes: list[Outcome]) -> None:
    """One client's loop: the case list, the notification list, and a note on a case
    (a write with its audit event), in turn, as fast as the server answers."""
    for turn in itertools.count():
        if stopping.is_set():
            return
        note = ""
        if turn % 3 == 0:
            method, path, data = "GET", "/api/v1/cases/", None
        elif turn % 3 == 1:
            method, path, data = "GET", "/api/v1/notifications/", None
        else:
            note = f"{base} {worker}-{turn}"  # unique across the tests sharing the cluster
            method, path, data = "POST", f"/api/v1/cases/{cases[turn % len(cases)]}/transitions/note/", {"text": note}
        started = time.monotonic()
        try:
            reply = request(method, base + path, token=token, data=data, timeout=REQUEST_TIMEOUT)
            outcome = Outcome(worker, started, time.monotonic(), reply.status, note,
                              "" if reply.status < 400 else reply.body[:200].decode(errors="replace"))
        except OSError as exc:  # no answer in time, a refused or broken connection
            outcome = Outcome(worker, started, time.monotonic(), None, note, repr(exc))
        outcomes.append(outcome)


# The ways a server holds its connections (config/settings.py). A connection per
# request, the default; connections kept (DB_CONN_MAX_AGE), where one left dead by the
# restart could fail the first query after it (CONN_HEALTH_CHECKS); a pool, whose
# connections die with the restart and are replaced.
CONNECTIONS = {"per request": {"DB_CONN_MAX_AGE": "0"}, "kept": {"DB_CONN_MAX_AGE": "60"},
               "pooled": {"DB_CONN_MAX_AGE": "0", "DB_POOL_SIZE": "4"}}


@pytest.mark.parametrize("connections", list(CONNECTIONS))
def test_a_restart_of_postgresql_fails_requests_cleanly_and_the_same_server_serves_again(
    private_database: PrivateDatabase, connections: str, tmp_path: Path,
) -> None:
    """A server (HTTP, WebSocket, in-process sweep) on the private cluster, under
    WORKERS clients reading and writing, while the cluster is stopped (fast shutdown:
    sessions ended, open transactions rolled back) and started again. During the outage
    every request gets an error status, none hangs; once the cluster is back every
    request succeeds, the sweep goes on and sockets open, with no restart of the server;
    every note acknowledged is in the database, once."""
    db = private_database
    cluster = db.cluster
    deadline = db.deadlines.pop()
    env = child_env(tmp_path / "var", DATABASE_URL=cluster.url, SWEEP_INTERVAL="1", **CONNECTIONS[connections])
    port = free_port()
    base = f"http://{HOST}:{port}"
    server = None
    mia = AlertClient(port, db.tokens["mia"], "mia")
    stopping = threading.Event()
    outcomes: list[Outcome] = []
    workers = [threading.Thread(target=load, args=(base, db.tokens["olga"], db.cases, n, stopping, outcomes),
                                daemon=True) for n in range(WORKERS)]

    def answered(since: float, ok: bool) -> list[Outcome]:
        return [o for o in list(outcomes) if o.started >= since and o.status is not None and (o.status < 400) == ok]

    try:
        server = serve("uvicorn", port, env, tmp_path)
        wait_for_port(server, port)
        # A socket open across the restart: the consumers' database thread has used its
        # connection before the cluster goes away.
        mia.start()
        wait_until(lambda: mia.backlogs, PATIENCE, "mia's socket open")
        for worker in workers:
            worker.start()
        wait_until(lambda: len(answered(0, True)) >= 3 * WORKERS, PATIENCE, "the load running")

        stopping_at = time.monotonic()
        cluster.stop("fast")
        down_at = time.monotonic()
        # Each client hears of the outage, with error statuses, request after request.
        wait_until(lambda: {o.worker for o in answered(down_at, False)} == set(range(WORKERS))
                   and len(answered(down_at, False)) >= 3 * WORKERS, PATIENCE,
                   "every client getting error replies while PostgreSQL is down")
        cluster.start()
        back_at = time.monotonic()
        wait_until(lambda: all(len([o for o in answered(back_at, True) if o.worker == n]) >= 6
                               for n in range(WORKERS)), PATIENCE, "every client served again after the restart")
        stopping.set()
        for worker in workers:
            worker.join(timeout=REQUEST_TIMEOUT + 5)

        with psycopg.connect(f"host={HOST} port={cluster.port} user=postgres dbname=tiaochu", autocommit=True) as sql:
            # The in-process sweep goes on: a step coming due now is taken, and mia's
            # socket, open all along, hears of it.
            sql.execute("UPDATE workflow_deadline SET warned_at = now(), due_at = now(), next_action_at = now(), "
                        "escalate_at = now() + interval '1 day' WHERE id = %s", [deadline])
            wait_until(lambda: sql.execute("SELECT breached_at FROM workflow_deadline WHERE id = %s",
                                           [deadline]).fetchone()[0], PATIENCE, "the sweep after the restart")
            alerted = {i for (i,) in sql.execute(
                "SELECT n.id FROM notifications_notification n JOIN auth_user u ON u.id = n.user_id "
                "WHERE n.deadline_id = %s AND u.username = 'mia'", [deadline]).fetchall()}
            notes = Counter(text for (text,) in sql.execute(
                "SELECT data->>'text' FROM cases_caseevent WHERE kind = 'note' AND data->>'text' LIKE %s",
                [base + " %"]).fetchall())
        assert alerted, "the sweep notified nobody"
        wait_until(lambda: alerted <= set(mia.received()), PATIENCE, "mia's alert after the restart")
        # A socket opened now: its authentication and backlog read the database, on the
        # first try.
        with connect(alerts_url(port, db.tokens["olga"]), open_timeout=REQUEST_TIMEOUT) as socket_:
            assert json.loads(socket_.recv(timeout=REQUEST_TIMEOUT))["type"] == "backlog"
        assert server.process.poll() is None, "the server died"
    finally:
        stopping.set()
        for worker in workers:
            if worker.is_alive():
                worker.join(timeout=REQUEST_TIMEOUT + 5)
        # Shown if the test fails: each client's last requests, timed from the start.
        origin = outcomes[0].started if outcomes else 0
        for n in range(WORKERS):
            print(f"client {n}:", ", ".join(f"{o.started - origin:.2f}+{o.finished - o.started:.2f}s {o.status}"
                                            for o in [o for o in outcomes if o.worker == n][-12:]))
        mia.close()
        if server is not None:
            stop([server])
        if not port_open(cluster.port):
            cluster.start()  # for the next test, whatever happened here

    during = [o for o in outcomes if o.started < back_at and o.finished >= stopping_at]
    print(f"connections {connections}: {len(outcomes)} requests, {len(during)} during the outage of "
          f"{back_at - stopping_at:.1f} s, {len([o for o in during if (o.status or 0) >= 500])} of them answered "
          f"5xx; slowest answer {max(o.finished - o.started for o in outcomes):.2f} s")
    unanswered = [o for o in outcomes if o.status is None]
    assert unanswered == [], f"{len(unanswered)} requests got no answer, the first: {unanswered[0]}"
    unclean = [o for o in outcomes if 400 <= o.status < 500]
    assert unclean == [], f"errors other than 5xx: {unclean[:3]}"
    failed_outside = [o for o in outcomes if o.status >= 500 and (o.finished < stopping_at or o.started > back_at)]
    assert failed_outside == [], f"{len(failed_outside)} failed with PostgreSQL up, the first: {failed_outside[0]}"
    assert any(o.status >= 500 for o in during), "no request met the outage"
    # Nothing acknowledged lost, nothing written twice. A note whose request failed may
    # have committed or not: the answer can be lost after the commit.
    acknowledged = {o.note for o in outcomes if o.note and o.status < 400}
    assert acknowledged - set(notes) == set(), "acknowledged notes missing from the database"
    assert [text for text, n in notes.items() if n > 1] == [], "notes written twice"
