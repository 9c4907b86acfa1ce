"""One deadline sweep against the same writes done in bare SQL (issue 16, docs/architecture.md: the path of an alert).

1,000 deadlines are due among 100k, then 1M, open ones that are not. The full measure:
one `sweep(now, batch=1000)`, which claims and loads the rows with their cases, marks
them overdue, writes 1,000 audit events chained under the case locks and one
notification per recipient (3,000), commits and pushes to the (in-memory, unlistened)
channel layer. The baseline, measured in the same run on the same database, is the least
a sweep can do: the same writes in one transaction through `connection.cursor()` and
plain SQL, no model instances (`Bench.bare`). It claims the 1,000 due deadlines with
their cases (FOR UPDATE OF both SKIP LOCKED on PostgreSQL, as work_queue does; SQLite has
no row locks), marks them (breached_at, and next_action_at moved to escalate_at: the red
card's step of the ladder), inserts the 1,000 `deadline_overdue` events with the sweep's
columns, moves each case's audit_head in one UPDATE, and inserts the 3,000
notifications with the sweep's text: five statements between BEGIN and COMMIT, the
rows built in Python as tuples (`insert` says how each database takes them fastest).
Its hashes are the chain's own, computed the simplest correct way: cases.audit.event_hash
from the heads read in the claim, so its events verify as the sweep's do. What it knows from the fixture instead of working out: every due row is
at the red card (the ladder is not walked, office hours not asked), and each case's
recipients, looked up once at setup. After every run of either, `reset()` deletes the
events and notifications and puts the marks back, so every repetition does the same
work; `measure` checks once that both leave the same number of events and
notifications.

The figures the issue asks for: the ratio sweep / bare writes (goal: at most 2×), and
that it stays the same from 100k to 1M (`flatness`, 1m / 100k, goal: about 1) — a
sweep's cost must follow the deadlines due, not the deadlines open. The push after the
commit is inside the sweep's time (push_ms says how much).

Run by `python -m tests.bench` once per database; prints BENCH lines. BENCH_PROFILE=1
adds the top of a cProfile of one sweep; BENCH_SHOW_SQL=1 the sweep's statements.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.bench.support import test_database  # noqa: E402

DUE = 1000
CASES = 50
ROUNDS = 7
INSERT_BATCH = 10_000
SCALES = [("100k", 100_000), ("1m", 1_000_000)]
# SQLite's 1M setup and sweeps take about a minute on a 2-core machine: run it unless
# BENCH_SQLITE_1M=0 (then a `#` line says it was skipped).
SQLITE_1M = os.environ.get("BENCH_SQLITE_1M", "1") != "0"


def main() -> None:
    # On PostgreSQL test_database names the database after its argument and clobbers one
    # of that name: the pid keeps two runs of this benchmark (other people's, side by
    # side in one checkout) off each other's database.
    with test_database(f"sweep_{os.getpid()}"):
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
        self.recipients = self.recipients_by_case()
        self.text, self.kind_labels = alert_template()

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
        from workflow import running
        from workflow.models import Deadline

        table = Deadline._meta.db_table
        rows = self.rows(count, self.inserted, due)
        # With the triggers that keep each case's running clocks off (workflow.running):
        # kept row by row, fifty cases' million clocks would be read again for each row
        # inserted. Set from the clocks once the rows are in, as a bulk load does.
        running.remove()
        try:
            self.copy_rows(table, rows)
        finally:
            running.recount()
            running.install()
        self.inserted += count
        if not due:
            self.open_count += count

    def copy_rows(self, table: str, rows: Iterator[tuple[Any, ...]]) -> None:
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
        self.heads = self.audit_heads()
        # The cases' own investigation clocks are open too (their acceptance is met).
        assert Deadline.objects.open().count() == self.open_count + DUE + CASES

    def due_queryset(self) -> Any:
        from workflow.models import Deadline

        return Deadline.objects.filter(met_at__isnull=True, next_action_at__isnull=False,
                                       next_action_at__lte=self.now).order_by("next_action_at")

    def audit_heads(self) -> list[tuple[int, str]]:
        from cases.models import Case

        return list(Case.objects.filter(pk__in=self.case_ids).values_list("pk", "audit_head"))

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

    def recipients_by_case(self) -> dict[int, list[int]]:
        """Who hears of a red card on each case, by the sweep's rule (_notifications): the
        responsible unit's officers, the lead department's liaisons, the assignee. Looked
        up once: the bare sweep takes them as known (no accusations here, so `told` keeps
        them all)."""
        from cases.models import Case, Membership, Role

        cases = Case.objects.filter(pk__in=self.case_ids).values_list(
            "pk", "responsible_unit_id", "lead_department_id", "assignee_id")
        members: dict[tuple[int, str], set[int]] = {}
        for unit_id, role, user_id in Membership.objects.filter(
                role__in=[Role.OFFICER, Role.LIAISON], user__is_active=True).values_list("unit_id", "role", "user_id"):
            members.setdefault((unit_id, role), set()).add(user_id)
        recipients = {}
        for pk, unit_id, lead_id, assignee_id in cases:
            users = members.get((unit_id, Role.OFFICER), set()) | members.get((lead_id, Role.LIAISON), set())
            recipients[pk] = sorted(users | ({assignee_id} if assignee_id else set()))
        return recipients

    def bare(self) -> int:
        """The sweep's writes for the DUE deadlines in bare SQL, in one transaction;
        returns the number of notifications written."""
        from cases.audit import event_hash
        from cases.models import Case, CaseEvent
        from notifications.models import Notification
        from workflow.models import Deadline

        pg = connection.vendor == "postgresql"
        ops = connection.ops
        now = self.now
        now_db = ops.adapt_datetimefield_value(now)
        local_tz = now.tzinfo
        deadline, case = Deadline._meta.db_table, Case._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            # The claim: work_queue's WHERE and ORDER BY over the partial index, the case
            # row joined for the chain's head and the alert's text.
            cursor.execute(
                f"SELECT d.id, d.case_id, d.kind, d.due_at, d.legal_basis, c.stage, c.audit_head, c.number, c.title "
                f"FROM {deadline} d JOIN {case} c ON c.id = d.case_id "
                "WHERE d.met_at IS NULL AND d.next_action_at IS NOT NULL AND d.next_action_at <= %s "
                "ORDER BY d.next_action_at LIMIT %s" + (" FOR UPDATE OF d, c SKIP LOCKED" if pg else ""),
                [now_db, DUE])
            due = cursor.fetchall()
            ids = [row[0] for row in due]
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(f"UPDATE {deadline} SET breached_at = %s, next_action_at = escalate_at "
                           f"WHERE id IN ({marks})", [now_db, *ids])
            heads: dict[int, str] = {}
            events: list[Any] = []
            notes: list[Any] = []
            for pk, case_id, kind, due_at, basis, stage, head, number, title in due:
                if due_at.tzinfo is None:  # SQLite gives naive UTC
                    due_at = due_at.replace(tzinfo=UTC)
                data = {"deadline": pk, "kind": kind, "due_at": due_at.isoformat()}
                prev = heads.get(case_id, head)
                digest = event_hash(case_id=case_id, kind="deadline_overdue", from_stage=stage, to_stage=stage,
                                    actor_id=None, at=now, data=data, prev_hash=prev)
                heads[case_id] = digest
                events.append((case_id, "deadline_overdue", stage, stage, None, now_db, json.dumps(data), prev, digest))
                text = self.text % {"number": number, "title": title, "deadline": self.kind_labels.get(kind, kind),
                                    "due": due_at.astimezone(local_tz).strftime("%Y-%m-%d %H:%M"), "basis": basis}
                for user_id in self.recipients[case_id]:
                    notes.append((user_id, "overdue", "overdue", case_id, pk, text, now_db))
            insert(cursor, CaseEvent,
                   ("case_id", "kind", "from_stage", "to_stage", "actor_id", "at", "data", "prev_hash", "hash"), events)
            whens = " ".join(["WHEN %s THEN %s"] * len(heads))
            cursor.execute(
                f"UPDATE {case} SET audit_head = CASE id {whens} ELSE audit_head END "
                f"WHERE id IN ({', '.join(['%s'] * len(heads))})",
                [x for pair in heads.items() for x in pair] + list(heads))
            insert(cursor, Notification, ("user_id", "kind", "level", "case_id", "deadline_id", "text", "created_at"),
                   notes)
        return len(notes)

    def sweep(self) -> int:
        from workflow.sweep import sweep

        report = sweep(self.now, batch=DUE)
        return report.notifications

    def reset(self) -> None:
        """Put the 1,000 back as they were before the sweep, the cases' audit heads too, so
        the next run's events link to the events still there. Raw SQL: the audit events
        are append-only through the ORM, and the benchmark's own rows are all that go."""
        from cases.models import Case, CaseEvent
        from notifications.models import Notification
        from workflow.models import Deadline

        lo, hi = self.due_ids
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Notification._meta.db_table} WHERE deadline_id BETWEEN %s AND %s", [lo, hi])
            cursor.execute(f"DELETE FROM {CaseEvent._meta.db_table} WHERE id > %s", [self.event_mark])
            cursor.execute(
                f"UPDATE {Deadline._meta.db_table} SET breached_at = NULL, next_action_at = due_at "
                "WHERE id BETWEEN %s AND %s", [lo, hi])
            cursor.execute(
                f"UPDATE {Case._meta.db_table} SET audit_head = CASE id {' '.join(['WHEN %s THEN %s'] * len(self.heads))}"
                f" END WHERE id IN ({', '.join(['%s'] * len(self.heads))})",
                [x for pair in self.heads for x in pair] + [pk for pk, _ in self.heads])
        assert self.due_queryset().count() == DUE


def insert(cursor: Any, model: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """All the rows in one statement. On PostgreSQL an array per column through unnest
    (the statement Django's bulk_create sends there): multi-row VALUES was twice as slow
    (361 against 190 ms for the bare sweep, executemany 308), psycopg splitting a query
    of 30,000 placeholders on the client. On SQLite multi-row VALUES (executemany is as
    fast)."""
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{model._meta.get_field(c).db_type(connection)}[]" for c in columns)
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})",
                       [list(column) for column in zip(*rows, strict=True)])
        return
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(rows))}",
                   [v for r in rows for v in r])


def alert_template() -> tuple[str, dict[str, str]]:
    """The red card's text and the deadline kinds' labels in the site's language, as the
    sweep words them (workflow.sweep.alert_text), translated once."""
    from django.conf import settings
    from django.utils import translation
    from django.utils.translation import gettext as _

    from workflow.models import DeadlineKind

    with translation.override(settings.LANGUAGE_CODE):
        text = _("Red card: %(deadline)s of case %(number)s “%(title)s” was due %(due)s and is overdue "
                 "(basis: %(basis)s).")
        return text, {kind: str(label) for kind, label in DeadlineKind.choices}


def written(bench: Bench) -> tuple[int, int]:
    """The events and notifications written since the fixture was set up."""
    from cases.models import CaseEvent
    from notifications.models import Notification

    lo, hi = bench.due_ids
    return (CaseEvent.objects.filter(pk__gt=bench.event_mark, kind="deadline_overdue").count(),
            Notification.objects.filter(deadline_id__gte=lo, deadline_id__lte=hi, kind="overdue").count())


def measure(bench: Bench, scale: str, suffix: str) -> float:
    # Warm both paths (connection, the calendar and rule caches, the plans) first, count
    # their statements there rather than in a timed run, and check once that both leave
    # the same rows behind.
    with CaptureQueriesContext(connection) as bare_statements:
        told = bench.bare()
    assert told == DUE * 3, told  # the officer, the lead department's liaison, the assignee
    bare_rows = written(bench)
    bench.reset()
    with CaptureQueriesContext(connection) as statements:
        sent = bench.sweep()
    assert sent == DUE * 3, sent
    sweep_rows = written(bench)
    assert sweep_rows == bare_rows == (DUE, DUE * 3), (sweep_rows, bare_rows)
    bench.reset()
    if os.environ.get("BENCH_PROFILE"):
        profile(bench)
    bare: list[float] = []
    full: list[float] = []
    pushing: list[float] = []
    # Interleaved, so drift of the machine (autovacuum, other programs on the two cores)
    # hits both; which goes first alternates, so neither always finds the other's
    # dead rows and freed pages. Each is followed by the same reset.
    for i in range(ROUNDS):
        for first in (i % 2 == 0, i % 2 != 0):
            # Each run starts from an empty nursery: a full collection of the garbage the
            # previous run and reset left would land in whichever came next.
            gc.collect()
            if first:
                start = time.perf_counter()
                bench.bare()
                bare.append(time.perf_counter() - start)
            else:
                with timed_push() as spent:
                    start = time.perf_counter()
                    bench.sweep()
                    full.append(time.perf_counter() - start)
                pushing.append(spent[0])
            bench.reset()
    bare_ms, full_ms = statistics.median(bare) * 1000, statistics.median(full) * 1000
    ratio = full_ms / bare_ms
    print(f"BENCH sweep.ratio.{scale}{suffix} {ratio:.2f} x")
    print(f"BENCH sweep.full_ms.{scale}{suffix} {full_ms:.1f} ms")
    print(f"BENCH sweep.bare_ms.{scale}{suffix} {bare_ms:.1f} ms")
    # The part of the sweep spent pushing after the commit, which the ratio includes.
    print(f"BENCH sweep.push_ms.{scale}{suffix} {statistics.median(pushing) * 1000:.1f} ms")
    print(f"BENCH sweep.statements.{scale}{suffix} {len(statements.captured_queries)} statements")
    print(f"BENCH sweep.bare_statements.{scale}{suffix} {len(bare_statements.captured_queries)} statements",
          flush=True)
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
        print(f"BENCH sweep.flatness{suffix} {ratios['1m'] / ratios['100k']:.2f} x")


if __name__ == "__main__":
    main()
