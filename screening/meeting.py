"""The data of the monthly 排查 meeting of a township (README: Pages): the month's new items,
what is open, overdue, of major risk or escalated, grouped by village and category; the
villages' returns (filed, nil, missing, late); the concealment suspects of the villages
whose return is settled, and those still awaited. Read-only: the decisions of the meeting
(assign, supervision order, escalate) are taken on each case through
workflow.services.transition, as anywhere else; on suspects through screening.returns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from cases.models import Case, OrgUnit
from cases.periods import month_period, parse_month
from workflow import counts
from workflow.permissions import visible_to

from .returns import (
    VillageReturn,
    VillageSuspects,
    concealment_suspects,
    return_counts,
    return_statuses,
    yields_suspects,
)
from .visits import VisitFigures, visit_figures

SECTIONS = ("new", "open", "overdue", "major", "escalated")


@dataclass
class MeetingCase:
    id: int
    number: str
    title: str
    village_id: int | None
    category: str
    stage: str
    risk: str
    reported_at: datetime
    sections: list[str]


@dataclass
class MeetingGroup:
    """One village (None: cases without one) and category, with the case ids per section."""

    village_id: int | None
    village: str
    category: str
    cases: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SECTIONS})


@dataclass
class MeetingData:
    township: OrgUnit
    month: date
    at: datetime
    cases: dict[int, MeetingCase]
    groups: list[MeetingGroup]
    totals: dict[str, int]
    returns: list[VillageReturn]
    return_totals: dict[str, int]
    suspects: list[VillageSuspects]
    # Villages whose return is not due yet: no suspects before it is (yields_suspects).
    awaiting: list[VillageReturn] = field(default_factory=list)
    # Each village's household visits (走访) of the month and how many raised a case, by
    # village id (villages without a visit left out); visit_totals sums them.
    visits: dict[int, VisitFigures] = field(default_factory=dict)
    visit_totals: VisitFigures = field(default_factory=VisitFigures)


def meeting_data(township: OrgUnit, month: date | str, *, user: Any = None,
                 at: datetime | None = None) -> MeetingData:
    """Everything the meeting of `township` for `month` reviews, as of `at`. With `user`,
    only the cases they may see."""
    at = at or timezone.now()
    month = parse_month(month)
    period = month_period(month)
    cases = (Case.objects.all() if user is None else visible_to(user)).within(township)
    # Values, not model instances: a township's open cases number in thousands.
    rows = (
        cases.filter(reported_at__lt=period.end)
        .exclude(stage=Case.Stage.CLOSED, closed_at__lt=period.start)
        .annotate(is_overdue=counts.overdue(at))
        .order_by("village__path", "category", "reported_at", "pk")
        .values_list("pk", "number", "title", "village_id", "village__name", "category", "stage", "risk",
                     "reported_at", "is_overdue")
    )
    found: dict[int, MeetingCase] = {}
    groups: dict[tuple[int | None, str], MeetingGroup] = {}
    totals = dict.fromkeys(SECTIONS, 0)
    month_start = period.start  # computed on each reading: once, not once per row
    for pk, number, title, village_id, village_name, category, stage, risk, reported_at, is_overdue in rows:
        is_open = stage != Case.Stage.CLOSED
        sections = [name for name, hit in (
            # Registered in the month (the rows stop at its end).
            ("new", reported_at >= month_start),
            ("open", is_open),
            ("overdue", is_open and is_overdue),
            ("major", is_open and risk == Case.Risk.MAJOR),
            ("escalated", stage == Case.Stage.ESCALATED),
        ) if hit]
        if not sections:
            continue
        found[pk] = MeetingCase(pk, number, title, village_id, category, stage, risk, reported_at, sections)
        key = (village_id, category)
        group = groups.setdefault(key, MeetingGroup(village_id, village_name or "", category))
        for name in sections:
            group.cases[name].append(pk)
            totals[name] += 1
    statuses = return_statuses(township, month, at)
    # One grouped query for every village of the township.
    visits = visit_figures([s.village.pk for s in statuses], month)
    return MeetingData(
        township=township, month=month, at=at, cases=found, groups=list(groups.values()), totals=totals,
        returns=statuses, return_totals=dict(return_counts(statuses)),
        suspects=concealment_suspects(township, month, at=at, statuses=statuses),
        awaiting=[s for s in statuses if not yields_suspects(s)],
        visits=visits, visit_totals=VisitFigures(sum(v.visits for v in visits.values()),
                                                 sum(v.raised for v in visits.values())),
    )


def by_village(data: MeetingData) -> dict[str, list[MeetingGroup]]:
    """The groups under their villages, for a template that nests them."""
    out: dict[str, list[MeetingGroup]] = defaultdict(list)
    for group in data.groups:
        out[group.village].append(group)
    return dict(out)
