"""The counts every page, ledger, chart and score is made of, each defined here once
(docs/counts.md explains them for readers of the figures).

- 排查 (found): a case registered — its `report` event, Case.reported_at — in the period.
- 调处 (handled): a found case taken up for handling, i.e. it entered 调查核实 by 受理
  (accept), 接办 (take_over) or 交办 (send_back). Case.accepted_at is the time of the
  first of those events, written by the transition itself.
- 成功 (succeeded): a handled case resolved (化解) and not reopened since: Case.resolved_at,
  written by resolve and cleared by reopen. Resolve leaves only 调查核实 or 调解中, which a
  case enters only through the events above, so every 成功 is 调处 and every 调处 is 排查.
- On-time acceptance (及时受理): the acceptance clock of a case registered in the period
  (受理 for a dispute; 登记、转送并告知 for a petition, 信访工作条例 第二十二、二十三条) that has
  stopped, or fallen due, by the time of counting; on time when it stopped by its due time.
- On-time completion (按期办结): the mediation and petition-handling clocks that stopped in
  the period, or fell due in it without stopping; on time when stopped by their due time.
- Overdue now (红牌): a case with a running clock — open and not paused — past its due
  time. A paused clock (鉴定, 听证 …) is not running, so it makes nothing overdue.
- Warned now (黄牌): a running clock past its warning time.

A card follows the clock, not the sweep's marks, on lists and beside each clock alike
(`card`), so a page is right even while the sweep catches up. Lists and counts read it off
the case row, where the database keeps the earliest due and warning times of the case's
running clocks (workflow.running).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.db.models.functions import Trunc
from django.utils import timezone

from cases.models import Case, OrgUnit
from cases.periods import Period, month_period

from .models import WINDOWS, CaseTally, Deadline, DeadlineKind, SupervisionOrder
from .tally import BEIJING

HANDLED = Q(accepted_at__isnull=False)
SUCCEEDED = Q(resolved_at__isnull=False)

# The three counts of a selection of registered cases, as conditions (Q() is every case);
# TALLY makes them aggregates, tally_by_unit lists each unit's cases of each.
TALLY_CONDITIONS = {"found": Q(), "handled": HANDLED, "succeeded": SUCCEEDED}
TALLY = {name: Count("pk", filter=condition) if condition else Count("pk")
         for name, condition in TALLY_CONDITIONS.items()}

ACCEPTANCE_CLOCKS = (DeadlineKind.ACCEPTANCE, DeadlineKind.REGISTRATION)
COMPLETION_CLOCKS = (DeadlineKind.MEDIATION, DeadlineKind.HANDLING)


def found_in(period: Period, prefix: str = "") -> Q:
    """排查, as a condition on a case (`prefix` "case__" on its clocks): registered in `period`."""
    return Q(**{f"{prefix}reported_at__gte": period.start, f"{prefix}reported_at__lt": period.end})


def registered_in(cases: QuerySet[Case], period: Period) -> QuerySet[Case]:
    """排查: the cases registered in `period`."""
    return cases.filter(found_in(period))


def _running_before(column: str, moment: datetime, *, inclusive: bool = False) -> ExpressionWrapper:
    """A case's earliest running clock of `column` (Case.running_due_at or running_warn_at,
    kept by the database: workflow.running) before `moment`; false, never unknown, for a
    case with no running clock, so that it negates and annotates as a plain flag."""
    lookup = f"{column}__lte" if inclusive else f"{column}__lt"
    return ExpressionWrapper(Q(**{f"{column}__isnull": False, lookup: moment}), output_field=BooleanField())


def overdue(now: datetime | None = None) -> ExpressionWrapper:
    """红牌, as a condition on a case: a running clock past due at `now`."""
    return _running_before("running_due_at", now or timezone.now())


def warned(now: datetime | None = None) -> ExpressionWrapper:
    """黄牌 or worse, as a condition on a case: a running clock past its warning time."""
    return _running_before("running_warn_at", now or timezone.now(), inclusive=True)


def card(clock: Any, now: datetime | None = None) -> str:
    """The card shown beside one clock (a case's deadline or a return's): "red" when it
    runs past due, "yellow" past its warning time, "" otherwise — the definitions of
    `overdue` and `warned` above, for one clock. A met or paused clock shows none, nor a
    window of the parties' (WINDOWS)."""
    if (clock.met_at is not None or getattr(clock, "paused_at", None) is not None
            or getattr(clock, "kind", "") in WINDOWS):
        return ""
    now = now or timezone.now()
    if clock.due_at < now:
        return "red"
    return "yellow" if clock.warn_at <= now else ""


def due_before(cases: QuerySet[Case], moment: datetime) -> QuerySet[Case]:
    """The cases with a running clock due before `moment`; `overdue` when it is now."""
    return cases.filter(_running_before("running_due_at", moment))


def acceptance_counted(at: datetime) -> Q:
    """及时受理, as a condition on a clock: an acceptance clock stopped, or fallen due, by `at`
    (counted for the cases registered in the period)."""
    return Q(kind__in=ACCEPTANCE_CLOCKS) & (Q(met_at__isnull=False) | Q(due_at__lte=at))


def completion_counted(period: Period, at: datetime) -> Q:
    """按期办结, as a condition on a clock: a completion clock stopped in `period`, or fallen
    due in it (before `at`) without stopping."""
    until = min(period.end, at)
    return Q(kind__in=COMPLETION_CLOCKS) & (
        Q(met_at__gte=period.start, met_at__lt=period.end)
        | Q(met_at__isnull=True, due_at__gte=period.start, due_at__lt=until))


def acceptance_clocks(registered: QuerySet[Case], at: datetime) -> QuerySet[Deadline]:
    """The acceptance clocks counted for the cases `registered`, as of `at`."""
    return Deadline.objects.filter(case__in=registered).filter(acceptance_counted(at))


def completion_clocks(cases: QuerySet[Case], period: Period, at: datetime) -> QuerySet[Deadline]:
    """The completion clocks of `cases` counted for `period`, as of `at`."""
    return Deadline.objects.filter(case__in=cases).filter(completion_counted(period, at))


def on_time(rows: Iterable[tuple[int, datetime | None, datetime]]) -> tuple[list[int], list[int]]:
    """The cases of counted clocks (case id, met_at, due_at), and of them those with every
    counted clock on time (stopped by its due time): a case with any late clock is late."""
    rows = list(rows)
    late = {case for case, met, due in rows if met is None or met > due}
    counted = sorted({case for case, _, _ in rows})
    return counted, [case for case in counted if case not in late]


def on_time_cases(clocks: QuerySet[Deadline]) -> tuple[list[int], list[int]]:
    """The cases counted by `clocks`, and of them those on time (`on_time`)."""
    return on_time(clocks.values_list("case_id", "met_at", "due_at"))


def rate(hits: int, counted: int) -> float | None:
    """A share in percent to one decimal, or None with nothing counted."""
    return round(100 * hits / counted, 1) if counted else None


def tally_cases(cases: QuerySet[Case]) -> dict[str, Any]:
    """排查, 调处 and 成功 of a selection, as one grouped query."""
    return cases.order_by().aggregate(**TALLY)


# ---------------------------------------------------------------------------------------
# By unit: the same counts for many units at once, in a fixed number of queries however
# many units and cases there are (the assessment's villages or townships, issue 16).

# What decides which units a case belongs to (Case.objects.within).
OWNERSHIP = ("village_id", "registered_unit_id", "accused_unit_id", "lead_department_id")


class UnitCases:
    """The cases of each of `units` as Case.objects.within(unit) selects them, told apart
    in one query rather than one per unit: a case belongs to a unit when its village —
    or, without a village, the unit that registered it — lies at or beneath the unit (a
    department: when the department leads it), unless it accuses the unit or one above it
    (信访工作条例 第三十条). Units may nest: a case then counts for each that holds it.

    Reading the units beneath them takes one query, made here."""

    def __init__(self, units: Iterable[OrgUnit]) -> None:
        self.units = list(units)
        areas = [u for u in self.units if u.level != OrgUnit.Level.DEPARTMENT]
        self.departments = {u.pk for u in self.units if u.level == OrgUnit.Level.DEPARTMENT}
        self.ancestors = {u.pk: frozenset(u.ancestor_ids) for u in self.units}
        beneath: list[tuple[int, str, str]] = []
        if areas:
            reach = reduce(or_, (Q(path__startswith=u.path) for u in areas))
            beneath = list(OrgUnit.objects.filter(reach).values_list("pk", "path", "level"))
        # Each unit at or beneath an area → the areas it lies in.
        self.areas_of = {pk: [u.pk for u in areas if path.startswith(u.path)] for pk, path, _ in beneath}
        self.villages = [pk for pk, _, level in beneath if level == OrgUnit.Level.VILLAGE]
        self._owners: dict[tuple[int | None, ...], list[int]] = {}

    def condition(self, prefix: str = "") -> Q:
        """The cases of any of the units (`prefix` "case__" for their clocks); as
        within() does, by the ids of the units beneath, which the foreign-key indexes read."""
        ids = list(self.areas_of)
        return (Q(**{f"{prefix}village_id__in": ids})
                | Q(**{f"{prefix}village__isnull": True, f"{prefix}registered_unit_id__in": ids})
                | Q(**{f"{prefix}lead_department_id__in": sorted(self.departments)}))

    def owners(self, village: int | None, registered: int | None, accused: int | None,
               lead: int | None) -> list[int]:
        """The units (of these) a case with these OWNERSHIP columns belongs to."""
        key = (village, registered, accused, lead)
        if key not in self._owners:
            home = registered if village is None else village
            owners = [a for a in self.areas_of.get(home, ()) if accused not in self.ancestors[a]]
            if lead in self.departments and accused not in self.ancestors[lead]:
                owners.append(lead)
            self._owners[key] = owners
        return self._owners[key]

    def deciding(self, prefix: str = "") -> dict[str, Any]:
        """The OWNERSHIP columns as expressions that keep only what tells the units' cases
        apart (`owners` reads them): an accused unit only where it is one of the units or
        above them, the lead department only where departments are asked for, the village
        or registering unit only where there are several areas. Grouped by these, a
        county's rollup is a row per month, not per month and village and department."""
        areas = [u for u in self.units if u.level != OrgUnit.Level.DEPARTMENT]
        above = sorted(set().union(*self.ancestors.values())) if self.ancestors else []
        nothing = Value(0, output_field=IntegerField())
        columns: dict[str, Any] = {
            "accused_unit_id": SqlCase(When(**{f"{prefix}accused_unit_id__in": above},
                                            then=F(f"{prefix}accused_unit_id")), default=nothing),
            "lead_department_id": F(f"{prefix}lead_department_id") if self.departments else nothing,
        }
        if len(areas) == 1 and not self.departments:
            # Every row asked for lies within the one area: it stands for them all.
            columns["village_id"] = Value(areas[0].pk, output_field=IntegerField())
            columns["registered_unit_id"] = nothing
        else:
            columns["village_id"] = F(f"{prefix}village_id")
            columns["registered_unit_id"] = F(f"{prefix}registered_unit_id")
        return {f"own_{name}": columns[name] for name in OWNERSHIP}

    def owners_of_village(self, village: int) -> list[int]:
        """The units (of these, departments aside) a village lies at or beneath."""
        return self.areas_of.get(village, [])

    def split(self, rows: QuerySet[Any], conditions: dict[str, Q], fields: Sequence[str],
              prefix: str = "") -> dict[int, dict[str, list[Any]]]:
        """One query: the `rows` (cases, or with `prefix` "case__" their clocks) of the
        units' cases that meet any of `conditions` (Q() is every row); for each unit and
        condition, the `fields` of its rows that meet it (the value itself for one field)."""
        out: dict[int, dict[str, list[Any]]] = {u.pk: {name: [] for name in conditions} for u in self.units}
        if not self.units or not conditions:
            return out
        n = len(fields)
        for row, met in flagged(rows.filter(self.condition(prefix)), conditions,
                                [*fields, *(prefix + f for f in OWNERSHIP)]):
            value = row[0] if n == 1 else row[:n]
            for unit in self.owners(*row[n:]):
                for name in met:
                    out[unit][name].append(value)
        return out


    def count(self, rows: QuerySet[Any], conditions: dict[str, Q], *, within: bool = True,
              ) -> dict[int, dict[str, int]]:
        """`split` counted by the database: for each unit and condition, how many of the
        `rows` (cases) of the unit's cases meet it. One query, whose rows are the
        combinations of the columns that tell the units apart (`deciding`), not the cases:
        a county-year's cases are counted without being read. `within` False leaves the
        units' condition out, for `rows` that lie within the units already or are read
        whole anyway (the cases of another unit are nobody's here): asked for a county's
        three hundred villages by id, the database reads the cases' table instead of an
        index that holds what is counted."""
        out = {u.pk: dict.fromkeys(conditions, 0) for u in self.units}
        if not self.units or not conditions:
            return out
        if within:
            rows = rows.filter(self.condition())
        if all(conditions.values()):
            rows = rows.filter(reduce(or_, conditions.values()))
        # Named by position: the names are the caller's words.
        figures = {f"n_{i}": Count("pk", filter=condition) if condition else Count("pk")
                   for i, condition in enumerate(conditions.values())}
        deciding = self.deciding()
        for row in rows.order_by().annotate(**deciding).values(*deciding).annotate(**figures):
            for unit in self.owners(*(row[c] or None for c in deciding)):
                for i, name in enumerate(conditions):
                    out[unit][name] += row[f"n_{i}"]
        return out


def flagged(rows: QuerySet[Any], conditions: dict[str, Q], fields: Sequence[str],
            ) -> Iterator[tuple[tuple[Any, ...], list[str]]]:
    """One query: the `fields` of the `rows` that meet any of `conditions` (Q() is every
    row), each with the names of the conditions it meets, as the database decides them."""
    tested = [name for name, c in conditions.items() if c]
    every = [name for name, c in conditions.items() if not c]
    # Column aliases by position: the names are the caller's words.
    tests = {f"meets_{i}": ExpressionWrapper(conditions[name], output_field=BooleanField())
             for i, name in enumerate(tested)}
    if not every:
        rows = rows.filter(reduce(or_, conditions.values()))
    n = len(fields)
    for row in rows.annotate(**tests).order_by().values_list(*fields, *tests):
        yield row[:n], every + [name for name, flag in zip(tested, row[n:], strict=True) if flag]


def unit_cases(units: Iterable[OrgUnit] | UnitCases) -> UnitCases:
    """`units` told apart (UnitCases), reading the units beneath them unless done already."""
    return units if isinstance(units, UnitCases) else UnitCases(units)


def tally_by_unit(units: Iterable[OrgUnit] | UnitCases, period: Period) -> dict[int, dict[str, list[int]]]:
    """排查, 调处 and 成功 of each unit's cases registered in `period`: unit id → count
    name → the case ids, sorted; one query for the cases (and one for the units beneath,
    unless `units` is a UnitCases already)."""
    grouped = unit_cases(units).split(registered_in(Case.objects.all(), period), TALLY_CONDITIONS, ["pk"])
    return {unit: {name: sorted(ids) for name, ids in figures.items()} for unit, figures in grouped.items()}


def on_time_by_unit(units: Iterable[OrgUnit] | UnitCases, period: Period, at: datetime, *,
                    which: Sequence[str] = ("acceptance", "completion"),
                    ) -> dict[int, dict[str, tuple[list[int], list[int]]]]:
    """及时受理 and 按期办结 of each unit for `period` as of `at`: unit id → "acceptance" or
    "completion" → (the cases counted, those on time), as acceptance_clocks and
    completion_clocks with on_time_cases give them for one unit; one query for each of the
    two (and one for the units beneath, unless `units` is a UnitCases already).

    Two queries, not one: the acceptance clocks are found from the cases registered in the
    period (by their date's index), the completion clocks by their own times; asked
    together, every clock would be joined to its case (at a million cases 1.5 s against
    0.7 + 0.3 s)."""
    grouping = unit_cases(units)
    conditions = {"acceptance": found_in(period, "case__") & acceptance_counted(at),
                  "completion": completion_counted(period, at)}
    out: dict[int, dict[str, tuple[list[int], list[int]]]] = {u.pk: {} for u in grouping.units}
    for name in which:
        grouped = grouping.split(Deadline.objects.all(), {name: conditions[name]}, ["case_id", "met_at", "due_at"],
                                 prefix="case__")
        for unit, figures in grouped.items():
            out[unit][name] = on_time(figures[name])
    return out


# ---------------------------------------------------------------------------------------
# From the rollup (workflow.tally): the counts of registered cases over months or years,
# without counting the cases themselves. The figures of a unit as Case.objects.within(unit)
# selects its cases, the same for everyone who may review it (workflow.permissions).

# The rollup's figures (its columns of OWNERSHIP hold 0 for none); 及时受理 takes what the rollup cannot know, the acceptance clocks
# still running and fallen due by the time of counting (late), from the clocks.
TALLIED = {"found": Q(), "handled": Q(handled=True), "succeeded": Q(succeeded=True),
           # 化解率 of the assessment: the resolved among the taken up.
           "handled_succeeded": Q(handled=True, succeeded=True),
           "accepted_on_time": Q(acceptance="on_time"), "accepted_late": Q(acceptance="late")}
FIGURES = (*TALLIED, "acceptance_counted", "acceptance_on_time")


def tallied(units: Iterable[OrgUnit] | UnitCases, first: date, end: date, at: datetime, *,
            by: Sequence[str] = ("month",), acceptance: bool = True) -> dict[int, dict[tuple[Any, ...], dict[str, int]]]:
    """排查, 调处, 成功 and 及时受理 of each unit's cases registered in the months from `first`
    up to `end` (dates of first days), as of `at`, grouped by columns of the rollup (`by`:
    "month", "category", "kind", "village_id"): unit id → values of `by` → figure → number.
    One query of the rollup, and with `acceptance` one of the running acceptance clocks
    fallen due; however many units, months and cases."""
    grouping = unit_cases(units)
    out: dict[int, dict[tuple[Any, ...], dict[str, int]]] = {u.pk: {} for u in grouping.units}

    def figures(unit: int, key: tuple[Any, ...]) -> dict[str, int]:
        return out[unit].setdefault(key, dict.fromkeys(FIGURES, 0))

    # Only the rows of the units' cases (the rollup's columns hold 0 for none): a township
    # reads its own villages' rows, not the county's.
    areas = list(grouping.areas_of)
    theirs = (Q(village_id__in=areas) | Q(village_id=0, registered_unit_id__in=areas)
              | Q(lead_department_id__in=sorted(grouping.departments)))
    deciding = grouping.deciding()
    rows = (CaseTally.objects.filter(theirs, month__gte=first, month__lt=end).exclude(n=0).order_by()
            .annotate(**deciding).values(*by, *deciding)
            # Named apart from the rollup's columns, which the conditions read.
            .annotate(**{f"n_{name}": Sum("n", filter=condition) if condition else Sum("n")
                         for name, condition in TALLIED.items()}))
    for row in rows:
        key = tuple(row[c] for c in by)
        for unit in grouping.owners(*(row[c] or None for c in deciding)):
            got = figures(unit, key)
            for name in TALLIED:
                got[name] += row[f"n_{name}"] or 0
    late_running: dict[tuple[int, tuple[Any, ...]], int] = {}
    if acceptance:
        start, stop = month_period(first).start, month_period(end).start
        # Counted by the database, a row per combination of the columns, not per clock.
        case_columns = {"month": Trunc("case__reported_at", "month", output_field=DateField(), tzinfo=BEIJING)}
        keys = {f"by_{c}": case_columns.get(c, F(f"case__{c}")) for c in by}
        deciding = grouping.deciding("case__")
        clocks = (Deadline.objects.filter(grouping.condition("case__"), kind__in=ACCEPTANCE_CLOCKS,
                                          met_at__isnull=True, due_at__lte=at, case__reported_at__gte=start,
                                          case__reported_at__lt=stop, case__acceptance="open").order_by()
                  .annotate(**keys, **deciding).values(*keys, *deciding)
                  # A case may have two acceptance clocks fallen due: it is one case.
                  .annotate(late=Count("case_id", distinct=True)))
        for row in clocks:
            key = tuple(row[k] for k in keys)
            for unit in grouping.owners(*(row[c] or None for c in deciding)):
                late_running[unit, key] = late_running.get((unit, key), 0) + row["late"]
    for by_key in out.values():
        for got in by_key.values():
            got["acceptance_on_time"] = got["accepted_on_time"]
            got["acceptance_counted"] = got["accepted_on_time"] + got["accepted_late"]
    for (unit, key), late in late_running.items():
        figures(unit, key)["acceptance_counted"] += late
    return out


# ---------------------------------------------------------------------------------------
# What a supervisor presses on (督办), by unit: the cards of the open cases, the escalated
# ones and those under a supervision order, for many units in one statement however many
# units and cases (the supervision board, issue 16).

PRESSING_FIGURES = ("red", "yellow", "escalated", "supervised")


def pressing_by_unit(cases: QuerySet[Case], units: Iterable[OrgUnit] | UnitCases,
                     now: datetime | None = None) -> dict[int, dict[str, int]]:
    """Of `cases` (a page's selection, e.g. visible_to(user).open()), those of each unit
    as Case.objects.within selects them (UnitCases): unit id →
    "red" (overdue now), "yellow" (warned, not overdue: the queue's yellow card),
    "escalated" (上报, the stage) and "supervised" (under a supervision order not closed:
    督办中) → number of cases.

    One grouped statement however many units and cases, counted by the database from the
    open cases' covering index alone: the cards from the case row's earliest running due
    and warning times (workflow.running), the stage from the index, the orders from the
    few open ones. Joined to the clocks, a county's hundred thousand open cases took a
    fifth of a second at a million cases."""
    now = now or timezone.now()
    red = Q(overdue(now))
    under_order = SupervisionOrder.objects.filter(closed_at__isnull=True).values("case_id")
    return unit_cases(units).count(cases, within=False, conditions={
        "red": red,
        "yellow": Q(warned(now)) & ~red,
        "escalated": Q(stage=Case.Stage.ESCALATED),
        "supervised": Q(pk__in=under_order),
    })
