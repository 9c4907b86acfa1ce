"""Concurrency, tested rather than assumed: threads with their own database connections
race on one case. Runs on whichever database the suite runs on (SQLite by default,
PostgreSQL in CI's second run)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from cases.models import Case, CaseEvent
from tests.conftest import build_cast, local, report
from workflow import services
from workflow.errors import CaseOperationError, WrongStage
from workflow.models import Deadline

# Real commits are needed for other connections to see the data; the serialized
# rollback restores the seeded calendar and rules for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 8


def race(work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in THREADS threads released at the same instant; return each result
    or the exception it raised."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_eight_threads_accepting_one_case_leave_one_acceptance(cast=None):
    cast = build_cast()
    case = report(cast)
    results = race(
        lambda i: services.transition(
            case.pk, "accept", actor=cast.olga,
            data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk}, at=local(2026, 3, 3, 9, i),
        )
    )
    succeeded = [r for r in results if isinstance(r, Case)]
    refused = [r for r in results if isinstance(r, CaseOperationError)]
    assert len(succeeded) == 1, results
    assert len(refused) == THREADS - 1 and all(isinstance(r, WrongStage) for r in refused), results
    assert all(r.details["stage"] == "investigating" for r in refused)
    case.refresh_from_db()
    assert case.stage == "investigating"
    assert CaseEvent.objects.filter(case=case, kind="accept").count() == 1
    assert Deadline.objects.filter(case=case, kind="investigation").count() == 1
    assert Deadline.objects.open().filter(case=case).count() == 1


def test_racing_different_transitions_applies_exactly_one(cast=None):
    cast = build_cast()
    case = report(cast)
    names = ["reject", "withdraw", "escalate", "reject", "withdraw", "escalate", "reject", "withdraw"]
    results = race(
        lambda i: services.transition(case.pk, names[i], actor=cast.olga, data={"reason": f"理由{i}"})
    )
    winners = [names[i] for i, r in enumerate(results) if isinstance(r, Case)]
    assert len(winners) == 1, results
    case.refresh_from_db()
    events = list(CaseEvent.objects.filter(case=case).exclude(kind="report").values_list("kind", flat=True))
    assert events == winners
    assert case.stage == ("escalated" if winners[0] == "escalate" else "closed")


def test_concurrent_intakes_draw_distinct_case_numbers(cast=None):
    cast = build_cast()
    results = race(lambda i: report(cast, title=f"并发登记{i}", at=local(2026, 3, 2, 9, i)))
    assert all(isinstance(r, Case) for r in results), results
    numbers = sorted(r.number for r in results)
    assert numbers == [f"QY-LL-2026-{n:05d}" for n in range(1, THREADS + 1)]
    assert Case.objects.count() == THREADS


def test_two_sweepers_at_once_send_each_step_to_each_recipient_once(cast=None):
    from collections import Counter

    from notifications.models import Notification
    from workflow.sweep import sweep

    cast = build_cast()
    accept = {"assignee": cast.mia.pk, "lead_department": cast.justice.pk}
    for i in range(200):
        case = report(cast, title=f"到期纠纷{i}", at=local(2026, 3, 2, 9))
        services.transition(case, "accept", actor=cast.olga, data=accept, at=local(2026, 3, 2, 10))
    # Small batches, so the two sweepers interleave over many claims.
    results = race(lambda i: sweep(local(2026, 3, 10, 9), batch=7) if i < 2 else None)
    reports = [r for r in results[:2]]
    assert all(not isinstance(r, Exception) for r in reports), reports
    assert sum(r.steps["overdue"] for r in reports) == 200
    per_key = Counter(Notification.objects.filter(kind="overdue").values_list("deadline", "kind", "user"))
    assert len(per_key) == 200 * 3 and set(per_key.values()) == {1}
    assert CaseEvent.objects.filter(kind="deadline_overdue").count() == 200
    assert not Deadline.objects.filter(kind="investigation", breached_at__isnull=True).exists()


def test_the_database_under_test_is_the_configured_one():
    # Guards the CI run on PostgreSQL: DATABASE_URL must really have moved the suite.
    import os

    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected
