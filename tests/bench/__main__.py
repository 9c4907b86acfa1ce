"""`make bench`: every benchmark on the embedded SQLite and, when it answers, on the
PostgreSQL of BENCH_DATABASE_URL (default: the local server). Each prints its figures
as `BENCH <name> <value> <unit>` lines."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlparse

from tests.bench.support import reachable

BENCHMARKS = ["tests.bench.transition", "tests.bench.sweep", "tests.bench.alerts", "tests.bench.export", "tests.bench.page_floor",
              "tests.bench.load", "tests.bench.pages", "tests.bench.queue", "tests.bench.ws"]
# load.py builds the million-case county and leaves it for pages.py, which leaves it for
# queue.py, which drops it.
KEEPS_ITS_DATABASE = {"tests.bench.load", "tests.bench.pages"}
POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tiaochu")


def main() -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    databases = [("sqlite", env)]
    if reachable(POSTGRES, 5432):
        databases.append(("postgres", {**env, "DATABASE_URL": POSTGRES}))
    else:
        print(f"# PostgreSQL at {urlparse(POSTGRES).netloc} does not answer: its figures are skipped")
    failed = 0
    for module in BENCHMARKS:
        for name, environment in databases:
            print(f"# {module} on {name}", flush=True)
            if module in KEEPS_ITS_DATABASE:
                environment = {"BENCH_KEEP_DB": "1", **environment}
            failed |= subprocess.run([sys.executable, "-m", module], env=environment).returncode
    return failed


if __name__ == "__main__":
    sys.exit(main())
