"""The 矛盾纠纷排查化解台账 of 100,000 disputes through reports.ledgers, against writing the
same rows straight to XlsxWriter.

The baseline, measured in the same run on the same database: one query for the same
cases and columns (values_list over .iterator(), the same joins), each row written as
fetched with write_row to a constant_memory workbook, times as local dates — no party
names, no labels, no outcome. The ledger does all of that as well, so the ratio is its whole cost over the
least one could do. Peak memory (tracemalloc, Python allocations) of the ledger is
measured at 10k and 100k rows: constant memory means the two are about the same.

The cases are inserted with bulk_create: this measures the export, not the intake.
Run by `python -m tests.bench` once per database; prints BENCH lines.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from tests.bench.support import test_database  # noqa: E402

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
SMALL = ROWS // 10
# One round: a 100k-row workbook takes about a minute on a slow machine.
ROUNDS = int(os.environ.get("BENCH_EXPORT_ROUNDS", "1"))
BATCH = 5000


def main() -> None:
    with test_database("export"):
        run()


def build(cast: Any) -> None:
    """SMALL disputes in 2025 and ROWS in 2026, in the cast's two villages, in every stage,
    with two parties each."""
    from cases.models import Case, Category, Party, Source, stage_writes_allowed
    from tests.conftest import local

    rng = random.Random(5)
    stages = list(Case.Stage.values)
    categories = list(Category.values)
    sources = list(Source.values)
    for year, count in ((2025, SMALL), (2026, ROWS)):
        start = local(year, 1, 1, 8)
        for first in range(0, count, BATCH):
            cases = []
            for serial in range(first + 1, min(first + BATCH, count) + 1):
                stage = rng.choice(stages)
                reported = start + timedelta(minutes=serial * 5)
                village = cast.dongwan if serial % 2 else cast.xiling
                cases.append(Case(
                    kind="dispute", number=f"QY-LL-{year}-{serial:06d}", registered_unit=cast.liulin, year=year,
                    serial=serial, title=f"基准纠纷{serial}号 土地流转租金纠纷", summary="村民反映承包地流转租金拖欠。" * 3,
                    category=rng.choice(categories), source=rng.choice(sources), village=village,
                    responsible_unit=cast.liulin, lead_department=cast.justice if stage != "reported" else None,
                    assignee=cast.mia if stage != "reported" else None, reporter=cast.alice,
                    risk=rng.choice(("general", "general", "significant", "major")),
                    people_involved=rng.randint(1, 700), amount=Decimal(rng.randint(100, 500000)),
                    is_group=rng.random() < 0.2, stage=stage, reported_at=reported,
                    accepted_at=reported + timedelta(days=1) if stage != "reported" else None,
                    resolved_at=reported + timedelta(days=9) if stage in ("resolved", "closed") else None,
                    outcome={"kind": "agreement_written", "summary": "双方达成书面协议。"}
                    if stage in ("resolved", "closed") else {},
                    closure="visited" if stage == "closed" else "",
                    closed_at=reported + timedelta(days=20) if stage == "closed" else None,
                ))
            with stage_writes_allowed():
                made = Case.objects.bulk_create(cases)
            Party.objects.bulk_create(
                Party(case=case, name=name, role=role)
                for case in made for name, role in ((f"张{case.serial}", "applicant"), (f"李{case.serial}", "respondent"))
            )


def ledger(unit: Any, period: str, path: Path) -> int:
    from reports.ledgers import write_ledger

    return write_ledger("disputes", unit, period, path)


def baseline(unit: Any, period: str, path: Path) -> int:
    import xlsxwriter

    from cases.models import Case
    from cases.periods import parse_period
    from reports.ledgers import DISPUTE_COLUMNS

    p = parse_period(period)
    rows = (
        Case.objects.within(unit)
        .filter(kind="dispute", reported_at__gte=p.start, reported_at__lt=p.end)
        .order_by("reported_at", "pk")
        .values_list("pk", "number", "reported_at", "village__name", "title", "category", "source",
                     "people_involved", "amount", "risk", "is_group", "is_legacy", "summary",
                     "responsible_unit__name", "lead_department__name", "assignee__first_name", "accepted_at",
                     "stage", "resolved_at", "closed_at", "closure", "satisfaction", "reporter__first_name")
        .iterator(chunk_size=2000)
    )
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd"})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, [name for name, _ in DISPUTE_COLUMNS])
    tz = ZoneInfo(settings.TIME_ZONE)
    n = 0
    for n, row in enumerate(rows, start=1):
        # A spreadsheet cell holds no time zone: the local date is the least to write.
        sheet.write_row(n, 0, [v.astimezone(tz).date() if isinstance(v, datetime) else v for v in row])
    book.close()
    return n


def timed(work: Any, *args: Any) -> tuple[float, int]:
    start = time.perf_counter()
    rows = work(*args)
    return time.perf_counter() - start, rows


def peak_mb(work: Any, *args: Any) -> float:
    tracemalloc.start()
    try:
        work(*args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run() -> None:
    from tests.conftest import build_cast
    from workflow.refdata import invalidate_all

    invalidate_all()
    cast = build_cast()
    started = time.perf_counter()
    build(cast)
    print(f"# built {ROWS + SMALL} cases in {time.perf_counter() - started:.1f} s", flush=True)
    vendor = "postgres" if connection.vendor == "postgresql" else connection.vendor
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ledger.xlsx"
        ledger(cast.liulin, "2025", out)  # warm: connection, labels, imports
        baseline(cast.liulin, "2025", out)
        ours, base = [], []
        for _ in range(ROUNDS):
            seconds, rows = timed(baseline, cast.liulin, "2026", out)
            assert rows == ROWS, rows
            base.append(seconds)
            seconds, rows = timed(ledger, cast.liulin, "2026", out)
            assert rows == ROWS, rows
            ours.append(seconds)
        size_mb = out.stat().st_size / 2**20
        small = peak_mb(ledger, cast.liulin, "2025", out)
        large = peak_mb(ledger, cast.liulin, "2026", out)
    label = f"{ROWS // 1000}k"
    print(f"BENCH export.ledger_s.{vendor} {min(ours):.2f} s")
    print(f"BENCH export.baseline_s.{vendor} {min(base):.2f} s")
    print(f"BENCH export.ratio.{vendor} {min(ours) / min(base):.2f} x")
    print(f"BENCH export.peak_mb.{SMALL // 1000}k.{vendor} {small:.1f} MB")
    print(f"BENCH export.peak_mb.{label}.{vendor} {large:.1f} MB")
    print(f"BENCH export.file_mb.{label}.{vendor} {size_mb:.1f} MB")


if __name__ == "__main__":
    main()
