"""WebSocket connections one server process holds (issue 7), and the memory each costs.

One uvicorn server as deployed (no in-process sweep; on PostgreSQL with Redis for the
channel layer, the scaled set-up; on SQLite with the in-memory layer, the embedded one).
A client process opens `/ws/alerts/?token=…` sockets, each a user of its own with one
unread alert, WS_STEP (250) at a time, each counted open once its backlog frame has
arrived, up to WS_TARGET (5,000) or until the server gives way: a socket refused or
dropped, a connect slower than WS_MAX_CONNECT_MS (2,000; the slowest of the step's last
PROBES sockets, opened one at a time once the others are open, so they do not queue
behind each other), or a ping slower than WS_MAX_PING_MS (1,000) at the 95th percentile.
After each step the server's resident memory is read from /proc, and a ping goes to
WS_PINGS sockets at once: its round trip says whether the server's event loop still
answers with that many sockets on it.

Figures: `ws.connections_per_process`, the sockets held when the run stopped (the
target, unless the server gave way first); `ws.kb_per_connection`, the growth of the
server's resident memory over the held sockets (after a warm-up, so imports and caches
are not counted); `ws.ping_p95_ms` at the end against the same at the first step, the
baseline of this run, and their ratio; `ws.connect_ms`, a new socket's handshake and
backlog with the others open.

Linux only (/proc). Run by `python -m tests.bench` once per database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.bench.support import CONN_MAX_AGE, percentile, raise_open_files, reachable, serve, stop, test_database
from tests.servers import HOST, PROJECT_ROOT, child_database_url

TARGET = int(os.environ.get("WS_TARGET", "5000"))
STEP = int(os.environ.get("WS_STEP", "250"))
MAX_CONNECT_MS = float(os.environ.get("WS_MAX_CONNECT_MS", "2000"))
MAX_PING_MS = float(os.environ.get("WS_MAX_PING_MS", "1000"))
PINGS = int(os.environ.get("WS_PINGS", "200"))
REDIS_URL = os.environ.get("BENCH_WS_REDIS_URL", "redis://127.0.0.1:6379/14")
# Handshakes at once from the client: enough to open thousands in seconds, few enough
# that the server's database work for them (token, backlog) queues rather than times out.
CONCURRENCY = 50
WARMUP = 20
# Sockets of each step opened one at a time, to time a connect.
PROBES = 5


# --- the client process ----------------------------------------------------------------


async def hold(config: dict[str, Any]) -> None:
    """Open sockets step by step; after each step report and wait for the word to go on."""
    from websockets.asyncio.client import ClientConnection, connect

    urls = [f"ws://{HOST}:{config['port']}/ws/alerts/?token={token}" for token in config["tokens"]]
    gate = asyncio.Semaphore(CONCURRENCY)
    sockets: list[ClientConnection] = []
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def open_one(url: str, times: list[float], failures: list[str]) -> None:
        async with gate:
            start = time.perf_counter()
            try:
                # No pings of its own and no compression: the client's CPU is not the subject.
                ws = await connect(url, compression=None, ping_interval=None, open_timeout=60, max_size=None)
                first = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if first.get("type") != "backlog":
                    raise RuntimeError(f"first frame {first!r}")
            except Exception as exc:  # counted: a refused or failed socket ends the climb
                failures.append(repr(exc)[:200])
                return
            times.append(time.perf_counter() - start)
            sockets.append(ws)

    async def ping_sample() -> list[float]:
        sample = random.Random(len(sockets)).sample(sockets, min(PINGS, len(sockets)))

        async def one(ws: ClientConnection) -> float:
            start = time.perf_counter()
            await asyncio.wait_for(await ws.ping(), 30)
            return time.perf_counter() - start

        results = await asyncio.gather(*(one(ws) for ws in sample), return_exceptions=True)
        return [r if isinstance(r, float) else 60.0 for r in results]

    # Warm-up: imports, the server's first queries; these sockets are closed again.
    warm_times: list[float] = []
    warm_failures: list[str] = []
    await asyncio.gather(*(open_one(url, warm_times, warm_failures) for url in urls[:WARMUP]))
    await asyncio.gather(*(ws.close() for ws in sockets))
    sockets.clear()
    print(json.dumps({"warm": len(warm_times), "failures": warm_failures[:3]}), flush=True)
    await reader.readline()
    position = WARMUP
    while position < len(urls):
        failures: list[str] = []
        batch = urls[position:position + config["step"] - PROBES]
        probes = urls[position + len(batch):position + config["step"]]
        position += len(batch) + len(probes)
        await asyncio.gather(*(open_one(url, [], failures) for url in batch))
        # The connect time a new client sees with this many sockets open: a few alone,
        # one after another, rather than the batch's, which queue behind each other.
        times: list[float] = []
        for url in probes:
            await open_one(url, times, failures)
        dropped = sum(1 for ws in sockets if ws.close_code is not None)
        pings = await ping_sample()
        print(json.dumps({"open": len(sockets) - dropped, "failures": len(failures), "first_failures": failures[:3],
                          "dropped": dropped, "connect_p95": max(times, default=0.0),
                          "ping_p95": percentile(pings, 0.95)}), flush=True)
        if (await reader.readline()).strip() != b"go":
            break
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def clients_main() -> None:
    config = json.loads(sys.stdin.readline())
    raise_open_files(len(config["tokens"]) + 256)
    asyncio.run(hold(config))


# --- the bench process -----------------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def build(count: int) -> list[str]:
    """`count` people of a township, each with a token and one unread alert."""
    from django.contrib.auth import get_user_model

    from cases.models import Membership, Role
    from notifications.models import Notification
    from tests.conftest import build_cast, tokens_for
    from workflow.refdata import invalidate_all

    invalidate_all()
    cast = build_cast()
    User = get_user_model()
    people = [User(username=f"ws{i:05d}") for i in range(count)]
    for user in people:
        user.set_unusable_password()  # token only; hashing thousands would be the set-up
    User.objects.bulk_create(people)
    people = list(User.objects.filter(username__startswith="ws").order_by("username"))
    Membership.objects.bulk_create(Membership(user=u, unit=cast.liulin, role=Role.MEDIATOR) for u in people)
    from django.utils import timezone

    now = timezone.now()
    Notification.objects.bulk_create(Notification(user=u, kind="assignment", level="assignment",
                                                  text="案件已分派给您。", created_at=now) for u in people)
    tokens = tokens_for(people)
    return [tokens[u.pk] for u in people]


def climb(tokens: list[str], port: int, pid: int) -> dict[str, Any]:
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.ws", "--clients"], cwd=PROJECT_ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None

    def read() -> dict[str, Any]:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(600):
                process.kill()
                raise RuntimeError("client process did not answer in time")
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("client process ended early")
        return json.loads(line)

    process.stdin.write(json.dumps({"tokens": tokens, "port": port, "step": STEP}) + "\n")
    process.stdin.flush()
    warm = read()
    if warm["warm"] < WARMUP:
        raise RuntimeError(f"warm-up: {warm}")
    time.sleep(1.0)  # the server's closed warm-up sockets and their tasks go
    start_kb = rss_kb(pid)
    steps = []
    process.stdin.write("go\n")
    process.stdin.flush()
    while True:
        step = read()
        step["rss_kb"] = rss_kb(pid)
        steps.append(step)
        print(f"# {step['open']} open: connect {step['connect_p95'] * 1000:.0f} ms, ping p95 "
              f"{step['ping_p95'] * 1000:.0f} ms, server {step['rss_kb'] / 1024:.0f} MB"
              + (f", {step['failures']} refused: {step['first_failures']}" if step["failures"] else "")
              + (f", {step['dropped']} dropped" if step["dropped"] else ""), flush=True)
        gave_way = (step["failures"] or step["dropped"] or step["connect_p95"] * 1000 > MAX_CONNECT_MS
                    or step["ping_p95"] * 1000 > MAX_PING_MS)
        more = not gave_way and step["open"] < len(tokens) - WARMUP
        process.stdin.write("go\n" if more else "stop\n")
        process.stdin.flush()
        if not more:
            break
    process.wait(timeout=120)
    return {"start_kb": start_kb, "steps": steps, "gave_way": gave_way}


def main() -> None:
    scaled = urlparse(os.environ.get("DATABASE_URL", "")).scheme.startswith("postgres")
    redis_up = scaled and reachable(REDIS_URL, 6379)
    if scaled and not redis_up:
        print(f"# ws: Redis at {urlparse(REDIS_URL).netloc} does not answer: in-memory layer")
    if redis_up:
        os.environ["REDIS_URL"] = REDIS_URL
    else:
        os.environ.pop("REDIS_URL", None)
    if not Path("/proc/self/status").exists():
        print("# ws: needs /proc for the server's memory; skipped")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    raise_open_files(2 * TARGET + 512)
    suffix = "" if connection.vendor == "postgresql" else f".{connection.vendor}"
    layer = "redis" if os.environ.get("REDIS_URL") else "in-memory"
    try:
        with test_database("ws"):
            started = time.perf_counter()
            tokens = build(TARGET + WARMUP)
            print(f"# {len(tokens)} users with tokens set up in {time.perf_counter() - started:.0f} s; "
                  f"one server, {layer} layer", flush=True)
            url = child_database_url()
            connection.close()
            if layer == "redis":
                import redis

                redis.Redis.from_url(REDIS_URL).flushdb()
            with tempfile.TemporaryDirectory(prefix="bench-ws-") as logs:
                env = {"REDIS_URL": REDIS_URL} if layer == "redis" else {}
                server = serve("ws", url, Path(logs), DB_CONN_MAX_AGE=CONN_MAX_AGE, **env)
                try:
                    result = climb(tokens, server.port, server.process.pid)
                finally:
                    stop([server])
                    if "Traceback" in server.tail(200):
                        print("# server log (errors there come when the sockets close, all at once):\n"
                              + server.tail(30))
            report(result, suffix)
    finally:
        if os.environ.get("REDIS_URL"):
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()


def report(result: dict[str, Any], suffix: str) -> None:
    steps = result["steps"]
    # The sockets held: the last step's if the server kept up, else the one before it.
    held_step = steps[-1] if not result["gave_way"] or len(steps) == 1 else steps[-2]
    held = held_step["open"]
    kb = (held_step["rss_kb"] - result["start_kb"]) / held if held else 0.0
    first, last = steps[0], held_step
    print(f"BENCH ws.connections_per_process{suffix} {held} connections")
    print(f"BENCH ws.kb_per_connection{suffix} {kb:.1f} kB")
    print(f"BENCH ws.server_rss_mb{suffix} {held_step['rss_kb'] / 1024:.0f} MB")
    print(f"BENCH ws.connect_ms{suffix} {last['connect_p95'] * 1000:.0f} ms")
    print(f"BENCH ws.ping_p95_ms{suffix} {last['ping_p95'] * 1000:.1f} ms")
    print(f"BENCH ws.baseline.ping_p95_ms{suffix} {first['ping_p95'] * 1000:.1f} ms")
    print(f"BENCH ws.ping_ratio{suffix} {last['ping_p95'] / first['ping_p95']:.1f} x")
    if result["gave_way"]:
        print(f"# ws: the server gave way at {steps[-1]['open']} sockets (see the last step above)")
    else:
        print("# ws: the target was reached without the server giving way; it holds more (WS_TARGET)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--clients"]:
        clients_main()
    else:
        main()
