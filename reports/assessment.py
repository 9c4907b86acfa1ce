"""Assessment (考核) of units for a period (README: Pages): the villages of a township, or the
townships of a county, scored by an AssessmentScheme (data), ranked, the last place
warned (末位警示), veto items (一票否决) zeroing a score. Every figure carries the ids of
the cases (or screening-return clocks) behind it, so the pages can link to them.

The indicators, for the unit's cases (Case.objects.within) and the period, each counted
as workflow.counts defines it:

- on-time acceptance rate (及时受理率): the acceptance clocks of the cases registered in
  the period that have stopped or fallen due by the time of assessment.
- on-time completion rate (按期办结率): mediation and petition-handling clocks that stopped
  in the period, or fell due in it unstopped.
- resolution rate (化解率): 成功 over 调处 of the cases registered in the period.
- follow-up satisfaction (群众满意率): of the cases closed after a follow-up visit in the
  period, the share satisfied or basically satisfied.
- repeat petitions (重复信访): petitions flagged repeat registered in the period.
- late returns (迟报): the villages' returns for the period's months filed after their due time
  (the return clock's met_at past its due_at; ScreeningReturn.is_late says the same).
- missing returns (漏报): return clocks of the period's months whose month closed without a return.
- concealment (瞒报): suspects of the period's months confirmed by an officer.
- veto, by default: a confirmed concealment of a major-risk case, and a major group incident
  (a 重大 and 群体性 case registered in the period) — the two the field names as
  一票否决; the scheme decides which items veto.

A rate with nothing to count is not applicable and earns nothing: full marks for it would
favour the unit that reports nothing, the concealment (瞒报) assessment exists to catch. Its
weight stays in the total. A deduction with nothing to deduct keeps its weight: that is
what a deduction means. The score is the points earned over the scheme's total weight, on
the scheme's scale (百分制 or 千分制), so weights need not add up to the scale. Each figure
says how its points were formed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, OrgUnit
from cases.periods import Period, next_month, parse_period
from screening.returns import confirmed_concealments
from workflow import counts
from workflow.models import AssessmentItem, AssessmentScheme, Indicator, ReturnDeadline

CENT = Decimal("0.01")


@dataclass
class Figure:
    indicator: str
    label: str
    method: str
    weight: Decimal
    points: Decimal
    per_case: Decimal = Decimal(0)
    # A rate: hits / counted (None when nothing was counted). A deduction or veto: count.
    rate: float | None = None
    counted: int = 0
    hits: int = 0
    # The cases counted, and of them the ones that hit (on time, resolved, satisfied) or,
    # for a deduction or veto, the cases it counts.
    case_ids: list[int] = field(default_factory=list)
    hit_case_ids: list[int] = field(default_factory=list)
    # For the return indicators: the ReturnDeadline ids behind the count.
    return_ids: list[int] = field(default_factory=list)

    @property
    def is_veto(self) -> bool:
        """A veto item (一票否决) carries no weight: it passes or fails the unit."""
        return self.method == AssessmentItem.Method.VETO

    @property
    def applicable(self) -> bool:
        """False for a rate with nothing to count: it earns nothing."""
        return self.method != AssessmentItem.Method.RATE or self.counted > 0

    @property
    def formula(self) -> str:
        """How the points were formed, as the page shows it."""
        if self.method == AssessmentItem.Method.RATE:
            if not self.applicable:
                return _("nothing to count, no points")
            return f"{self.weight} × {self.hits}/{self.counted} = {self.points}"
        if self.method == AssessmentItem.Method.DEDUCTION:
            return f"{self.weight} − {self.per_case} × {self.hits} = {self.points}"
        return _("veto") if self.hits else _("no veto")


@dataclass
class UnitScore:
    unit: OrgUnit
    figures: list[Figure]
    points: Decimal
    score: Decimal
    vetoed: bool
    rank: int = 0
    warned: bool = False

    def figure(self, indicator: str) -> Figure:
        return next(f for f in self.figures if f.indicator == indicator)

    @property
    def weighted(self) -> list[Figure]:
        """The figures that earn points, each out of its weight."""
        return [f for f in self.figures if not f.is_veto]

    @property
    def vetoes(self) -> list[Figure]:
        """The veto items, each passed (nothing counted) or failed."""
        return [f for f in self.figures if f.is_veto]


@dataclass
class Assessment:
    parent: OrgUnit
    period: Period
    scheme: AssessmentScheme
    at: datetime
    units: list[UnitScore]  # best first


def default_scheme() -> AssessmentScheme:
    scheme = AssessmentScheme.objects.filter(is_default=True).first() or AssessmentScheme.objects.first()
    if scheme is None:
        raise AssessmentScheme.DoesNotExist("No assessment scheme is configured.")
    return scheme


def assessed_units(parent: OrgUnit) -> list[OrgUnit]:
    """A township's villages, a county's townships."""
    level = OrgUnit.Level.VILLAGE if parent.level == OrgUnit.Level.TOWNSHIP else OrgUnit.Level.TOWNSHIP
    return list(OrgUnit.objects.filter(parent=parent, level=level).order_by("path"))


def assess(parent: OrgUnit, period: Period | str, *, scheme: AssessmentScheme | None = None,
           at: datetime | None = None, cases: bool = True) -> Assessment:
    """Score, rank and warn the units under `parent` for `period`, as the data stands at `at`.
    The figures of all the units come from a fixed number of queries (`gather`), however
    many units and cases there are; without `cases`, partly from the rollup, and then
    without the cases behind those figures (`figure` reads them for one unit)."""
    period = parse_period(period) if isinstance(period, str) else period
    at = at or timezone.now()
    scheme = scheme or default_scheme()
    items = list(scheme.items.all())
    total_weight = sum((i.weight for i in items if i.method != AssessmentItem.Method.VETO), Decimal(0))
    units = assessed_units(parent)
    found = gather({item.indicator for item in items}, units, period, at, cases=cases)
    scores = []
    for unit in units:
        figures = [score_figure(item, found[unit.pk]) for item in items]
        points = sum((f.points for f in figures), Decimal(0))
        vetoed = any(f.method == AssessmentItem.Method.VETO and f.hits for f in figures)
        score = Decimal(0) if vetoed or not total_weight else points * scheme.scale / total_weight
        scores.append(UnitScore(unit, figures, points, score.quantize(CENT, ROUND_HALF_UP), vetoed))
    rank(scores, scheme.warned_places)
    return Assessment(parent, period, scheme, at, scores)


def rank(scores: list[UnitScore], warned_places: int) -> None:
    """Competition ranking (ties share a rank); the units at the last `warned_places`
    places are warned, ties included, unless everyone scored the same."""
    scores.sort(key=lambda s: (-s.score, s.unit.path))
    for s in scores:
        s.rank = 1 + sum(other.score > s.score for other in scores)
    if len(scores) < 2 or warned_places == 0 or scores[0].score == scores[-1].score:
        return
    threshold = scores[-min(warned_places, len(scores))].score
    for s in scores:
        s.warned = s.score <= threshold


@dataclass
class Found:
    """What an indicator found for a unit: how many it counted and how many of them hit,
    with the cases behind both (and for the return indicators the ReturnDeadline ids)
    where they were read; from the rollup only the numbers are known."""

    counted: int = 0
    hits: int = 0
    case_ids: list[int] = field(default_factory=list)
    hit_case_ids: list[int] = field(default_factory=list)
    return_ids: list[int] = field(default_factory=list)

    @classmethod
    def of_cases(cls, counted: list[int] | int, hit: list[int] | int) -> Found:
        """From the cases counted and hit, or only their numbers."""
        if isinstance(counted, int) and isinstance(hit, int):
            return cls(counted, hit)
        return cls(len(counted), len(hit), sorted(counted), sorted(hit))

    @classmethod
    def of_returns(cls, clocks: list[int]) -> Found:
        return cls(len(clocks), len(clocks), return_ids=sorted(clocks))


NOTHING = Found()

SATISFIED = ["satisfied", "basically"]
REPEAT_PETITION = Q(kind=Case.Kind.PETITION, is_repeat=True)
MAJOR_GROUP_INCIDENT = Q(risk=Case.Risk.MAJOR, is_group=True)
# The indicators counted on the cases registered in the period (workflow.counts.found_in):
# the cases counted, and of them the ones that hit (or, for a deduction or veto, the same).
ON_REGISTERED = {
    Indicator.RESOLUTION: (counts.HANDLED, counts.HANDLED & counts.SUCCEEDED),
    Indicator.REPEAT_PETITIONS: (REPEAT_PETITION, REPEAT_PETITION),
    Indicator.MAJOR_GROUP_INCIDENT: (MAJOR_GROUP_INCIDENT, MAJOR_GROUP_INCIDENT),
}
CLOCKS = {Indicator.ACCEPTANCE_ON_TIME: "acceptance", Indicator.COMPLETION_ON_TIME: "completion"}
# The indicators the rollup of the counts (workflow.counts.tallied) holds for the cases
# registered in a period, as its (counted, hits) figures: read from it when the cases
# behind the figures are not asked for, so that a county-year is scored without reading
# its cases (issue 16). tests/reports/test_assessment_rollup.py holds them equal to the
# figures read from the cases.
TALLIED = {Indicator.RESOLUTION: ("handled", "handled_succeeded"),
           Indicator.ACCEPTANCE_ON_TIME: ("acceptance_counted", "acceptance_on_time")}


def visited_in(period: Period) -> Q:
    """The cases closed after a follow-up visit in `period` (群众满意率 counts them)."""
    return Q(closure=Case.Closure.VISITED, closed_at__gte=period.start, closed_at__lt=period.end)


def return_conditions(at: datetime) -> dict[str, Q]:
    """迟报 and 漏报, as conditions on a village's return clock for a month of the period:
    filed after its due time; not filed when its month closed (by `at`)."""
    return {Indicator.LATE_RETURNS: Q(met_at__gt=F("due_at")),
            Indicator.MISSING_RETURNS: Q(met_at__isnull=True, closes_at__lte=at)}


def gather(indicators: set[str], units: list[OrgUnit], period: Period, at: datetime, *,
           cases: bool = True) -> dict[int, dict[str, Found]]:
    """What each indicator found for each unit: unit id → indicator → Found. One query for
    the units beneath them and at most one for each kind of record — the registered cases,
    the visited cases, the acceptance clocks, the completion clocks, the returns' clocks,
    the concealments, the rollup — whatever the number of units, cases and indicators;
    each unit's cases told apart as Case.objects.within(unit) selects them
    (workflow.counts.UnitCases). Without `cases`, the indicators of TALLIED are read from
    the rollup, as numbers without the cases behind them."""
    grouping = counts.UnitCases(units)
    found: dict[int, dict[str, Found]] = {u.pk: {} for u in units}

    from_rollup = [] if cases else [ind for ind in TALLIED if ind in indicators]
    if from_rollup:
        months = period.months()
        rolled = counts.tallied(grouping, months[0], next_month(months[-1]), at, by=(),
                                acceptance=Indicator.ACCEPTANCE_ON_TIME in from_rollup)
        for unit in found:
            got = rolled[unit].get((), dict.fromkeys(counts.FIGURES, 0))
            for ind in from_rollup:
                counted, hits = TALLIED[ind]
                found[unit][ind] = Found(got[counted], got[hits])

    on_registered = [ind for ind in ON_REGISTERED if ind in indicators and ind not in from_rollup]
    if on_registered:
        conditions = {f"{ind} {part}": condition for ind in on_registered
                      for part, condition in zip(("counted", "hit"), ON_REGISTERED[ind], strict=True)}
        registered = counts.registered_in(Case.objects.all(), period)
        for unit, got in tell_apart(grouping, registered, conditions, cases).items():
            for ind in on_registered:
                found[unit][ind] = Found.of_cases(got[f"{ind} counted"], got[f"{ind} hit"])

    if Indicator.SATISFACTION in indicators:
        visited = tell_apart(grouping, Case.objects.filter(visited_in(period)),
                             {"visited": Q(), "satisfied": Q(satisfaction__in=SATISFIED)}, cases)
        for unit, got in visited.items():
            found[unit][Indicator.SATISFACTION] = Found.of_cases(got["visited"], got["satisfied"])

    clocks = [ind for ind in CLOCKS if ind in indicators and ind not in from_rollup]
    if clocks:
        on_time = counts.on_time_by_unit(grouping, period, at, which=[CLOCKS[ind] for ind in clocks])
        for unit, got in on_time.items():
            for ind in clocks:
                found[unit][ind] = Found.of_cases(*got[CLOCKS[ind]])

    concealment = [ind for ind in (Indicator.CONCEALED, Indicator.MAJOR_CONCEALED) if ind in indicators]
    if concealment:
        hidden: dict[int, dict[str, set[int]]] = {u.pk: {ind: set() for ind in concealment} for u in units}
        events = confirmed_concealments(units, period.months()).values_list("case_id", "case__village_id", "case__risk")
        for case, village, risk in events:
            counted = [ind for ind in concealment if ind == Indicator.CONCEALED or risk == Case.Risk.MAJOR]
            for unit in grouping.owners_of_village(village):
                for ind in counted:
                    hidden[unit][ind].add(case)
        for unit, got in hidden.items():
            for ind, ids in got.items():
                found[unit][ind] = Found.of_cases(list(ids), list(ids))

    returns = {ind: condition for ind, condition in return_conditions(at).items() if ind in indicators}
    if returns:
        clocks_of: dict[int, dict[str, list[int]]] = {u.pk: {ind: [] for ind in returns} for u in units}
        rows = ReturnDeadline.objects.filter(village__in=grouping.villages, month__in=period.months())
        for (pk, village), met in counts.flagged(rows, returns, ["pk", "village_id"]):
            for unit in grouping.owners_of_village(village):
                for ind in met:
                    clocks_of[unit][ind].append(pk)
        for unit, got in clocks_of.items():
            for ind, pks in got.items():
                found[unit][ind] = Found.of_returns(pks)
    return found


def tell_apart(grouping: counts.UnitCases, rows: QuerySet[Case], conditions: dict[str, Q],
               cases: bool) -> dict[int, dict[str, Any]]:
    """For each unit and condition, its cases among `rows` that meet it: with `cases`,
    their ids; without, only how many, counted by the database."""
    return grouping.split(rows, conditions, ["pk"]) if cases else grouping.count(rows, conditions)


def figure(item: AssessmentItem, unit: OrgUnit, period: Period, at: datetime | None = None) -> Figure:
    """One unit's figure for one item, with the cases behind it (assess gathers them for
    all its units at once)."""
    return score_figure(item, gather({item.indicator}, [unit], period, at or timezone.now())[unit.pk])


def score_figure(item: AssessmentItem, found: dict[str, Found]) -> Figure:
    """The figure of `item` from what its indicator found for a unit (`gather`), with its points."""
    label = str(Indicator(item.indicator).label) if item.indicator in Indicator.values else item.indicator
    base = Figure(item.indicator, label, item.method, item.weight, Decimal(0), item.per_case)
    got = found.get(item.indicator, NOTHING)
    base.case_ids, base.hit_case_ids, base.return_ids = got.case_ids, got.hit_case_ids, got.return_ids
    base.counted, base.hits = got.counted, got.hits
    if item.method == AssessmentItem.Method.RATE:
        base.rate = base.hits / base.counted if base.counted else None
        share = Decimal(base.hits) / Decimal(base.counted) if base.counted else Decimal(0)
        base.points = (item.weight * share).quantize(CENT, ROUND_HALF_UP)
    elif item.method == AssessmentItem.Method.DEDUCTION:
        base.points = max(item.weight - item.per_case * base.hits, Decimal(0))
    return base
