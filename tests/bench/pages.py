"""Every page a supervisor reads, over a million cases (issue 16): the workbench, the queue,
the supervision board, the dashboard, the monthly meeting, the assessment and the ledgers
page, each for a township's supervisor (t01_ld, 第1镇) and the county's (qy_ld, 青阳县),
as the menu opens them (the first unit they review, last month).

The county of million.py (LOAD_CASES cases; reused when load.py left it, else built).
Each page is asked through Django's test client in this process, on the same database, as
the signed-in person: once to warm up (imports, templates, the calendar and rule caches),
then PAGES_ROUNDS times (default 10; fewer for a page once it has taken PAGES_BUDGET
seconds, default 120, after at least 3). Printed per page and scope:
- `pages.<page>.<township|county>.p95_ms`: the whole request, the page rendered;
- `pages.<page>.<township|county>.queries`: the statements it ran (the most of any round;
  a round in which the calendar and rule caches expire, once a minute, reads them again:
  five more, seen on pages slow enough to outlast them).
The meeting is a township's: the county's supervisor is shown the first township's.
What queries cost grows with the cases; how many there are must not (tests/desk/
test_page_queries.py checks that on small counties). No figure is asserted: a page that
does not answer 200 fails the run, once the others are measured.

PostgreSQL only. The database is dropped at the end unless BENCH_KEEP_DB=1.
PAGES=dashboard,ledgers measures only those pages. PAGES_DEFAULT_GC=1 leaves Python's collector at its
defaults instead of the servers' (config.collector).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from tests.bench.support import percentile

CASES = int(os.environ.get("LOAD_CASES", "1000000"))
DATABASE = os.environ.get("LOAD_DATABASE", "tiaochu_load")
KEEP = os.environ.get("BENCH_KEEP_DB", "0") == "1"
ROUNDS = int(os.environ.get("PAGES_ROUNDS", "10"))
BUDGET_SECONDS = float(os.environ.get("PAGES_BUDGET", "120"))
MIN_ROUNDS = 3
PAGES = {
    "workbench": "/desk/workbench/",
    "queue": "/desk/queue/",
    "board": "/desk/board/",
    "dashboard": "/desk/dashboard/",
    "meeting": "/desk/meeting/",
    "assessment": "/desk/assessment/",
    "ledgers": "/desk/ledgers/",
}
PEOPLE = {"township": "t01_ld", "county": "qy_ld"}


def chosen() -> dict[str, str]:
    names = [n.strip() for n in os.environ.get("PAGES", "").split(",") if n.strip()]
    unknown = set(names) - set(PAGES)
    if unknown:
        raise SystemExit(f"PAGES: no such page {sorted(unknown)}; the pages are {', '.join(PAGES)}")
    return {n: p for n, p in PAGES.items() if not names or n in names}


def ask(client: Any, path: str) -> tuple[float, int]:
    """One request: its seconds and its statements."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    # The log the capture reads is bounded (9,000 statements) and nothing else empties it
    # here: once full, every page would count 0.
    reset_queries()
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
        body = response.content
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {body[:300]!r}")
    return seconds, len(captured)


def measure() -> list[str]:
    """Every chosen page for both people; the failures, each named (a failing page does
    not keep the others from being measured)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    # The test client's host; no test environment, whose template instrumentation would
    # add to every page's time.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    if os.environ.get("PAGES_DEFAULT_GC") != "1":
        # The server processes' collector (config.asgi), so pages are measured as served.
        from config import collector

        collector.tune()
    pages = chosen()
    failures = []
    for scope, username in PEOPLE.items():
        client = Client(raise_request_exception=False)
        client.force_login(get_user_model().objects.get(username=username))
        for page, path in pages.items():
            name = f"pages.{page}.{scope}"
            times: list[float] = []
            queries: list[int] = []
            try:
                warm, _ = ask(client, path)
                while len(times) < ROUNDS and (len(times) < MIN_ROUNDS or sum(times) < BUDGET_SECONDS):
                    seconds, n = ask(client, path)
                    times.append(seconds)
                    queries.append(n)
            except RuntimeError as failure:
                print(f"# {name}: {failure}", flush=True)
                failures.append(name)
                continue
            print(f"# {name}: {len(times)} rounds, warm-up {warm * 1000:.0f} ms, "
                  f"median {statistics.median(times) * 1000:.0f} ms", flush=True)
            if len(set(queries)) > 1:
                print(f"# {name}: the statements varied between rounds: {sorted(set(queries))}")
            print(f"BENCH {name}.p95_ms {percentile(times, 0.95) * 1000:.0f} ms")
            print(f"BENCH {name}.queries {max(queries)} queries", flush=True)
    return failures


def main() -> None:
    from tests.bench import million

    started = time.perf_counter()
    url = million.open_county("pages", DATABASE, CASES)
    if url is None:
        return
    try:
        failures = measure()
        print(f"# pages: done in {time.perf_counter() - started:.0f} s; "
              f"load average (1 min) {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        if not KEEP:
            from django.db import connection

            connection.close()
            million.drop(url)
    if failures:
        raise SystemExit(f"# pages: {len(failures)} pages did not answer 200: {', '.join(failures)}")

if __name__ == "__main__":
    main()
