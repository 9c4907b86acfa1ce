"""Case lists as pages and the API show them: the row plus what a list needs besides it
(the nearest open deadline, yellow and red cards), in a fixed number of queries whatever
the page size: units come joined, the deadline figures are subqueries of the same
statement."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, overload

from django.db.models import Case as DbCase
from django.db.models import Exists, F, Min, OuterRef, Q, When
from django.utils import timezone

from cases.models import Case

from . import counts
from .models import Deadline, SupervisionOrder
from .permissions import holding, memberships_of, visible_to


def with_listing(cases: Any, now: datetime | None = None) -> Any:
    """With the rows a list shows beside each case, and overdue (红牌) and warned (黄牌)
    as workflow.counts defines them; the nearest deadline is the case's own next_due_at."""
    now = now or timezone.now()
    # Read off the case row, where the database keeps the clocks' earliest times
    # (workflow.running): a subquery per row read each case's clocks.
    return cases.select_related("village", "responsible_unit", "lead_department", "assignee").annotate(
        overdue=counts.overdue(now),
        warned=counts.warned(now),
    )


# The lists of work a person's workbench shows and the queue filters by: defined once here.

def awaiting_acceptance(user: Any) -> Any:
    """待受理: registered cases `user` may accept."""
    return holding(user, "accept_case").filter(stage=Case.Stage.REPORTED)


def my_cases(user: Any) -> Any:
    """The open cases `user` carries or reported."""
    return visible_to(user).open().filter(Q(assignee=user) | Q(reporter=user))


def my_work(user: Any) -> Any:
    """The open cases `user` works on: their own, and those held by a unit of theirs
    (responsible, leading, co-handling (联调), or the case's village)."""
    # The units as values, not a subquery: so the database reads each arm from its index
    # (a township's open cases in tens of milliseconds at a million cases) instead of
    # testing every open case of the county against a hashed subquery.
    units = [m.unit_id for m in memberships_of(user)]
    # The open cases a unit of theirs co-handles, as values too: a department's few.
    co_handled = list(Case.co_departments.through.objects.filter(orgunit_id__in=units)
                      .exclude(case__stage=Case.Stage.CLOSED).values_list("case_id", flat=True))
    return visible_to(user).open().filter(
        Q(assignee=user) | Q(reporter=user) | Q(responsible_unit_id__in=units) | Q(lead_department_id__in=units)
        | Q(village_id__in=units) | Q(pk__in=co_handled))


def under_supervision() -> Exists:
    """As an expression on a case: a supervision order neither answered nor closed."""
    return Exists(SupervisionOrder.objects.filter(case=OuterRef("pk"), replied_at__isnull=True, closed_at__isnull=True))


def supervision_to_answer(user: Any) -> Any:
    """Cases with an open supervision order `user` may answer."""
    return holding(user, "reply_supervision").filter(under_supervision())


def risk_rank() -> Any:
    """Risk as a number to sort by (重大 first), where the stored codes sort by spelling."""
    return DbCase(When(risk=Case.Risk.MAJOR, then=3), When(risk=Case.Risk.SIGNIFICANT, then=2), default=1)


class Listing:
    """`cases` sorted by `order` (with the annotations the order names), as a Paginator
    pages them, each page with what `with_listing` adds: the page's ids are chosen first
    from the cases alone, then only those rows are read with their units, assignee and
    deadline figures. Read together, the joins and figures were made for every case
    selected before the sort kept a page of them: a county's open cases, a second a page."""

    def __init__(self, cases: Any, order: list[Any], now: datetime | None = None, **annotations: Any) -> None:
        self.cases = cases
        self.order = order
        self.annotations = annotations
        self.now = now or timezone.now()
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            self._count = self.cases.count()
        return self._count

    @overload
    def __getitem__(self, index: int) -> Case: ...

    @overload
    def __getitem__(self, index: slice) -> list[Case]: ...

    def __getitem__(self, index: int | slice) -> Case | list[Case]:
        if isinstance(index, int):
            return self[index:index + 1][0]
        start, stop = index.start or 0, index.stop
        if stop is None or index.step is not None:
            raise TypeError("a listing takes slices with a stop and no step")
        if stop <= start:
            return []
        ids = self.page_ids(start, stop)
        rows = {case.pk: case for case in with_listing(self.cases.filter(pk__in=ids), self.now)}
        # A case that left the selection between the two reads (moved on by someone else
        # meanwhile, out of the stage asked for) is left out: the page is a row short,
        # never showing a case no longer selected, or failing.
        return [rows[pk] for pk in ids if pk in rows]

    def page_ids(self, start: int, stop: int) -> list[int]:
        return list(self.cases.annotate(**self.annotations).order_by(*self.order, "pk")
                    .values_list("pk", flat=True)[start:stop])


class NearestDueFirst(Listing):
    """The listing by nearest open deadline, as `F("next_due_at").asc(nulls_last=True)`
    would sort it (cases without an open deadline last, ties by id).

    That sort makes the database read every case selected before the first row comes out
    (a county's hundred thousand open cases). Most pages are read from the other side instead: the first
    open deadlines in due order (the partial index deadline_open_due), each case once (at
    its earliest), a window of them; then which of their cases are among `cases`, in that
    order. A case of `cases` outside the window comes after every case in it, so when the
    window holds the page, the page is right. The first window is eight times the rows up
    to the page's end (at most LARGEST_WINDOW), which is plenty when the selection is most
    open cases (a county's supervisor); when it falls short, a second one sized by the
    share of the first that was selected (a township's cases), up to LARGEST_WINDOW.
    Beyond that (a village's few cases, a rare filter, a page deep in the list) the plain
    sort is used, whose cost follows the selection, small for the narrow ones; selections
    of fewer than FEW cases go to it directly. Each window is two queries; none is per
    row."""

    LARGEST_WINDOW = 4000
    FEW = 1000

    def __init__(self, cases: Any, now: datetime | None = None) -> None:
        super().__init__(cases, [F("next_due_at").asc(nulls_last=True)], now)

    def page_ids(self, start: int, stop: int) -> list[int]:
        size = min(8 * stop, self.LARGEST_WINDOW)
        while stop <= size and self.count() >= self.FEW:
            ids, share = self.from_window(start, stop, size)
            if ids is not None:
                return ids
            if share is None or size == self.LARGEST_WINDOW:
                break
            # Half as much again as the share seen suggests is needed.
            size = min(self.LARGEST_WINDOW, max(2 * size, math.ceil(1.5 * stop / max(share, 1 / size))))
        return super().page_ids(start, stop)

    def from_window(self, start: int, stop: int, size: int) -> tuple[list[int] | None, float | None]:
        """The page's case ids from a window of `size` earliest deadlines, or None if the
        window does not reach the end of the page; and the share of the window's cases
        that are in `cases`, or None when the window held every open deadline (a larger
        one would hold no more)."""
        earlier = Deadline.objects.filter(case=OuterRef("case"), met_at__isnull=True).filter(
            Q(due_at__lt=OuterRef("due_at")) | Q(due_at=OuterRef("due_at"), pk__lt=OuterRef("pk")))
        window = list(Deadline.objects.filter(met_at__isnull=True).exclude(Exists(earlier))
                      .order_by("due_at", "case_id").values_list("case_id", flat=True)[:size])
        # A literal list: the database reads these cases by primary key rather than
        # planning a join of the deadlines with the whole selection.
        chosen = set(self.cases.filter(pk__in=window).order_by().values_list("pk", flat=True))
        ordered = [pk for pk in window if pk in chosen]
        if len(ordered) >= stop:
            return ordered[start:stop], len(ordered) / len(window)
        # A window shorter than asked for holds every open deadline; the cases without one
        # would come next, and the plain sort finds those.
        return None, (len(ordered) / len(window) if len(window) == size else None)


def listing(cases: Any, terms: list[str]) -> Listing:
    """`cases` as a Listing ordered by field names (a leading "-" for descending), where
    `next_due_at` is the nearest open deadline: by itself, ascending, the windows of
    NearestDueFirst; otherwise the plain sort, cases without an open deadline last."""
    terms = [t for t in terms if t not in ("pk", "-pk", "id", "-id")]
    if terms == ["next_due_at"]:
        return NearestDueFirst(cases)
    order = [F("next_due_at").desc(nulls_last=True) if t == "-next_due_at"
             else F("next_due_at").asc(nulls_last=True) if t == "next_due_at" else t for t in terms]
    return Listing(cases, order)


def led_by(user: Any) -> Any:
    """领导包案: the open cases `user` has taken in personal charge (Case.leader), those they
    may still see; a case leaves the list when it closes or its charge is released. The
    supervision board lists them under the leader's name."""
    return visible_to(user).open().filter(leader=user)


def most_pressing(cases: Any, n: int, now: datetime | None = None, *, units: counts.UnitCases | None = None,
                  window: int = 600) -> list[int]:
    """The ids of the first `n` of `cases` with a card now (workflow.counts: warned or
    overdue), by the earliest due time among their carded clocks: so every red case
    before every yellow one (a red case's is past, a yellow one's is not), the longest
    overdue first, then the nearest due. With `units`, only the cases of those units
    (Case.objects.within, as counts.UnitCases tells them apart).

    Read from the other side, as NearestDueFirst does: the first `window` carded clocks
    in due order (the partial index deadline_open_due), each case at its earliest, then
    which of those cases are among `cases`, by their ids, and of the units, in Python:
    asked of the database, the units' villages made it read the index of every case of
    theirs (a county's: 120 ms against 8). When the window holds `n` of them, or every
    carded clock, that is the answer: two small queries. Otherwise (a narrow selection
    among many carded cases) one grouped query over the carded clocks of `cases` gives
    it, whose cost follows the carded clocks; it tells the units apart by
    UnitCases.condition, which leaves in the accusations against them that `cases` from
    workflow.permissions.visible_to leaves out already for one's own units."""
    now = now or timezone.now()
    carded = (Deadline.objects.running()
              .filter(Q(warn_at__lte=now) | Q(due_at__lt=now)))
    clocks = list(carded.order_by("due_at", "case_id").values_list("case_id", flat=True)[:window])
    earliest = list(dict.fromkeys(clocks))
    # A literal list: the database reads these cases by primary key.
    rows = cases.filter(pk__in=earliest).order_by().values_list("pk", *counts.OWNERSHIP)
    chosen = {pk for pk, *ownership in rows if units is None or units.owners(*ownership)}
    ordered = [pk for pk in earliest if pk in chosen]
    if len(ordered) >= n or len(clocks) < window:
        return ordered[:n]
    selection = cases if units is None else cases.filter(units.condition())
    return list(carded.filter(case__in=selection.order_by().values("pk")).values("case_id")
                .annotate(first_due=Min("due_at")).order_by("first_due", "case_id")
                .values_list("case_id", flat=True)[:n])
