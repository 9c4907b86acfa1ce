"""A bounded load test on loopback (issue 7): LOAD_CLIENTS clients (50) for LOAD_SECONDS
(60) against LOAD_WORKERS ASGI server processes on PostgreSQL with a county of
LOAD_CASES cases (1,000,000; see million.py) and Redis for the channel layer.

The clients are officers of five townships, ten to a township. Each township has a pool
of LOAD_POOL open disputes that its ten officers work on together, every case assigned
to one of them. A client in a loop, without pauses between requests (closed loop, so the
figures are the servers' capacity, and the p95 includes the queueing of 50 clients at
saturation), does one of:
- half the time, a transition on a case of its pool through the API, `POST
  /api/v1/cases/{id}/transitions/{name}/` with its token: as the assignee, the next step
  of investigating → mediating → resolved; on a resolved case of someone else, reopen it
  (back to investigating); otherwise a note. It acts on what it last saw of the case, so
  other clients will often have moved it meanwhile: the server refuses with 409 and the
  case's stage, which is the concurrency check working, counted, not an error;
- a quarter, the API list of its unit's investigating cases (`GET /api/v1/cases/?stage=…`);
- a quarter, the queue page `/desk/queue/` with a session cookie (open cases of the
  township and its villages, nearest deadline first, the page the officers live in).

Before it, the baseline of the same run: the same clients for LOAD_BASELINE_SECONDS on
the cheapest authenticated endpoint (`GET /api/v1/categories/`: token check, a constant
answer), so the ratio says what the real work costs over the framework's floor on this
machine at this moment.

Afterwards the database must agree with the clients, or the benchmark fails: no answer
other than 200 (or 409 for a transition); per case, as many new audit events as the
clients counted successful transitions, of the same kinds, each leaving the stage the
next one found (no update lost or applied twice), the case's stage the last one's, at
most one open clock of each kind; all events in the database = those before + the
successful transitions.

PostgreSQL only (the scaled set-up); Redis at BENCH_LOAD_REDIS_URL (database 13,
flushed). The servers open a database connection per request (LOAD_CONN_MAX_AGE, and
why, at CONN_MAX_AGE in support.py). The database LOAD_DATABASE (tiaochu_load) is
dropped and built anew (about five minutes for a million cases), and dropped at the end
unless BENCH_KEEP_DB=1 (then queue.py reuses it). LOAD_REUSE=1 uses an existing one of the
right size instead of building. For development: LOAD_CASES=100000 LOAD_SECONDS=20.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import selectors
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.support import CONN_MAX_AGE, percentile, raise_open_files, serve, session_for, stop
from tests.servers import HOST, PROJECT_ROOT

CASES = int(os.environ.get("LOAD_CASES", "1000000"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
BASELINE_SECONDS = float(os.environ.get("LOAD_BASELINE_SECONDS", "15"))
WARMUP_SECONDS = float(os.environ.get("LOAD_WARMUP_SECONDS", "5"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "50"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "4"))
POOL = int(os.environ.get("LOAD_POOL", "50"))
DATABASE = os.environ.get("LOAD_DATABASE", "tiaochu_load")
REUSE = os.environ.get("LOAD_REUSE", "0") == "1"
KEEP = os.environ.get("BENCH_KEEP_DB", "0") == "1"
REDIS_URL = os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6379/13")
REQUEST_TIMEOUT = 60.0

NEXT_STEP = {"investigating": "start_mediation", "mediating": "resolve", "resolved": "reopen"}
BODIES = {
    "start_mediation": {"findings": "已走访双方当事人，核实争议事实。"},
    # Oral: a written agreement needs its signed document, which a JSON body cannot carry.
    "resolve": {"outcome": "agreement_oral", "summary": "双方达成口头调解协议，当场履行。"},
    "reopen": {"reason": "当事人反映协议未履行，重新办理。"},
    "note": {"text": "电话联系当事人，约定调解时间。"},
}
READS = ("api_list", "queue_page")


# --- the client process ----------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection (h11, which uvicorn itself depends on)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, headers: list[tuple[str, str]],
                      body: bytes = b"") -> tuple[int, bytes]:
        import h11

        if self.writer is None or self.conn.our_state is not h11.IDLE:
            await self.reconnect()
        assert self.reader is not None and self.writer is not None
        head = [("Host", f"{HOST}:{self.port}"), ("Content-Length", str(len(body))), *headers]
        out = self.conn.send(h11.Request(method=method, target=target, headers=head))
        if body:
            out += self.conn.send(h11.Data(data=body))
        out += self.conn.send(h11.EndOfMessage())
        self.writer.write(out)
        await self.writer.drain()
        status, chunks = 0, []
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(65536)
                if not data and self.conn.their_state is not h11.DONE:
                    raise ConnectionError("server closed the connection")
                self.conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        return status, b"".join(chunks)

    async def reconnect(self) -> None:
        import h11

        await self.close()
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.conn = h11.Connection(h11.CLIENT)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None


@dataclass
class Sample:
    kind: str
    status: int
    seconds: float


class Client:
    def __init__(self, spec: dict[str, Any], port: int, seed: int) -> None:
        self.user = spec["user"]
        self.token = spec["token"]
        self.session = spec["session"]
        self.stages: dict[int, str] = {int(k): v for k, v in spec["stages"].items()}
        self.assignees: dict[int, int] = {int(k): v for k, v in spec["assignees"].items()}
        self.pool = sorted(self.stages)
        self.http = Http(port)
        self.rng = random.Random(seed)
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        # Successful transitions: (case, operation, stage after).
        self.done: list[tuple[int, str, str]] = []
        self.conflicts = 0

    async def call(self, kind: str, method: str, target: str, *, session: bool = False,
                   body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        headers = [("Cookie", f"sessionid={self.session}")] if session else [
            ("Authorization", f"Token {self.token}")]
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            headers.append(("Content-Type", "application/json"))
        start = time.perf_counter()
        try:
            status, data = await asyncio.wait_for(self.http.request(method, target, headers, payload),
                                                  REQUEST_TIMEOUT)
        except Exception as exc:  # a refused, dropped or timed-out request: reported as an error
            await self.http.close()
            self.samples.append(Sample(kind, 0, time.perf_counter() - start))
            self.errors.append(f"{kind} {method} {target}: {exc!r}")
            return 0, b""
        self.samples.append(Sample(kind, status, time.perf_counter() - start))
        return status, data

    async def baseline(self) -> None:
        status, data = await self.call("baseline", "GET", "/api/v1/categories/")
        if status != 200:
            self.errors.append(f"baseline: {status} {data[:200]!r}")

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.5:
            await self.transition()
        elif roll < 0.75:
            status, data = await self.call("api_list", "GET", "/api/v1/cases/?stage=investigating")
            if status != 200:
                self.errors.append(f"api_list: {status} {data[:200]!r}")
        else:
            status, data = await self.call("queue_page", "GET", "/desk/queue/", session=True)
            if status != 200:
                self.errors.append(f"queue_page: {status} {data[:200]!r}")

    async def transition(self) -> None:
        case = self.rng.choice(self.pool)
        stage = self.stages[case]
        mine = self.assignees[case] == self.user
        name = NEXT_STEP.get(stage, "note") if mine else ("reopen" if stage == "resolved" else "note")
        status, data = await self.call("transition", "POST", f"/api/v1/cases/{case}/transitions/{name}/",
                                       body=BODIES[name])
        if status == 200:
            after = json.loads(data)["stage"]
            self.stages[case] = after
            self.done.append((case, name, after))
        elif status == 409:
            self.conflicts += 1
            self.stages[case] = json.loads(data)["stage"]
        elif status:
            self.errors.append(f"transition {name} on {case}: {status} {data[:300]!r}")


async def run_clients(config: dict[str, Any]) -> dict[str, Any]:
    ports = config["ports"]
    clients = [Client(spec, ports[i % len(ports)], seed=i) for i, spec in enumerate(config["clients"])]

    async def loop(client: Client, action: str, until: float) -> None:
        while time.perf_counter() < until:
            await (client.baseline() if action == "baseline" else client.step())

    def phase(action: str, seconds: float) -> list[Any]:
        until = time.perf_counter() + seconds
        return [loop(c, action, until) for c in clients]

    # Warm-up: every server imports, compiles templates and opens its connection.
    await asyncio.gather(*phase("baseline", config["warmup"]))
    for c in clients:
        c.samples.clear()
        c.errors.clear()
    start = time.perf_counter()
    await asyncio.gather(*phase("baseline", config["baseline"]))
    baseline_wall = time.perf_counter() - start
    baseline = [s for c in clients for s in c.samples]
    for c in clients:
        c.samples.clear()
    load_before = os.getloadavg()
    start = time.perf_counter()
    await asyncio.gather(*phase("load", config["seconds"]))
    wall = time.perf_counter() - start
    await asyncio.gather(*(c.http.close() for c in clients))
    return {
        "baseline": [(s.kind, s.status, s.seconds) for s in baseline],
        "baseline_wall": baseline_wall,
        "samples": [(s.kind, s.status, s.seconds) for c in clients for s in c.samples],
        "wall": wall,
        "errors": [e for c in clients for e in c.errors],
        "done": [d for c in clients for d in c.done],
        "conflicts": sum(c.conflicts for c in clients),
        "loadavg": [load_before, os.getloadavg()],
    }


def clients_main() -> None:
    config = json.loads(sys.stdin.readline())
    raise_open_files(len(config["clients"]) + 256)
    result = asyncio.run(run_clients(config))
    print("RESULT " + json.dumps(result), flush=True)


# --- the bench process -----------------------------------------------------------------


@dataclass
class Baseline:
    """The state before the run: what the verification compares against."""

    events: int
    last_event: int
    stages: dict[int, str]
    assignees: dict[int, int]


def prepare(county: Any) -> tuple[list[dict[str, Any]], Baseline]:
    """The clients (tokens and sessions made directly, as logging in would) and their
    townships' pools of cases."""
    from django.contrib.auth import get_user_model

    from cases import tokens
    from cases.models import Case, CaseEvent

    User = get_user_model()
    per_township = len(county.officers[0])
    townships = math.ceil(CLIENTS / per_township)
    if townships > len(county.townships):
        raise SystemExit(f"{CLIENTS} clients need {townships} townships of {per_township} officers")
    specs: list[dict[str, Any]] = []
    stages: dict[int, str] = {}
    assignees: dict[int, int] = {}
    for t in range(townships):
        officers = county.officers[t]
        pool = list(
            Case.objects.filter(responsible_unit_id=county.townships[t], kind=Case.Kind.DISPUTE,
                                stage__in=list(NEXT_STEP), assignee_id__in=officers)
            .order_by("-reported_at").values_list("pk", "stage", "assignee_id")[:POOL])
        if len(pool) < POOL:
            raise SystemExit(f"township {t + 1} has only {len(pool)} cases for the pool")
        township_stages = {pk: stage for pk, stage, _ in pool}
        township_assignees = {pk: assignee for pk, _, assignee in pool}
        stages.update(township_stages)
        assignees.update(township_assignees)
        for user in User.objects.filter(pk__in=officers).order_by("username"):
            if len(specs) == CLIENTS:
                break
            specs.append({"user": user.pk, "token": tokens.issue(user, "load test")[1], "session": session_for(user),
                          "stages": township_stages, "assignees": township_assignees})
    last = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return specs, Baseline(CaseEvent.objects.count(), last, stages, assignees)


def verify(result: dict[str, Any], before: Baseline) -> list[str]:
    """What the database holds against what the clients saw; each problem named."""
    from django.db.models import Count

    from cases.models import Case, CaseEvent
    from workflow.models import Deadline

    problems = list(result["errors"][:20])
    if len(result["errors"]) > 20:
        problems.append(f"… {len(result['errors']) - 20} more errors")
    done: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for case, name, after in result["done"]:
        done[case].append((name, after))
    new_events: dict[int, list[Any]] = defaultdict(list)
    for event in CaseEvent.objects.filter(pk__gt=before.last_event).order_by("pk").only(
            "case_id", "kind", "from_stage", "to_stage"):
        new_events[event.case_id].append(event)
    stray = set(new_events) - set(before.stages)
    if stray:
        problems.append(f"events on {len(stray)} cases outside the pools, e.g. {sorted(stray)[:5]}")
    stages_now = dict(Case.objects.filter(pk__in=list(before.stages)).values_list("pk", "stage"))
    for case, stage in before.stages.items():
        events, seen = new_events.get(case, []), done.get(case, [])
        if len(events) != len(seen):
            problems.append(f"case {case}: {len(events)} new events, clients counted {len(seen)} transitions")
        if Counter(e.kind for e in events) != Counter(name for name, _ in seen):
            problems.append(f"case {case}: event kinds {Counter(e.kind for e in events)} "
                            f"!= transitions {Counter(n for n, _ in seen)}")
        current = stage
        for e in events:
            if e.from_stage != current:
                problems.append(f"case {case}: event {e.pk} {e.kind} from {e.from_stage}, the case was {current}")
            current = e.to_stage
        if stages_now[case] != current:
            problems.append(f"case {case}: stage {stages_now[case]}, its events end in {current}")
    doubled = (Deadline.objects.filter(case_id__in=list(before.stages), met_at__isnull=True)
               .values("case_id", "kind").annotate(n=Count("pk")).filter(n__gt=1))
    for row in doubled[:10]:
        problems.append(f"case {row['case_id']}: {row['n']} open {row['kind']} clocks")
    total = CaseEvent.objects.count()
    if total != before.events + len(result["done"]):
        problems.append(f"{total} events in the database, expected {before.events} + {len(result['done'])}")
    return problems


def report(result: dict[str, Any]) -> None:
    samples = result["samples"]
    statuses = Counter((kind, status) for kind, status, _ in samples)
    latencies = [s for _, _, s in samples]
    baseline = [s for _, _, s in result["baseline"]]
    p95 = percentile(latencies, 0.95) * 1000
    base_p95 = percentile(baseline, 0.95) * 1000
    throughput = len(samples) / result["wall"]
    base_throughput = len(baseline) / result["baseline_wall"]
    print(f"# statuses: {dict(sorted(statuses.items()))}; {len(result['done'])} transitions taken, "
          f"{result['conflicts']} refused with 409 (the case had moved)")
    (l1, _, _), (l2, _, _) = result["loadavg"]
    print(f"# load average (1 min) at the start of the run {l1:.2f}, at its end {l2:.2f}")
    print(f"BENCH load.p95_ms {p95:.0f} ms")
    print(f"BENCH load.p50_ms {percentile(latencies, 0.50) * 1000:.0f} ms")
    print(f"BENCH load.throughput {throughput:.0f} req/s")
    for kind in ("transition", *READS):
        values = [s for k, _, s in samples if k == kind]
        if values:
            print(f"BENCH load.{kind}.p95_ms {percentile(values, 0.95) * 1000:.0f} ms")
    print(f"BENCH load.transitions_per_s {len(result['done']) / result['wall']:.1f} /s")
    print(f"BENCH load.baseline.p95_ms {base_p95:.0f} ms")
    print(f"BENCH load.baseline.throughput {base_throughput:.0f} req/s")
    print(f"BENCH load.ratio {p95 / base_p95:.1f} x")
    print(f"BENCH load.throughput_ratio {throughput / base_throughput:.2f} x", flush=True)


def main() -> None:
    from tests.bench import million

    url = million.open_county("load", DATABASE, CASES, reuse=REUSE)
    if url is None:
        return
    import redis

    from tests.bench.million import county

    redis.Redis.from_url(REDIS_URL).flushdb()
    raise_open_files(4 * CLIENTS + 256)
    try:
        specs, before = prepare(county())
        print(f"# {len(specs)} clients, {len(before.stages)} cases in their pools, {WORKERS} servers", flush=True)
        from django.db import connection

        connection.close()
        with tempfile.TemporaryDirectory(prefix="bench-load-") as logs:
            servers = [serve(f"server-{n}", url, Path(logs), REDIS_URL=REDIS_URL, DB_CONN_MAX_AGE=CONN_MAX_AGE)
                       for n in range(WORKERS)]
            try:
                result = drive(specs, [s.port for s in servers])
            finally:
                stop(servers)
                crashed = [s.tail() for s in servers if "Traceback" in s.tail(200)]
        report(result)
        problems = verify(result, before)
        for log in crashed[:2]:
            print("# server log:\n" + log)
        if problems:
            print(f"# load: {len(problems)} problems:")
            for problem in problems:
                print(f"#   {problem}")
            raise SystemExit(1)
        print(f"# load: verified: {len(result['done'])} transitions, every event accounted for, no lost update")
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
        if not KEEP:
            from django.db import connection

            connection.close()
            million.drop(url)


def drive(specs: list[dict[str, Any]], ports: list[int]) -> dict[str, Any]:
    config = {"clients": specs, "ports": ports, "warmup": WARMUP_SECONDS, "baseline": BASELINE_SECONDS,
              "seconds": SECONDS}
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.load", "--clients"], cwd=PROJECT_ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(config) + "\n")
    process.stdin.close()
    deadline = WARMUP_SECONDS + BASELINE_SECONDS + SECONDS + REQUEST_TIMEOUT + 60
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(deadline):
            process.kill()
            raise RuntimeError("the client process did not finish in time")
    line = process.stdout.readline().strip()
    process.wait(timeout=30)
    if not line.startswith("RESULT "):
        raise RuntimeError(f"client process: {line!r}")
    return json.loads(line[len("RESULT "):])


if __name__ == "__main__":
    if sys.argv[1:] == ["--clients"]:
        clients_main()
    else:
        main()
