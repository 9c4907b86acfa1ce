"""The queue page for a county supervisor over a million cases (issue 7): goal p95 ≤ 150 ms,
and the same number of queries at 10 rows as at 50.

The county of million.py (LOAD_CASES cases; reused when load.py left it, else built):
its supervisor sees every case, about a tenth of them open. The page is asked of one
uvicorn server as deployed (DEBUG off, a database connection per request), one request at
a time over a kept-alive connection, so the figure is the page's own latency:
- `queue.p95_ms`: `/desk/queue/` as the menu opens it (open cases, nearest deadline
  first, 25 rows), QUEUE_ROUNDS requests after a warm-up;
- `queue.<variant>.p95_ms`: the other sorts and filters a supervisor uses, and a page
  further on;
- the baseline, in the same run and interleaved with it: the same page narrowed to one
  case (`?ids=`), which renders the same shell, filter form, assignee list and table with
  one row, so the ratio is what the million cases cost over the page itself.
The query counts (Django's test client in this process, same database) at 10 and 50
rows must be equal, or the benchmark fails.

PostgreSQL only. The database is dropped at the end unless BENCH_KEEP_DB=1.
QUEUE_EXPLAIN=1 prints EXPLAIN ANALYZE of the default page's statements on cases.
"""

from __future__ import annotations

import http.client
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.support import CONN_MAX_AGE, percentile, serve, session_for, stop

CASES = int(os.environ.get("LOAD_CASES", "1000000"))
DATABASE = os.environ.get("LOAD_DATABASE", "tiaochu_load")
KEEP = os.environ.get("BENCH_KEEP_DB", "0") == "1"
ROUNDS = int(os.environ.get("QUEUE_ROUNDS", "40"))
GOAL_MS = 150
SUPERVISOR = "qy_ld"


class Browser:
    """One signed-in person asking pages of one server over a kept-alive connection."""

    def __init__(self, port: int, session: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = f"sessionid={session}"

    def get(self, path: str) -> float:
        start = time.perf_counter()
        self.connection.request("GET", path, headers={"Cookie": self.cookie})
        response = self.connection.getresponse()
        body = response.read()
        seconds = time.perf_counter() - start
        if response.status != 200 or b'class="case-list"' not in body:
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
        return seconds


def statements(client: Any, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return [q["sql"] for q in captured.captured_queries]


def explain(sqls: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in sqls:
            if "cases_case" not in sql or not sql.lstrip().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            print("# " + sql[:300])
            for (line,) in cursor.fetchall():
                print("#   " + line)


def query_counts(supervisor: Any) -> tuple[int, int, list[str]]:
    from django.conf import settings
    from django.test import Client

    # The test client's host; no test environment, whose template instrumentation
    # would slow the pages it is not measuring here anyway.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(supervisor)
    client.get("/desk/queue/")
    ten = statements(client, "/desk/queue/?size=10")
    fifty = statements(client, "/desk/queue/?size=50")
    if os.environ.get("QUEUE_EXPLAIN"):
        explain(statements(client, "/desk/queue/"))
    return len(ten), len(fifty), [sql for sql in fifty if sql not in ten]


def measure(url: str) -> bool:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from cases.models import Case, OrgUnit

    supervisor = get_user_model().objects.get(username=SUPERVISOR)
    ten, fifty, extra = query_counts(supervisor)
    print(f"BENCH queue.queries.10_rows {ten} queries")
    print(f"BENCH queue.queries.50_rows {fifty} queries", flush=True)
    township = OrgUnit.objects.filter(level=OrgUnit.Level.TOWNSHIP).order_by("code").first()
    one = Case.objects.open().order_by("-pk").values_list("pk", flat=True).first()
    variants = {
        "overdue": "?overdue=on",
        "newest": "?sort=-reported",
        "risk": "?sort=-risk",
        "township": f"?unit={township.pk}",
        "petitions": "?kind=petition",
        "page_40": "?page=40",
    }
    session = session_for(supervisor)
    connection.close()
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as logs:
        server = serve("queue", url, Path(logs), DB_CONN_MAX_AGE=CONN_MAX_AGE)
        try:
            browser = Browser(server.port, session)
            baseline_path = f"/desk/queue/?ids={one}"
            for path in ("/desk/queue/", baseline_path, *(f"/desk/queue/{q}" for q in variants.values())):
                for _ in range(3):  # warm: imports, templates, the server's connection, caches
                    browser.get(path)
            # Interleaved, so drift of the shared machine hits the page and its baseline alike.
            page: list[float] = []
            base: list[float] = []
            for _ in range(ROUNDS):
                page.append(browser.get("/desk/queue/"))
                base.append(browser.get(baseline_path))
            figures = {name: [browser.get(f"/desk/queue/{q}") for _ in range(max(ROUNDS // 4, 5))]
                       for name, q in variants.items()}
        finally:
            stop([server])
    p95, base_p95 = percentile(page, 0.95) * 1000, percentile(base, 0.95) * 1000
    print(f"BENCH queue.p95_ms {p95:.0f} ms")
    print(f"BENCH queue.p50_ms {statistics.median(page) * 1000:.0f} ms")
    print(f"BENCH queue.baseline.p95_ms {base_p95:.0f} ms")
    print(f"BENCH queue.ratio {p95 / base_p95:.2f} x")
    for name, values in figures.items():
        print(f"BENCH queue.{name}.p95_ms {percentile(values, 0.95) * 1000:.0f} ms")
    print(f"# goal {GOAL_MS} ms: {'met' if p95 <= GOAL_MS else 'not met'}; "
          f"load average (1 min) {os.getloadavg()[0]:.2f}", flush=True)
    if ten != fifty:
        print(f"# queue: {ten} queries at 10 rows but {fifty} at 50: a query per row crept in")
        for sql in extra[:5]:
            print(f"#   {sql[:200]}")
        return False
    return True


def main() -> None:
    from tests.bench import million

    url = million.open_county("queue", DATABASE, CASES)
    if url is None:
        return
    try:
        ok = measure(url)
    finally:
        if not KEEP:
            from django.db import connection

            connection.close()
            million.drop(url)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
