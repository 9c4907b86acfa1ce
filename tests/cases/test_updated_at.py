"""Case.updated_at: when the case was last written, whoever wrote it, so an offline app
can fetch what changed since its last sync (the API's updated_after)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cases.models import Case, CaseEvent
from tests.conftest import local, report
from workflow import services

REPORTED = local(2026, 3, 2, 9)


def updated(case: Case) -> object:
    return Case.objects.values_list("updated_at", flat=True).get(pk=case.pk)


@pytest.mark.django_db
def test_registration_marks_the_case_written_now(cast):
    with time_machine.travel(local(2026, 3, 2, 9, 5), tick=False):
        case = report(cast, at=REPORTED)
    assert updated(case) == local(2026, 3, 2, 9, 5)


@pytest.mark.django_db
def test_a_transition_moves_it_to_the_moment_of_the_write_not_of_the_event(cast):
    with time_machine.travel(local(2026, 3, 2, 9, 5), tick=False):
        case = report(cast, at=REPORTED)
    with time_machine.travel(local(2026, 3, 9, 8), tick=False):
        # Back-dated, as an import records an old decision: still news to a client today.
        services.transition(case, "accept", actor=cast.olga, at=local(2026, 3, 2, 10),
                            data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    assert updated(case) == local(2026, 3, 9, 8)


@pytest.mark.django_db
def test_an_event_written_on_its_own_moves_it(cast):
    """Writers that insert only an event (a concealment decision, the sweep's steps) move
    it with the chain's head, in the same statement."""
    with time_machine.travel(local(2026, 3, 2, 9, 5), tick=False):
        case = report(cast, at=REPORTED)
    with time_machine.travel(local(2026, 3, 4, 15), tick=False):
        CaseEvent.objects.create(case=case, kind="note", at=local(2026, 3, 4, 15), data={"text": "电话回访。"})
    assert updated(case) == local(2026, 3, 4, 15)


@pytest.mark.django_db
def test_a_whole_row_save_moves_it(cast):
    with time_machine.travel(local(2026, 3, 2, 9, 5), tick=False):
        case = report(cast, at=REPORTED)
    stale = Case.objects.get(pk=case.pk)
    stale.summary = "管理员补充的简要情况。"
    with time_machine.travel(local(2026, 3, 5, 11), tick=False):
        stale.save()
    assert updated(case) == local(2026, 3, 5, 11)


@pytest.mark.django_db
def test_the_migration_sets_it_from_the_newest_event(cast):
    with time_machine.travel(local(2026, 3, 2, 9, 5), tick=False):
        case = report(cast, at=REPORTED)
        services.transition(case, "accept", actor=cast.olga, at=REPORTED + timedelta(hours=3),
                            data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
        quiet = report(cast, at=REPORTED, title="只有登记的旧案")
    Case.objects.update(updated_at=None)
    state = MigrationExecutor(connection).loader.project_state(("cases", "0022_case_updated_at"))
    importlib.import_module("cases.migrations.0022_case_updated_at").set_updated(state.apps, connection.schema_editor())
    assert updated(case) == REPORTED + timedelta(hours=3)
    assert updated(quiet) == REPORTED
