"""cases.bulk.insert_all writes what bulk_create writes: on PostgreSQL it reads the
values straight off the instances, so every kind of value a writer hands it (lazy
translations, choices, JSON, empty foreign keys, aware datetimes) must arrive as the
field would have stored it, and each instance gets its own row's key."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.translation import gettext_lazy

from cases.audit import verify
from cases.bulk import insert_all
from cases.models import CaseEvent
from notifications.models import Notification
from tests.conftest import local, report

pytestmark = pytest.mark.django_db


def test_each_instance_gets_the_key_of_its_own_row(cast: Any) -> None:
    case = report(cast, at=local(2026, 3, 2, 9))
    texts = [f"第{i}条" for i in range(5)]
    rows = [Notification(user=cast.olga, kind="overdue", level=Notification.Level.OVERDUE, text=t, case=case,
                         created_at=local(2026, 3, 9, 8, i)) for i, t in enumerate(texts)]
    insert_all(Notification, rows)
    assert all(row.pk is not None and not row._state.adding for row in rows)
    assert [Notification.objects.get(pk=row.pk).text for row in rows] == texts


def test_values_arrive_as_the_fields_store_them(cast: Any) -> None:
    row = Notification(user=cast.olga, kind="warning", level=Notification.Level.WARNING,
                       text=gettext_lazy("Queues"), case=None, deadline=None, created_at=local(2026, 3, 9, 8))
    insert_all(Notification, [row])
    stored = Notification.objects.get(pk=row.pk)
    assert (stored.level, stored.text, stored.case_id, stored.deadline_id, stored.read_at) == (
        "warning", str(gettext_lazy("Queues")), None, None, None)
    assert stored.created_at == local(2026, 3, 9, 8)


def test_the_audit_trail_chains_events_written_in_bulk(cast: Any) -> None:
    case = report(cast, at=local(2026, 3, 2, 9))
    events = [CaseEvent(case=case, kind="note", from_stage=case.stage, to_stage=case.stage, actor=cast.olga,
                        at=local(2026, 3, 3, 9, i), data={"text": f"记录{i}", "n": i, "nested": {"ok": True}})
              for i in range(3)]
    CaseEvent.objects.bulk_create(events)
    stored = list(CaseEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk"))
    assert [e.data for e in stored] == [{"text": f"记录{i}", "n": i, "nested": {"ok": True}} for i in range(3)]
    assert [e.hash for e in stored] == [e.hash for e in events]
    assert list(verify()) == []
