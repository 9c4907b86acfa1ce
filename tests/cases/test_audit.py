"""The tamper-evident audit trail: every event row is hash-chained to the previous event
of its case when it is written, whoever writes it; `verify_audit` names the first row
that was edited, deleted or reordered behind the application's back."""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from cases.audit import GENESIS, backfill, content_of, event_hash, verify
from cases.models import Case, CaseEvent
from tests.conftest import build_cast, local, report
from workflow import services
from workflow.sweep import sweep

ACCEPT = {"kind": "dispute"}


def accepted(cast: Any, **overrides: Any) -> Case:
    case = report(cast, at=local(2026, 3, 2, 9), **overrides)
    return services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 2, 10),
                               data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})


def assert_chained(case: Case) -> None:
    """Each event links to the one written before it, its hash is its content's, and the
    case row holds the newest hash as its head."""
    expected = GENESIS
    for event in CaseEvent.objects.filter(case=case).order_by("pk"):
        assert event.prev_hash == expected, event
        assert event.hash == event_hash(**content_of(event), prev_hash=event.prev_hash), event
        expected = event.hash
    assert Case.objects.get(pk=case.pk).audit_head == expected


def verify_audit() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(**kwargs: Any) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", stdout=StringIO(), stderr=StringIO(), **kwargs)
    assert caught.value.returncode == 1
    return str(caught.value)


@pytest.mark.django_db
class TestEveryWriterChains:
    def test_it_chains_the_report_and_each_transition(self, cast):
        case = accepted(cast)
        services.transition(case, "note", actor=cast.mia, data={"text": "电话联系双方。"}, at=local(2026, 3, 3, 9))
        events = list(CaseEvent.objects.filter(case=case).order_by("pk"))
        assert [e.kind for e in events] == ["report", "accept", "note"]
        assert events[0].prev_hash == GENESIS and len(events[0].hash) == 64
        assert_chained(case)

    def test_it_chains_the_sweeps_bulk_written_events_per_case(self, cast):
        first, second = accepted(cast), accepted(cast, title="第二件")
        sweep(local(2026, 3, 11, 9))  # each case: warning, overdue and escalation at once
        for case in (first, second):
            kinds = list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("kind", flat=True))
            assert kinds[-1].startswith("deadline_"), kinds
            assert_chained(case)
        # The two chains are separate: the second case's first event starts anew.
        assert CaseEvent.objects.filter(case=second).order_by("pk").first().prev_hash == GENESIS

    def test_an_event_created_directly_is_chained_too(self, cast):
        case = accepted(cast)
        CaseEvent.objects.create(case=case, kind="bench", actor=cast.mia, at=local(2026, 3, 4, 9), data={"n": (1, 2)})
        assert_chained(case)
        assert verify_audit().startswith("audit trail intact: 1 cases, 3 events")


@pytest.mark.django_db
class TestVerifyAudit:
    @pytest.fixture
    def trail(self, cast: Any) -> tuple[Case, Case, list[int]]:
        """Two cases with a few events each; returns them and the first case's event ids."""
        altered, clean = accepted(cast), accepted(cast, title="未改动")
        for day in (3, 4, 5):
            services.transition(altered, "note", actor=cast.mia, data={"text": f"第{day}日"}, at=local(2026, 3, day, 9))
        return altered, clean, list(CaseEvent.objects.filter(case=altered).order_by("pk").values_list("pk", flat=True))

    def test_an_untouched_trail_passes(self, trail):
        assert verify_audit() == "audit trail intact: 2 cases, 7 events\n"

    def test_an_edited_row_is_named(self, trail):
        altered, _, ids = trail
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cases_caseevent SET data = %s WHERE id = %s", ['{"text": "改过的记录"}', ids[3]])
        message = refused()
        assert f"case {altered.number}" in message and f"event {ids[3]}: content edited" in message

    def test_a_changed_actor_or_time_is_an_edit_as_well(self, cast, trail):
        altered, _, ids = trail
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cases_caseevent SET actor_id = %s WHERE id = %s", [cast.sam.pk, ids[2]])
        assert f"event {ids[2]}: content edited" in refused()

    def test_a_deleted_row_is_named_by_the_row_after_it(self, trail):
        altered, _, ids = trail
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_caseevent WHERE id = %s", [ids[2]])
        message = refused()
        assert f"case {altered.number}" in message and f"event {ids[3]}: broken link" in message

    def test_a_deleted_first_row_is_found(self, trail):
        altered, _, ids = trail
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_caseevent WHERE id = %s", [ids[0]])
        assert f"event {ids[1]}: broken link" in refused()

    def test_the_newest_rows_deleted_together_are_found_by_the_head(self, trail):
        altered, clean, ids = trail
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_caseevent WHERE id IN (%s, %s)", ids[-2:])
        message = refused()
        assert f"case {altered.number}" in message and f"event {ids[-3]}: the newest events were deleted" in message
        assert f"case {clean.number}" not in message

    def test_a_case_whose_every_row_was_deleted_is_found_by_the_head(self, trail):
        altered, _, ids = trail
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_caseevent WHERE case_id = %s", [altered.pk])
        assert [(b.case_number, b.problem) for b in verify()] == [
            (altered.number, "the newest events were deleted: the case's head names an event that is not there")]

    def test_swapped_rows_are_reported_as_reordered(self, trail):
        altered, _, ids = trail
        columns = "kind, from_stage, to_stage, actor_id, at, data, prev_hash, hash"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM cases_caseevent WHERE id IN (%s, %s) ORDER BY id", ids[2:4])
            a, b = cursor.fetchall()
            assignments = ", ".join(f"{c.strip()} = %s" for c in columns.split(","))
            cursor.execute(f"UPDATE cases_caseevent SET {assignments} WHERE id = %s", [*b, ids[2]])
            cursor.execute(f"UPDATE cases_caseevent SET {assignments} WHERE id = %s", [*a, ids[3]])
        assert f"event {ids[2]}: reordered" in refused()

    def test_only_the_altered_case_is_reported_and_in_small_chunks_too(self, trail):
        altered, clean, ids = trail
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cases_caseevent SET kind = 'reject' WHERE id = %s", [ids[1]])
        assert [(b.case_number, b.event_id) for b in verify(chunk=1)] == [(altered.number, ids[1])]
        assert "audit trail altered in 1 of 2 cases" in refused(chunk=1)

    def test_it_reads_in_a_few_queries_per_chunk(self, cast, trail, django_assert_max_num_queries):
        for i in range(6):
            accepted(cast, title=f"另一件{i}")
        with django_assert_max_num_queries(2 * 3 + 1):  # 8 cases, 3 per chunk: 3 full chunks and an empty one
            assert list(verify(chunk=3)) == []


@pytest.mark.django_db
def test_the_migration_hashes_the_events_written_before_the_chain(cast):
    first, second = accepted(cast), accepted(cast, title="第二件")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_caseevent SET prev_hash = '', hash = ''")
    assert {b.problem.split(":")[0] for b in verify()} == {"no hash"}
    state = MigrationExecutor(connection).loader.project_state(("cases", "0005_backfill_audit_hashes"))
    backfill(state.apps.get_model("cases", "Case"), state.apps.get_model("cases", "CaseEvent"),
             using="default", chunk=1)
    assert list(verify()) == []
    for case in (first, second):
        assert_chained(case)
    # New events continue the backfilled chain.
    services.transition(first, "note", actor=cast.mia, data={"text": "迁移后"}, at=local(2026, 3, 5, 9))
    assert_chained(first)


@pytest.mark.django_db
def test_the_migration_sets_each_cases_head_from_its_newest_event(cast):
    first, second = accepted(cast), accepted(cast, title="第二件")
    Case.objects.update(audit_head="")
    state = MigrationExecutor(connection).loader.project_state(("cases", "0014_audit_head"))
    set_heads = importlib.import_module("cases.migrations.0014_audit_head").set_heads
    set_heads(state.apps, connection.schema_editor())
    for case in (first, second):
        assert_chained(case)
    assert list(verify()) == []


@pytest.mark.django_db
def test_a_transition_writes_its_event_and_the_head_in_eight_statements(cast):
    """The chain's head rides on the case row the service locks and saves anyway: a
    transition reads and writes nothing more for the audit trail than its event row."""
    case = accepted(cast)
    with CaptureQueriesContext(connection) as statements:
        services.transition(case, "start_mediation", actor=cast.mia, data={"findings": "事实清楚。"},
                            at=local(2026, 3, 4, 9))
    sql = [q["sql"] for q in statements.captured_queries]
    assert len(sql) <= 8, sql
    assert sum("cases_caseevent" in q for q in sql) == 1  # the INSERT, no read of the chain
    assert_chained(case)


THREADS = 9


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_writers_racing_on_one_case_never_fork_its_chain():
    """Transitions, a sweeper and direct inserts append to one case at the same instant:
    each takes the case lock before reading the head, so every event links to a
    different predecessor and the trail verifies."""
    cast = build_cast()
    cases = [accepted(cast, title=f"并发{i}") for i in range(3)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            for round_ in range(4):
                case = cases[round_ % 3]
                if i % 3 == 0:
                    services.transition(case.pk, "note", actor=cast.mia, data={"text": f"{i}-{round_}"},
                                        at=local(2026, 3, 3, 9, i))
                elif i % 3 == 1:
                    CaseEvent.objects.create(case_id=case.pk, kind="bench", at=local(2026, 3, 3, 9, i),
                                             data={"i": i, "round": round_})
                elif round_ == 0:
                    sweep(local(2026, 3, 11, 9), batch=1)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    # A sweeper skips a case another writer holds; the next sweep takes what it left.
    sweep(local(2026, 3, 11, 9))
    kinds = Counter(CaseEvent.objects.values_list("kind", flat=True))
    assert kinds["note"] == 3 * 4 and kinds["bench"] == 3 * 4 and kinds["deadline_escalation"] == 3
    for case in cases:
        links = Counter(CaseEvent.objects.filter(case=case).values_list("prev_hash", flat=True))
        assert max(links.values()) == 1, links  # a fork: two events naming one predecessor
        assert_chained(case)
    assert list(verify()) == []


@pytest.mark.django_db
def test_saving_a_case_read_before_an_event_keeps_the_chains_head(cast):
    """The admin saves the whole row it read; an event appended meanwhile stays the head."""
    case = accepted(cast)
    stale = Case.objects.get(pk=case.pk)
    services.transition(case, "note", actor=cast.mia, data={"text": "电话联系双方。"}, at=local(2026, 3, 3, 9))
    stale.summary = "管理员补充的简要情况。"
    stale.save()
    assert Case.objects.get(pk=case.pk).summary == "管理员补充的简要情况。"
    assert_chained(case)
    assert list(verify()) == []
