"""Private servers and clients for the fault tests (tests/system/test_faults.py).

A fault test stops and restarts the servers it depends on, so it never uses the shared
ones on 127.0.0.1:5432 and :6379 that the rest of the suite runs on: it starts a
redis-server, or a PostgreSQL cluster made with initdb in a temporary directory, of its
own on a free port, and removes it afterwards whatever happened.

Without the binaries a test is skipped with the reason, except under CI=true, where a
fault test that cannot run is a failure: a skipped fault test proves nothing."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from tests.servers import HOST, free_port

# Seconds a private server is given to start or stop; initdb and a first start take a
# few seconds on a loaded CI machine.
SERVER_TIMEOUT = 30.0


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require(what: str, path: str | None) -> str:
    """`path`, or the end of the test: a failure under CI, a skip elsewhere."""
    if path is None:
        message = f"{what} is not installed; the fault tests start private servers with it"
        if in_ci():
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    return path


def find_binary(name: str, pattern: str | None = None) -> str | None:
    """`name` on PATH, else the newest match of the glob `pattern` (Debian keeps the
    PostgreSQL server binaries off PATH, under /usr/lib/postgresql/<version>/bin)."""
    if found := shutil.which(name):
        return found
    matches = glob.glob(pattern) if pattern else []

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in Path(path).parts if part.isdigit())

    return max(matches, key=version) if matches else None


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something true, and return that; fail the test
    naming `what` when `timeout` seconds pass first."""
    give_up = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= give_up:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def end_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate a child this test started, and kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- Redis ---------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own, keeping nothing on disk: stopped, it loses
    every group and message, as a restarted Redis without persistence does."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require("redis-server", find_binary("redis-server"))
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        # The same port on every start: the servers keep the URL they were given.
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--dir", str(self.workdir)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        wait_until(lambda: self.process.poll() is not None or port_open(self.port), SERVER_TIMEOUT,
                   "redis-server listening")
        if self.process.poll() is not None:
            pytest.fail(f"redis-server exited with {self.process.returncode}:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                # A frozen process acts on SIGTERM only once it runs again.
                self.process.send_signal(signal.SIGCONT)
            end_process(self.process)
            self.process = None

    def kill(self) -> None:
        """SIGKILL, which also ends a frozen process: a crash, or an operator's last resort."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel answers), nothing
        replies — a hung or unreachable Redis, the worst case for a client."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: a frozen Redis answers again, its groups and messages kept."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


# --- PostgreSQL ------------------------------------------------------------------------


class PrivateCluster:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 on a free
    port and on a socket in that directory. initdb and postgres refuse to run as root;
    as root the cluster belongs to the `postgres` user and its tools run as that user."""

    PATTERN = "/usr/lib/postgresql/*/bin/{}"

    def __init__(self) -> None:
        initdb = require("initdb", find_binary("initdb", self.PATTERN.format("initdb")))
        # pg_ctl of the same version: the one beside initdb once links are resolved.
        self.initdb = os.path.realpath(initdb)
        sibling = Path(self.initdb).parent / "pg_ctl"
        self.pg_ctl = require("pg_ctl", str(sibling) if sibling.exists() else find_binary("pg_ctl"))
        self.owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                require("a `postgres` user to own the cluster (initdb refuses root)", None)
        # Not pytest's tmp_path: its parents are private to the user running the tests,
        # and the cluster's owner must reach the directory.
        self.root = Path(tempfile.mkdtemp(prefix="tiaochu-pg-"))
        if self.owner is not None:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/tiaochu"

    def _run(self, *args: str) -> None:
        command = [*(["runuser", "-u", self.owner.pw_name, "--"] if self.owner else []), *args]
        done = subprocess.run(command, capture_output=True, timeout=SERVER_TIMEOUT + 10)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            pytest.fail(f"{' '.join(args[:2])} failed ({done.returncode}):\n"
                        f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}\n{log}")

    def create(self) -> None:
        # trust: the cluster listens on loopback and a private socket, for one test.
        # fsync off: it holds nothing worth keeping, and its start and queries are faster.
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync")
        self.start()
        with psycopg.connect(f"host={HOST} port={self.port} user=postgres dbname=postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE tiaochu")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories={self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", str(int(SERVER_TIMEOUT)), "start")

    def stop(self, mode: str = "fast") -> None:
        """fast: open sessions are ended and their transactions rolled back, as when an
        operator restarts the service; immediate: as a crash."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", str(int(SERVER_TIMEOUT)), "stop")

    def destroy(self) -> None:
        """Stop the cluster if it runs, then remove its directory."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            try:
                self.stop("immediate")
            except BaseException:  # noqa: BLE001 — pytest.fail is BaseException; the kill follows
                pid = int(pid_file.read_text().split()[0])
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)


# --- HTTP ------------------------------------------------------------------------------


class Reply:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


def request(method: str, url: str, *, token: str | None = None, cookies: dict[str, str] | None = None,
            data: Any = None, timeout: float = 10.0) -> Reply:
    """One HTTP request. An error status is a Reply; a request that gets no answer
    within `timeout` raises (TimeoutError or URLError), which is what a hang looks like."""
    headers = {"Accept": "application/json"}
    body = None
    if token:
        headers["Authorization"] = f"Token {token}"
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers, method=method),
                                    timeout=timeout) as response:
            return Reply(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read())


# --- WebSocket -------------------------------------------------------------------------


class AlertClient(threading.Thread):
    """A client of /ws/alerts/ that behaves as the browser's desk.js: it connects with
    `?after=<the highest id seen>`, takes the backlog and the live alerts, acknowledges
    each one, and when the socket closes or cannot open, tries again after a growing
    pause. Every id received is kept in order. The server sends an unacknowledged alert
    again (its push may have been lost); one that comes again after the server confirmed
    its acknowledgement is a real duplicate and is kept in `doubles`."""

    FIRST_RETRY, LAST_RETRY = 0.1, 1.0  # desk.js: 1 s to 30 s; shorter keeps the test short

    def __init__(self, port: int, token: str, name: str) -> None:
        super().__init__(name=f"alerts-{name}", daemon=True)
        self.url = f"ws://{HOST}:{port}/ws/alerts/?token={token}"
        self.user = name
        self.ids: list[int] = []
        self.backlogs = 0  # connections that got as far as the backlog
        self.failures: list[str] = []  # why each socket closed or failed to open
        self.errors: list[dict[str, Any]] = []
        self.confirmed: set[int] = set()  # acknowledgements the server confirmed
        self.doubles: list[int] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def last(self) -> int:
        with self.lock:
            return max(self.ids, default=0)

    def received(self) -> list[int]:
        with self.lock:
            return list(self.ids)

    def take(self, raw: str | bytes) -> list[int]:
        """Record a message; the ids to acknowledge."""
        message = json.loads(raw)
        with self.lock:
            if message["type"] in ("backlog", "alert"):
                alerts = message["alerts"] if message["type"] == "backlog" else [message]
                self.backlogs += message["type"] == "backlog"
                fresh = []
                for alert in alerts:
                    if alert["id"] in self.confirmed:
                        self.doubles.append(alert["id"])
                    elif alert["id"] not in self.ids:
                        self.ids.append(alert["id"])
                    fresh.append(alert["id"])
                return fresh
            if message["type"] == "acked":
                self.confirmed.add(message["id"])
            else:
                self.errors.append(message)
            return []

    def run(self) -> None:
        retry = self.FIRST_RETRY
        while not self.stopping.is_set():
            try:
                with connect(f"{self.url}&after={self.last}", open_timeout=5, close_timeout=1) as socket_:
                    while not self.stopping.is_set():
                        try:
                            raw = socket_.recv(timeout=0.1)
                        except TimeoutError:
                            continue
                        for alert_id in self.take(raw):
                            socket_.send(json.dumps({"type": "ack", "id": alert_id}))
                        retry = self.FIRST_RETRY
            except (OSError, TimeoutError, WebSocketException) as exc:
                with self.lock:
                    self.failures.append(repr(exc))
            self.stopping.wait(retry)
            retry = min(retry * 2, self.LAST_RETRY)

    def close(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


# --- a database of the private cluster ---------------------------------------------------


def seed_private_database() -> None:
    """Run in a child (`manage.py shell -c`) on a migrated private database: the cast,
    a few accepted cases, API tokens; prints what the test needs as JSON."""
    from django.test.utils import override_settings
    from django.utils import timezone

    from tests.conftest import build_cast, token_for
    from tests.system.test_embedded_server import accepted_case
    from workflow.models import Deadline

    # The cast's passwords protect nothing (as in tests/conftest.py).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        cast = build_cast()
    cases = [accepted_case(cast, lead=cast.justice, assignee=cast.mia, at=timezone.now()) for _ in range(4)]
    print(json.dumps({
        "tokens": {user.username: token_for(user) for user in (cast.olga, cast.mia)},
        "cases": [case.pk for case in cases],
        "deadlines": list(Deadline.objects.open().filter(case__in=cases).values_list("pk", flat=True)),
    }))
