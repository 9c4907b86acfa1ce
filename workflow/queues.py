"""Case lists as pages and the API show them: the row plus what a list needs besides it
(the nearest open deadline, yellow and red cards), in a fixed number of queries whatever
the page size: units come joined, deadlines aggregated in the same statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Case as DbCase
from django.db.models import Exists, Min, OuterRef, Q, When
from django.utils import timezone

from cases.models import Case

from .models import Deadline


def open_deadlines() -> Any:
    return Deadline.objects.filter(case=OuterRef("pk"), met_at__isnull=True, paused_at__isnull=True)


def with_listing(cases: Any, now: datetime | None = None) -> Any:
    """Annotates next_due_at, overdue (红牌: an open deadline past due) and warned (黄牌:
    one past its warning time). Cards follow the clock, not the sweep's marks, so a list
    is right even while the sweep catches up."""
    now = now or timezone.now()
    return cases.select_related("village", "responsible_unit", "lead_department", "assignee").annotate(
        next_due_at=Min("deadlines__due_at", filter=Q(deadlines__met_at__isnull=True)),
        overdue=Exists(open_deadlines().filter(due_at__lt=now)),
        warned=Exists(open_deadlines().filter(warn_at__lte=now)),
    )


def due_before(cases: Any, moment: datetime) -> Any:
    """Cases with an open deadline due before `moment`."""
    return cases.filter(Exists(open_deadlines().filter(due_at__lt=moment)))


def risk_rank() -> Any:
    """Risk as a number to sort by (重大 first), where the stored codes sort by spelling."""
    return DbCase(When(risk=Case.Risk.MAJOR, then=3), When(risk=Case.Risk.SIGNIFICANT, then=2), default=1)
