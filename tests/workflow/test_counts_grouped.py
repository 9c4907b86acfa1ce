"""The counts by unit (workflow.counts: UnitCases, tally_by_unit, on_time_by_unit) and the
assessment's figures gathered for many units at once (reports.assessment.gather) equal,
for every unit and every indicator, what one unit's own queries give — Case.objects.within
(unit) and the single-unit counts, written here as the assessment computed them before it
was grouped (issue 16).

The data set is drawn at random from a seed, through the real services: four villages of
柳林镇 and one of 桃源镇, cases without a village, accusations against a village, a township
and the county, disputes and petitions on every road of the state machine (accepted on
time and late, mediated, resolved, visited satisfied or not, reopened, escalated and taken
over or sent back, referred, rejected, withdrawn, paused), with gaps of hours to weeks, so
that clocks stop on time, late, or run past due. The units compared are nested (county,
townships, villages, departments), so a case counts for several of them at once."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import F

from cases.models import Case, OrgUnit, Role
from cases.periods import Period, parse_period
from reports.assessment import gather
from screening.returns import confirmed_concealments, decide_suspect, submit_return
from tests.conftest import PETITION, local, person, report, step, unit
from workflow import counts
from workflow.models import Deadline, Indicator, ReturnDeadline
from workflow.return_clocks import open_return_deadlines

pytestmark = pytest.mark.django_db

PERIODS = ["2026-03", "2026-04", "2026-H1", "2026"]
MOMENTS = [local(2026, 4, 10, 10), local(2026, 7, 1, 9)]
GAPS = [timedelta(hours=2), timedelta(days=1), timedelta(days=4), timedelta(days=9), timedelta(days=20),
        timedelta(days=40)]

# The roads a case takes after registration: operation names, each with its actor and
# data chosen below. "pause" pauses the case's open clock.
ROADS = [
    [],
    ["reject"],
    ["withdraw"],
    ["accept"],
    ["accept", "resolve"],
    ["accept", "resolve", "follow_up"],
    ["accept", "start_mediation"],
    ["accept", "start_mediation", "resolve", "follow_up"],
    ["accept", "start_mediation", "pause"],
    ["accept", "resolve", "reopen"],
    ["accept", "resolve", "reopen", "resolve", "follow_up"],
    ["accept", "refer"],
    ["accept", "withdraw"],
    ["escalate", "take_over", "resolve_at_county"],
    ["escalate", "take_over"],
    ["escalate", "send_back", "assign", "resolve", "follow_up"],
    ["accept", "escalate", "send_back", "resolve"],
    ["escalate", "refer_at_county"],
]


def operation(cast: Any, case: Case, name: str, rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    petition = case.kind == Case.Kind.PETITION
    outcome = {"outcome": rng.choice(["supported", "explained", "not_supported"]) if petition else "agreement_oral",
               "summary": "依法答复。" if petition else "口头协议。"}
    return {
        "reject": ("reject", cast.olga, {"reason": "不属于受理范围。"}),
        "withdraw": ("withdraw", cast.olga, {"reason": "当事人撤回。"}),
        "accept": ("accept", cast.olga, {"assignee": cast.mia.pk,
                                         "lead_department": rng.choice([cast.justice, cast.police]).pk}),
        "resolve": ("resolve", cast.mia, outcome),
        "follow_up": ("follow_up", cast.olga, {"record": "回访。",
                                               "satisfaction": rng.choice(["satisfied", "basically", "unsatisfied"])}),
        "start_mediation": ("start_mediation", cast.mia, {"findings": "事实清楚。"}),
        "reopen": ("reopen", cast.olga, {"reason": "协议未履行。"}),
        "refer": ("refer", cast.olga, {"channel": "litigation", "reason": "当事人选择诉讼。"}),
        "escalate": ("escalate", cast.olga, {"reason": "镇级难以化解。"}),
        "take_over": ("take_over", cast.cora, {"assignee": cast.cora.pk}),
        "resolve_at_county": ("resolve", cast.cora, outcome),
        "send_back": ("send_back", cast.carl, {"instructions": "属地管理。"}),
        "assign": ("assign", cast.olga, {"assignee": cast.mia.pk}),
        "refer_at_county": ("refer", cast.cora, {"channel": "litigation", "reason": "当事人选择诉讼。"}),
    }[name]


def walk(cast: Any, case: Case, road: list[str], at: datetime, rng: random.Random) -> None:
    for name in road:
        at += rng.choice(GAPS)
        if name == "pause":
            clock = case.deadlines.filter(met_at__isnull=True, paused_at__isnull=True).first()
            if clock is not None:
                case = step(case, "pause_deadline", cast.olga, at, deadline=clock.pk, reason="等待鉴定")
            continue
        op, actor, data = operation(cast, case, name, rng)
        case = step(case, op, actor, at, **data)


def draw(cast: Any, seed: int, n: int) -> list[Case]:
    """`n` cases drawn from `seed` in 柳林镇's four villages, registered from February to
    May 2026 and walked down a road each; and the fixed ones every draw has."""
    rng = random.Random(seed)
    beipo = unit("QY-LL-BP", "北坡村", OrgUnit.Level.VILLAGE, cast.liulin)
    nantang = unit("QY-LL-NT", "南塘村", OrgUnit.Level.VILLAGE, cast.liulin)
    villages = [cast.dongwan, cast.xiling, beipo, nantang]
    cases = []
    for i in range(n):
        at = local(2026, 2, 1, 9) + timedelta(days=rng.randrange(118), hours=rng.randrange(9))
        village = rng.choice(villages)
        petition = rng.random() < 0.3
        fields: dict[str, Any] = {**(PETITION if petition else {}), "title": f"案件{i}", "village": village.pk}
        if petition:
            fields["is_repeat"] = rng.random() < 0.3
        if rng.random() < 0.2:
            fields.update(risk="major", is_group=rng.random() < 0.6, people_involved=50)
        case = report(cast, actor=cast.olga, at=at, **fields)
        walk(cast, case, rng.choice(ROADS), at, rng)
        cases.append(case)
    return cases


@pytest.fixture
def data_set(cast: Any, time_machine: Any, request: Any) -> dict[str, Any]:
    time_machine.move_to(local(2026, 7, 1, 8))
    drawn = draw(cast, request.param, 45)
    # Accusations (检举控告): against 东湾村 (its township handles it), against 柳林镇 and
    # against the county's own bureau; one walked on.
    against_village = report(cast, actor=cast.olga, at=local(2026, 3, 9, 9),
                             **{**PETITION, "petition_type": "accusation", "accused_unit": cast.dongwan.pk,
                                "title": "检举村干部"})
    step(against_village, "accept", cast.olga, local(2026, 3, 10, 9), assignee=cast.mia.pk,
         lead_department=cast.justice.pk)
    against_township = report(cast, actor=cast.cora, at=local(2026, 4, 3, 9),
                              **{**PETITION, "petition_type": "accusation", "accused_unit": cast.liulin.pk,
                                 "title": "检举镇干部"})
    against_county = report(cast, actor=cast.cora, at=local(2026, 3, 20, 9), village=None,
                            responsible_unit=cast.county.pk,
                            **{**PETITION, "petition_type": "accusation", "accused_unit": cast.labour_bureau.pk,
                               "title": "检举县局"})
    # Without a village: registered by the township, and by the county.
    township_own = report(cast, actor=cast.olga, at=local(2026, 3, 12, 9), village=None,
                          responsible_unit=cast.liulin.pk, title="镇属单位纠纷")
    step(township_own, "accept", cast.olga, local(2026, 3, 20, 9), assignee=cast.mia.pk,
         lead_department=cast.police.pk)
    report(cast, actor=cast.cora, at=local(2026, 4, 12, 9), village=None, responsible_unit=cast.county.pk,
           title="县直纠纷")
    # 桃源镇's 南山村: its officer registers and accepts.
    owen_mediator = person("nan_tj", (cast.taoyuan, Role.MEDIATOR))
    taoyuan_justice = unit("QY-TY-SFS", "桃源司法所", OrgUnit.Level.DEPARTMENT, cast.taoyuan)
    for day in (3, 17):
        case = report(cast, actor=cast.nina, village=cast.nanshan.pk, at=local(2026, 3, day, 9), title=f"南山{day}")
        step(case, "accept", cast.owen, local(2026, 3, day + 6, 9), assignee=owen_mediator.pk,
             lead_department=taoyuan_justice.pk)
    # Returns for March: 东湾村 on time, 西岭村 late; the others' clocks left open (missing
    # once March closes). A concealment confirmed in 北坡村, a major one in 东湾村.
    hidden = report(cast, actor=cast.olga, at=local(2026, 3, 25, 9), source="110", risk="major", title="瞒报")
    beipo = OrgUnit.objects.get(code="QY-LL-BP")
    hidden_too = report(cast, actor=cast.olga, village=beipo.pk, at=local(2026, 3, 26, 9), source="110",
                        title="瞒报二")
    submit_return(actor=cast.olga, village=cast.dongwan, month="2026-03", signed_off_by="王村长", nil=True,
                  at=local(2026, 4, 2, 9))
    submit_return(actor=cast.olga, village=cast.xiling, month="2026-03", signed_off_by="徐村长", nil=True,
                  at=local(2026, 4, 28, 9))
    open_return_deadlines("2026-03", list(OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE)))
    decide_suspect(hidden, actor=cast.olga, confirm=True, reason="知情未报。", at=local(2026, 5, 6, 9))
    decide_suspect(hidden_too, actor=cast.olga, confirm=True, reason="知情未报。", at=local(2026, 5, 6, 9))
    return {"drawn": drawn, "accusations": [against_village, against_township, against_county]}


def all_units() -> list[OrgUnit]:
    return list(OrgUnit.objects.order_by("path"))


def ids(queryset: Any) -> list[int]:
    return sorted(queryset.values_list("pk", flat=True))


# One unit's figures, as reports.assessment computed them unit by unit before issue 16.

def reference(indicator: str, unit: OrgUnit, period: Period, at: datetime) -> tuple[list[int], list[int], list[int]]:
    cases = Case.objects.within(unit)
    registered = counts.registered_in(cases, period)
    if indicator == Indicator.ACCEPTANCE_ON_TIME:
        return (*counts.on_time_cases(counts.acceptance_clocks(registered, at)), [])
    if indicator == Indicator.COMPLETION_ON_TIME:
        return (*counts.on_time_cases(counts.completion_clocks(cases, period, at)), [])
    if indicator == Indicator.RESOLUTION:
        handled = registered.filter(counts.HANDLED)
        return ids(handled), ids(handled.filter(counts.SUCCEEDED)), []
    if indicator == Indicator.SATISFACTION:
        visited = cases.filter(closure=Case.Closure.VISITED, closed_at__gte=period.start, closed_at__lt=period.end)
        return ids(visited), ids(visited.filter(satisfaction__in=["satisfied", "basically"])), []
    if indicator == Indicator.REPEAT_PETITIONS:
        found = ids(registered.filter(kind=Case.Kind.PETITION, is_repeat=True))
        return found, found, []
    if indicator == Indicator.MAJOR_GROUP_INCIDENT:
        found = ids(registered.filter(risk=Case.Risk.MAJOR, is_group=True))
        return found, found, []
    if indicator in (Indicator.CONCEALED, Indicator.MAJOR_CONCEALED):
        events = confirmed_concealments(unit, period.months())
        if indicator == Indicator.MAJOR_CONCEALED:
            events = events.filter(case__risk=Case.Risk.MAJOR)
        found = sorted(set(events.values_list("case_id", flat=True)))
        return found, found, []
    villages = OrgUnit.objects.filter(path__startswith=unit.path, level=OrgUnit.Level.VILLAGE)
    returns = ReturnDeadline.objects.filter(village__in=villages, month__in=period.months())
    if indicator == Indicator.LATE_RETURNS:
        return [], [], ids(returns.filter(met_at__gt=F("due_at")))
    assert indicator == Indicator.MISSING_RETURNS
    return [], [], ids(returns.filter(met_at__isnull=True, closes_at__lte=at))


@pytest.mark.parametrize("data_set", [1, 2, 3], indirect=True)
def test_the_counts_by_unit_equal_each_unit_counted_alone(data_set: dict[str, Any]) -> None:
    units = all_units()
    grouping = counts.UnitCases(units)
    seen = set()
    for text in PERIODS:
        period = parse_period(text)
        tallies = counts.tally_by_unit(grouping, period)
        for at in MOMENTS:
            clocks = counts.on_time_by_unit(grouping, period, at)
            for org in units:
                registered = counts.registered_in(Case.objects.within(org), period)
                assert tallies[org.pk] == {"found": ids(registered), "handled": ids(registered.filter(counts.HANDLED)),
                                            "succeeded": ids(registered.filter(counts.SUCCEEDED))}, (org, text)
                assert clocks[org.pk]["acceptance"] == counts.on_time_cases(
                    counts.acceptance_clocks(registered, at)), (org, text, at)
                assert clocks[org.pk]["completion"] == counts.on_time_cases(
                    counts.completion_clocks(Case.objects.within(org), period, at)), (org, text, at)
                seen.update(name for name, (counted, hit) in clocks[org.pk].items() if len(hit) < len(counted))
                seen.update(name + " on time" for name, (_, hit) in clocks[org.pk].items() if hit)
    # The data set has clocks late and on time of both kinds: the comparison compares something.
    assert seen == {"acceptance", "completion", "acceptance on time", "completion on time"}


@pytest.mark.parametrize("data_set", [1, 2, 3], indirect=True)
def test_the_assessment_gathered_for_all_units_equals_each_unit_alone(data_set: dict[str, Any]) -> None:
    units = all_units()
    hits: dict[str, int] = dict.fromkeys(Indicator.values, 0)
    for text in PERIODS:
        period = parse_period(text)
        for at in MOMENTS:
            gathered = gather(set(Indicator.values), units, period, at)
            # The numbers alone (the assessment page's): partly from the rollup, partly
            # counted by the database.
            numbers = gather(set(Indicator.values), units, period, at, cases=False)
            for org in units:
                for indicator in Indicator.values:
                    expected = reference(indicator, org, period, at)
                    got = gathered[org.pk][indicator]
                    assert (got.case_ids, got.hit_case_ids, got.return_ids) == expected, (org, indicator, text, at)
                    counted, hit = (expected[2], expected[2]) if expected[2] else expected[:2]
                    alone = numbers[org.pk][indicator]
                    assert (got.counted, got.hits) == (alone.counted, alone.hits) == (len(counted), len(hit)), (
                        org, indicator, text, at)
                    hits[indicator] += len(expected[1]) + len(expected[2])
                # A unit alone, gathered by itself, says the same.
                assert gather(set(Indicator.values), [org], period, at)[org.pk] == gathered[org.pk]
    # Every indicator found something somewhere.
    assert all(hits.values()), hits


@pytest.mark.parametrize("data_set", [1], indirect=True)
def test_accusations_count_only_above_the_accused(cast: Any, data_set: dict[str, Any]) -> None:
    against_village, against_township, against_county = data_set["accusations"]
    period = parse_period("2026")
    found = {pk: set(figures["found"]) for pk, figures in counts.tally_by_unit(all_units(), period).items()}
    assert against_village.pk in found[cast.liulin.pk] and against_village.pk not in found[cast.dongwan.pk]
    assert against_township.pk in found[cast.county.pk]
    assert against_township.pk not in found[cast.liulin.pk] | found[cast.dongwan.pk]
    # Against the county's bureau, registered by the county: the county counts it; the
    # bureau never, though nothing but its lead would put it there.
    assert against_county.pk in found[cast.county.pk] and against_county.pk not in found[cast.labour_bureau.pk]


def test_no_units_and_no_conditions_ask_nothing(cast: Any, django_assert_num_queries: Any) -> None:
    period = parse_period("2026-03")
    with django_assert_num_queries(0):
        assert counts.tally_by_unit([], period) == {}
    grouping = counts.UnitCases([cast.dongwan])
    with django_assert_num_queries(0):
        assert grouping.split(Case.objects.all(), {}, ["pk"]) == {cast.dongwan.pk: {}}
    assert Deadline.objects.count() == 0
