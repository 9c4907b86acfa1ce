"""One transition through the service, against the bare minimum of the same write.

The baseline, measured in the same run on the same database: lock and load the case row,
change a field, save it, insert one event row bare (around the audit chain), in one
transaction: the write without the chain. The transition is
start_mediation by the assignee: the same row work plus the permission check, the form,
stopping the investigation clock and opening the mediation clock.

Run by `python -m tests.bench` once per database; prints BENCH lines.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import QuerySet  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.bench.support import test_database  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "300"))
ROUNDS = 5


def timed(work: Callable[[int], object], ids: list[int]) -> list[float]:
    samples = []
    for pk in ids:
        start = time.perf_counter()
        work(pk)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    with test_database("transition"):
        run()


def run() -> None:
    from cases.models import Case, CaseEvent
    from tests.conftest import build_cast, local, report
    from workflow import services
    from workflow.refdata import invalidate_all

    invalidate_all()
    cast = build_cast()
    accept = {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}
    ids = []
    for i in range(CASES * 2):
        case = report(cast, title=f"基准纠纷{i}", at=local(2026, 3, 2, 9))
        services.transition(case, "accept", actor=cast.olga, data=accept, at=local(2026, 3, 3, 9))
        ids.append(case.pk)

    def baseline(pk: int) -> None:
        with transaction.atomic():
            case = Case.objects.select_for_update(of=("self",)).get(pk=pk)
            case.summary = case.summary + "。"
            case.save()
            # QuerySet's own bulk_create, not the event manager's, which would chain the row.
            QuerySet.bulk_create(CaseEvent.objects.all(),
                                 [CaseEvent(case=case, kind="bench", actor=cast.mia, at=local(2026, 3, 4, 9), data={})])

    def full(pk: int) -> None:
        services.transition(pk, "start_mediation", actor=cast.mia, data={"findings": "事实清楚。"},
                            at=local(2026, 3, 4, 9))

    # Warm both paths (connection, caches of the calendar and rule profiles) first.
    baseline(ids[0])
    with CaptureQueriesContext(connection) as statements:
        full(ids[1])
    with CaptureQueriesContext(connection) as base_statements:
        baseline(ids[2])
    # Interleave the two in rounds so drift of the machine hits both alike.
    full_ids, base_ids = ids[3 : CASES + 1], ids[CASES + 1 :]
    per_round = len(full_ids) // ROUNDS
    full_samples: list[float] = []
    base_samples: list[float] = []
    for r in range(ROUNDS):
        base_samples += timed(baseline, base_ids[r * per_round : (r + 1) * per_round])
        full_samples += timed(full, full_ids[r * per_round : (r + 1) * per_round])
    vendor = "postgres" if connection.vendor == "postgresql" else connection.vendor
    full_ms, base_ms = statistics.median(full_samples) * 1000, statistics.median(base_samples) * 1000
    print(f"BENCH transition.full_ms.{vendor} {full_ms:.3f} ms")
    print(f"BENCH transition.baseline_ms.{vendor} {base_ms:.3f} ms")
    print(f"BENCH transition.ratio.{vendor} {full_ms / base_ms:.2f} x")
    print(f"BENCH transition.statements.{vendor} {len(statements.captured_queries)} statements")
    print(f"BENCH transition.baseline_statements.{vendor} {len(base_statements.captured_queries)} statements")
    if os.environ.get("BENCH_SHOW_SQL"):
        for q in statements.captured_queries:
            print("   ", q["sql"][:160])


if __name__ == "__main__":
    main()
