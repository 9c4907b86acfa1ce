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

from django.db.models import Case as DbCase
from django.db.models import Count, F, Q, When, Window
from django.db.models.functions import RowNumber
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
    """One village (None: cases without one) and category, with its cases per section."""

    village_id: int | None
    village: str
    category: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))


@dataclass
class MeetingData:
    township: OrgUnit
    month: date
    at: datetime
    # The cases each village lists (village id → case ids, most pressing first: `listed`),
    # and those cases by id.
    listed: dict[int | None, list[int]]
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


# The open cases listed under each village, most pressing first; the rest are counted, with
# a link to them in the queue. A meeting discusses what is late, major or escalated, and the
# month's new cases; a township's hundreds of open cases on one page helped nobody.
ROWS_PER_VILLAGE = 20
PRESSING = ("overdue", "major", "escalated", "new")


def meeting_data(township: OrgUnit, month: date | str, *, user: Any = None,
                 at: datetime | None = None, listed: int = ROWS_PER_VILLAGE) -> MeetingData:
    """Everything the meeting of `township` for `month` reviews, as of `at`: the cases of
    each section counted by village and category, and up to `listed` open cases of each
    village, overdue first, then major, escalated, new this month, then the others, each
    the oldest first. With `user`, only the cases they may see. Two grouped statements
    however many cases: a township's thousands of open cases are counted by the database,
    not read."""
    at = at or timezone.now()
    month = parse_month(month)
    period = month_period(month)
    cases = (Case.objects.all() if user is None else visible_to(user)).within(township)
    # The cases the month's meeting looks at: registered by its end and not closed before it.
    month_cases = cases.filter(reported_at__lt=period.end).exclude(stage=Case.Stage.CLOSED, closed_at__lt=period.start)
    is_open = ~Q(stage=Case.Stage.CLOSED)
    sections = {
        # Registered in the month (the cases stop at its end).
        "new": Q(reported_at__gte=period.start),
        "open": is_open,
        "overdue": is_open & Q(counts.overdue(at)),
        "major": is_open & Q(risk=Case.Risk.MAJOR),
        "escalated": Q(stage=Case.Stage.ESCALATED),
    }
    groups = []
    totals = dict.fromkeys(SECTIONS, 0)
    for row in (month_cases.order_by().values("village_id", "village__name", "village__path", "category")
                .annotate(**{f"n_{name}": Count("pk", filter=hit) for name, hit in sections.items()})
                .order_by(F("village__path").asc(nulls_last=True), "category")):
        figures = {name: row[f"n_{name}"] for name in SECTIONS}
        if not any(figures.values()):
            continue
        groups.append(MeetingGroup(row["village_id"], row["village__name"] or "", row["category"], figures))
        for name, n in figures.items():
            totals[name] += n
    # The closed cases are ranked after every open one rather than left out: with "open" in
    # the statement's condition, PostgreSQL read a county's open cases from the covering
    # index (250 ms at a million cases) instead of the township's by village, as the
    # count above does (20 ms). The first `listed` places of a village are still its most
    # pressing open cases; the closed ones among them are dropped below.
    closed_last = len(PRESSING) + 1
    rank = DbCase(When(stage=Case.Stage.CLOSED, then=closed_last),
                  *(When(sections[name], then=i) for i, name in enumerate(PRESSING)), default=len(PRESSING))
    rows = (month_cases
            .annotate(is_overdue=counts.overdue(at), rank=rank,
                      place=Window(RowNumber(), partition_by=[F("village_id")],
                                   order_by=[F("rank").asc(), F("reported_at").asc(), F("pk").asc()]))
            .filter(place__lte=listed)
            .order_by("village_id", "place")
            .values_list("pk", "number", "title", "village_id", "category", "stage", "risk", "reported_at",
                         "is_overdue"))
    found: dict[int, MeetingCase] = {}
    by_village: dict[int | None, list[int]] = {}
    for pk, number, title, village_id, category, stage, risk, reported_at, is_overdue in rows:
        if stage == Case.Stage.CLOSED:
            continue
        hits = [name for name, hit in (
            ("new", reported_at >= period.start), ("open", True), ("overdue", is_overdue),
            ("major", risk == Case.Risk.MAJOR), ("escalated", stage == Case.Stage.ESCALATED)) if hit]
        found[pk] = MeetingCase(pk, number, title, village_id, category, stage, risk, reported_at, hits)
        by_village.setdefault(village_id, []).append(pk)
    statuses = return_statuses(township, month, at)
    # One grouped query for every village of the township.
    visits = visit_figures([s.village.pk for s in statuses], month)
    return MeetingData(
        township=township, month=month, at=at, listed=by_village, cases=found, groups=groups, totals=totals,
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
