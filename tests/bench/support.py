"""What the benchmarks share: percentiles, the open-files limit, checking that a service
answers, the uvicorn servers they measure (tests/servers.py starts them as production
runs them), and the signed-in sessions those servers are given."""

from __future__ import annotations

import math
import os
import resource
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.servers import HOST, Child, free_port, spawn, wait_for_port
from tests.servers import stop as stop_children

START_TIMEOUT = 60.0
# A database connection per request, as the servers should run under uvicorn: Django
# runs each ASGI request's sync code in a thread of its own, so connections kept for
# reuse (DB_CONN_MAX_AGE > 0) pile up, one per thread, until PostgreSQL refuses more.
# The knob is load.py's; queue.py and ws.py give their servers the same.
CONN_MAX_AGE = os.environ.get("LOAD_CONN_MAX_AGE", "0")


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p of the values at or below it
    (0.0 when there are none)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else 0.0


def raise_open_files(wanted: int) -> None:
    """Thousands of sockets in one process, and as many on the servers' side (which
    inherit this limit): the soft limit is often 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def reachable(url: str, default_port: int) -> bool:
    """Whether something accepts connections at `url`'s host and port."""
    parts = urlparse(url)
    try:
        socket.create_connection((parts.hostname or HOST, parts.port or default_port), timeout=2).close()
        return True
    except OSError:
        return False


def serve(name: str, database_url: str, log_dir: Path, **env: str) -> Child:
    """A uvicorn server as production runs it, on `database_url`: no in-process sweep
    unless `env` sets SWEEP_INTERVAL, no access log; `env` adds to its environment
    (REDIS_URL, DB_CONN_MAX_AGE). Returns once the port answers."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(DATABASE_URL=database_url, SWEEP_INTERVAL="0", DEBUG="0", PYTHONUNBUFFERED="1")
    environment.update(env)
    server = spawn(name, [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", HOST, "--port",
                          str(port), "--lifespan", "on", "--log-level", "warning", "--no-access-log",
                          "--timeout-graceful-shutdown", "2"], environment, log_dir)
    server.port = port
    wait_for_port(server, port, START_TIMEOUT)
    return server


def stop(servers: list[Child]) -> None:
    """Ask all to stop at once, then wait for each, killing any that takes too long."""
    stop_children(servers, show_logs=False)


def session_for(user: Any) -> str:
    """A signed-in session for `user`, as the login page would store it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


@contextmanager
def test_database(name: str) -> Iterator[None]:
    """A test database for the benchmark `name`, dropped afterwards; on PostgreSQL named
    after it, so a test run or another benchmark on the same server keeps using
    test_<name> undisturbed (SQLite test files are per process already). Passwords are
    hashed cheaply: they protect nothing here."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if connection.vendor == "postgresql":
        connection.settings_dict["TEST"]["NAME"] = f"test_{connection.settings_dict['NAME']}_bench_{name}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
