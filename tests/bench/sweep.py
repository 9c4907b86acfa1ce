"""One deadline sweep against the bare indexed select of the same rows (issue 3, docs/architecture.md: the path of an alert).

1,000 deadlines are due among 100k, then 1M, open ones that are not. The baseline,
measured in the same run on the same database: the work queue's WHERE and ORDER BY over
the partial index deadline_sweep_queue, fetching those 1,000 rows in a transaction,
without the row lock and the joins. The full measure: one `sweep(now, batch=1000)`,
which locks and loads the rows with their cases, marks them overdue, writes 1,000 audit
events and one notification per recipient, commits and pushes to the (in-memory,
unlistened) channel layer. After each sweep the 1,000 are put back to their due state,
so every repetition does the same work. The figure the issue asks for is the ratio, and
that it stays the same from 100k to 1M: a sweep's cost must follow the deadlines due, not
the deadlines open.

Run by `python -m tests.bench` once per database; prints BENCH lines. BENCH_PROFILE=1
adds the top of a cProfile of one sweep.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.bench.support import test_database  # noqa: E402

DUE = 1000
CASES = 50
ROUNDS = 5
BASELINE_SAMPLES = 3
INSERT_BATCH = 10_000
SCALES = [("100k", 100_000), ("1m", 1_000_000)]
# SQLite's 1M setup and sweeps take about a minute on a 2-core machine: run it unless
# BENCH_SQLITE_1M=0 (then a `#` line says it was skipped).
SQLITE_1M = os.environ.get("BENCH_SQLITE_1M", "1") != "0"


def main() -> None:
    with test_database("sweep"):
        run()


class Bench:
    """The fixture: a few real cases, N open deadlines not due, DUE deadlines due now."""

    def __init__(self) -> None:
        from tests.conftest import build_cast, local, report
        from workflow import services
        from workflow.models import Deadline
        from workflow.refdata import invalidate_all

        invalidate_all()
        cast = build_cast()
        accept = {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}
        # Real cases through the service, so each has a responsible unit, a lead
        # department and an assignee: the sweep's recipients are found as in production.
        self.case_ids: list[int] = []
        for i in range(CASES):
            case = report(cast, title=f"基准纠纷{i}", at=local(2026, 3, 2, 9))
            services.transition(case, "accept", actor=cast.olga, data=accept, at=local(2026, 3, 3, 9))
            self.case_ids.append(case.pk)
        # Thursday morning: the cases' own investigation clocks warn on the 8th, so the
        # only deadlines due now are the DUE inserted below.
        self.now = local(2026, 3, 5, 10)
        self.template = Deadline.objects.filter(case_id=self.case_ids[0], kind="investigation").get()
        assert self.template.next_action_at > self.now
        self.columns = [f.column for f in Deadline._meta.concrete_fields if not f.primary_key]
        self.open_count = 0  # open deadlines inserted here, not due
        self.inserted = 0  # every row inserted, due or not: spreads them over the cases
        self.due_ids: tuple[int, int] = (0, 0)

    def rows(self, count: int, start: int, due: bool) -> Iterator[tuple[Any, ...]]:
        """Deadline rows as the service would open them (the investigation clock's rule,
        basis and durations), spread over the cases. Due rows are warned already and
        due an hour or more ago, so the sweep's step for each is the red card; the
        others warn from 2030 on, spread over a year so the index has a real range."""
        t = self.template
        base: dict[str, Any] = {f.column: getattr(t, f.attname) for f in t._meta.concrete_fields}
        for i in range(start, start + count):
            if due:
                due_at = self.now - timedelta(hours=1, seconds=i - start)
                times = {"warn_at": self.now - timedelta(days=2), "warned_at": self.now - timedelta(days=2),
                         "due_at": due_at, "escalate_at": self.now + timedelta(days=5), "next_action_at": due_at}
            else:
                warn_at = datetime(2030, 1, 1, tzinfo=self.now.tzinfo) + timedelta(minutes=i % 525_600)
                times = {"warn_at": warn_at, "warned_at": None, "due_at": warn_at + timedelta(days=2),
                         "escalate_at": warn_at + timedelta(days=3), "next_action_at": warn_at}
            row = {**base, "case_id": self.case_ids[i % len(self.case_ids)], "met_at": None,
                   "breached_at": None, "escalated_at": None, "started_at": self.now, **times}
            yield tuple(row[c] for c in self.columns)

    def insert(self, count: int, due: bool = False) -> None:
        """Raw inserts, bypassing the service on purpose: a benchmark's data setup of a
        million rows through the ORM's per-object path would take longer than the
        benchmark. COPY on PostgreSQL; batched executemany on SQLite."""
        from workflow.models import Deadline

        table = Deadline._meta.db_table
        rows = self.rows(count, self.inserted, due)
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                raw = cursor.cursor  # psycopg's cursor under Django's wrapper
                with raw.copy(f"COPY {table} ({', '.join(self.columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.columns))
                sql = f"INSERT INTO {table} ({', '.join(self.columns)}) VALUES ({placeholders})"
                adapt = self.sqlite_adapter()
                batch: list[tuple[Any, ...]] = []
                for row in rows:
                    batch.append(adapt(row))
                    if len(batch) == INSERT_BATCH:
                        cursor.executemany(sql, batch)
                        batch.clear()
                if batch:
                    cursor.executemany(sql, batch)
        self.inserted += count
        if not due:
            self.open_count += count

    def sqlite_adapter(self) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
        """Datetimes as Django stores them in SQLite (naive UTC text): sqlite3's own
        adapter would write them with an offset the ORM's comparisons do not expect."""
        ops = connection.ops

        def adapt(row: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in row)

        return adapt

    def add_due(self) -> None:
        from workflow.models import Deadline

        self.insert(DUE, due=True)
        ids = sorted(self.due_queryset().values_list("pk", flat=True))
        # Inserted in one statement by one process: a contiguous id range, which the
        # reset below uses instead of a 1,000-parameter IN list (SQLite allows 999).
        assert len(ids) == DUE and ids[-1] - ids[0] == DUE - 1, (len(ids), ids[:3], ids[-3:])
        self.due_ids = (ids[0], ids[-1])
        self.event_mark = self.last_event_id()
        # The cases' own investigation clocks are open too (their acceptance is met).
        assert Deadline.objects.open().count() == self.open_count + DUE + CASES

    def due_queryset(self) -> Any:
        from workflow.models import Deadline

        return Deadline.objects.filter(met_at__isnull=True, next_action_at__isnull=False,
                                       next_action_at__lte=self.now).order_by("next_action_at")

    def last_event_id(self) -> int:
        from cases.models import CaseEvent

        return CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # VACUUM too: it sets the visibility map, as autovacuum would have on a
                # table that has been open for months.
                cursor.execute("VACUUM ANALYZE")
            else:
                cursor.execute("ANALYZE")

    def baseline(self) -> int:
        with transaction.atomic():
            return len(list(self.due_queryset()[:DUE]))

    def sweep(self) -> int:
        from workflow.sweep import sweep

        report = sweep(self.now, batch=DUE)
        return report.notifications

    def reset(self) -> None:
        """Put the 1,000 back as they were before the sweep. Raw SQL: the audit events are
        append-only through the ORM, and the benchmark's own rows are all that go."""
        from cases.models import CaseEvent
        from notifications.models import Notification
        from workflow.models import Deadline

        lo, hi = self.due_ids
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Notification._meta.db_table} WHERE deadline_id BETWEEN %s AND %s", [lo, hi])
            cursor.execute(f"DELETE FROM {CaseEvent._meta.db_table} WHERE id > %s", [self.event_mark])
            cursor.execute(
                f"UPDATE {Deadline._meta.db_table} SET breached_at = NULL, next_action_at = due_at "
                "WHERE id BETWEEN %s AND %s", [lo, hi])
        assert self.due_queryset().count() == DUE


def measure(bench: Bench, scale: str, suffix: str) -> float:
    # Warm both paths (connection, the calendar and rule caches, the plans) first, and
    # count the sweep's statements there rather than in a timed run.
    assert bench.baseline() == DUE
    with CaptureQueriesContext(connection) as statements:
        sent = bench.sweep()
    assert sent == DUE * 3, sent  # the officer, the lead department's liaison, the assignee
    bench.reset()
    if os.environ.get("BENCH_PROFILE"):
        profile(bench)
    base: list[float] = []
    full: list[float] = []
    pushing: list[float] = []
    # Interleaved, so drift of the machine (autovacuum, other programs on the two cores)
    # hits both. The baseline is cheap: a few samples a round steady its median.
    for _ in range(ROUNDS):
        for _ in range(BASELINE_SAMPLES):
            start = time.perf_counter()
            bench.baseline()
            base.append(time.perf_counter() - start)
        with timed_push() as spent:
            start = time.perf_counter()
            bench.sweep()
            full.append(time.perf_counter() - start)
        pushing.append(spent[0])
        bench.reset()
    base_ms, full_ms = statistics.median(base) * 1000, statistics.median(full) * 1000
    ratio = full_ms / base_ms
    print(f"BENCH sweep.ratio.{scale}{suffix} {ratio:.1f} x")
    print(f"BENCH sweep.full_ms.{scale}{suffix} {full_ms:.1f} ms")
    print(f"BENCH sweep.baseline_ms.{scale}{suffix} {base_ms:.2f} ms")
    # The part of the sweep spent pushing after the commit, which the ratio includes.
    print(f"BENCH sweep.push_ms.{scale}{suffix} {statistics.median(pushing) * 1000:.1f} ms")
    print(f"BENCH sweep.statements.{scale}{suffix} {len(statements.captured_queries)} statements", flush=True)
    if os.environ.get("BENCH_SHOW_SQL"):
        for q in statements.captured_queries:
            print("   ", q["sql"][:160])
    return ratio


@contextmanager
def timed_push() -> Iterator[list[float]]:
    """Time spent in notifications.services.push (called by on_commit) while inside."""
    import notifications.services

    spent = [0.0]
    real = notifications.services.push

    def push(rows: list[Any]) -> None:
        start = time.perf_counter()
        try:
            real(rows)
        finally:
            spent[0] += time.perf_counter() - start

    notifications.services.push = push
    try:
        yield spent
    finally:
        notifications.services.push = real


def profile(bench: Bench) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(bench.sweep)
    bench.reset()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def run() -> None:
    bench = Bench()
    vendor = connection.vendor
    # The issue names the PostgreSQL figures; SQLite's carry a suffix.
    suffix = "" if vendor == "postgresql" else f".{vendor}"
    ratios: dict[str, float] = {}
    for scale, count in SCALES:
        if vendor != "postgresql" and scale == "1m" and not SQLITE_1M:
            print(f"# sweep.ratio.1m{suffix} skipped (BENCH_SQLITE_1M=0)")
            break
        start = time.perf_counter()
        if bench.open_count == 0:
            bench.insert(count)
            bench.add_due()
        else:
            # Top up the open ones that are not due; the due ones stay as they are.
            bench.insert(count - bench.open_count)
        bench.analyze()
        print(f"# {scale}: {bench.open_count} open deadlines set up in {time.perf_counter() - start:.0f} s", flush=True)
        ratios[scale] = measure(bench, scale, suffix)
    if "1m" in ratios:
        print(f"BENCH sweep.scale_ratio{suffix} {ratios['1m'] / ratios['100k']:.2f} x")


if __name__ == "__main__":
    main()
