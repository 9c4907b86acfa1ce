"""Servers and other processes the tests and the benchmarks start: a free port, the
database this process uses as a DATABASE_URL for them, uvicorn started as `make run` and
production start it (each logging to a file of its own), waiting for its port, and
stopping them together."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.db import connection

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# Seconds a child process is given to start listening: Django's start-up plus migrations
# check under a loaded CI machine.
START_TIMEOUT = 20.0


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
    port: int | None = None

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


class DidNotStart(RuntimeError):
    pass


def wait_for_port(child: Child, port: int, timeout: float = START_TIMEOUT) -> None:
    """Return once `port` accepts connections; with --lifespan on, uvicorn listens only
    after the lifespan startup (the sweep task) has completed. Raises DidNotStart."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if child.process.poll() is not None:
            raise DidNotStart(f"{child.name} exited with {child.process.returncode} before listening:\n{child.tail()}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise DidNotStart(f"{child.name} did not listen on {port} within {timeout} s:\n{child.tail()}")


def stop(children: Iterable[Child], *, show_logs: bool = True) -> None:
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
    if show_logs:
        for child in children:
            print(f"----- {child.name} (exit {child.process.returncode}) -----\n{child.tail()}")


def alerts_url(port: int, token: str) -> str:
    return f"ws://{HOST}:{port}/ws/alerts/?token={token}"
