"""The rollup of the counts (workflow.tally), kept by the database: after every step of
every road of the state machine it equals a recount from the cases; writers other than the
transition service (a bulk update, a whole-row save, a clock moved by hand) keep it too; each case's
acceptance state says what its acceptance clocks say by workflow.counts' definition
(及时受理); and `recount` rebuilds it for a database written with the triggers off."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from cases.models import Case
from cases.periods import month_period
from tests.conftest import local, report
from tests.workflow.test_counts import ROADS
from workflow import counts, services, tally
from workflow.models import CaseTally, Deadline

pytestmark = pytest.mark.django_db


def acceptance_by_the_clocks(case: Case, at: Any) -> str:
    """The case's acceptance state from workflow.counts' definition: its acceptance clocks,
    none, running (open), or stopped — on time when every one stopped by its due time."""
    clocks = Deadline.objects.filter(case=case, kind__in=counts.ACCEPTANCE_CLOCKS)
    if not clocks.exists():
        return ""
    if clocks.filter(met_at__isnull=True).exists() and not any(
            c.met_at > c.due_at for c in clocks.filter(met_at__isnull=False)):
        return "open"
    _counted, on_time = counts.on_time_cases(clocks.filter(counts.acceptance_counted(at)))
    return "on_time" if on_time == [case.pk] else "late"


def test_every_step_of_every_road_keeps_the_rollup_equal_to_a_recount(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 30, 10), tick=False)
    assert tally.differences() == {}
    for n, (name, (steps, _, _)) in enumerate(ROADS.items()):
        # Some taken up late: the acceptance clock stops after its due time.
        start = local(2026, 3, 2, 9) if n % 2 else local(2026, 2, 20, 9)
        case = report(cast, at=start, title=name)
        assert tally.differences() == {}, name
        for day, (operation, actor, data) in enumerate(steps, start=3):
            values = {key: getattr(cast, value).pk if key in ("assignee", "lead_department") else value
                      for key, value in data.items()}
            case = services.transition(case, operation, actor=getattr(cast, actor), data=values,
                                       at=local(2026, 3, day, 10))
            assert tally.differences() == {}, (name, operation)
        assert Case.objects.get(pk=case.pk).acceptance == acceptance_by_the_clocks(case, local(2026, 4, 30, 10)), name
    states = set(Case.objects.values_list("acceptance", flat=True))
    assert {"open", "on_time", "late"} <= states, states
    # The figures are all there: every case counted once, in its month.
    assert sum(tally.stored().values()) == Case.objects.count() == len(ROADS)


def test_writers_other_than_the_service_keep_it_too(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 30, 10), tick=False)
    cases = [report(cast, at=local(2026, 3, 2 + i, 9), title=f"案{i}") for i in range(4)]
    Case.objects.filter(pk=cases[0].pk).update(category="labour", village=cast.xiling)
    assert tally.differences() == {}
    case = Case.objects.get(pk=cases[1].pk)
    case.category = "neighbours"
    case.save()  # a whole-row save, as the admin makes
    assert tally.differences() == {}
    # A clock moved by hand: the case's acceptance state follows it.
    clock = Deadline.objects.get(case=cases[2], kind__in=counts.ACCEPTANCE_CLOCKS)
    Deadline.objects.filter(pk=clock.pk).update(met_at=clock.due_at.replace(year=clock.due_at.year + 1))
    assert Case.objects.get(pk=cases[2].pk).acceptance == "late" and tally.differences() == {}
    Deadline.objects.filter(pk=clock.pk).delete()
    assert Case.objects.get(pk=cases[2].pk).acceptance == "" and tally.differences() == {}
    assert sum(tally.stored().values()) == 4


def test_recount_rebuilds_what_was_written_without_the_triggers(cast: Any, time_machine: Any) -> None:
    time_machine.move_to(local(2026, 4, 30, 10), tick=False)
    report(cast, at=local(2026, 3, 2, 9))
    tally.remove()
    try:
        late = report(cast, at=local(2026, 2, 2, 9), title="触发器关闭时登记")
        services.transition(late, "reject", actor=cast.olga, data={"reason": "不属于调解范围。"}, at=local(2026, 3, 20, 10))
        CaseTally.objects.filter(stage="reported").update(n=7)
        assert tally.differences()
        call_command("recount_tally")
        assert tally.differences() == {}
        assert Case.objects.get(pk=late.pk).acceptance == "late"
    finally:
        tally.install()
    call_command("recount_tally", "--check")


def test_the_figures_from_the_rollup_are_those_counted_from_the_cases(cast: Any, time_machine: Any) -> None:
    """counts.tallied, which the dashboard reads, against workflow.counts' definitions
    counted from the cases and their clocks: 排查, 调处, 成功 and 及时受理 (stopped on time,
    stopped late, still running and fallen due, still running in time), for every unit
    and month and category."""
    at = local(2026, 4, 3, 10)
    time_machine.move_to(at, tick=False)
    for n, (name, (steps, _, _)) in enumerate(ROADS.items()):
        month = (2, 3, 4)[n % 3]
        village = (cast.dongwan, cast.xiling, cast.nanshan)[n % 3]
        actor = {cast.dongwan: cast.alice, cast.xiling: cast.bob, cast.nanshan: cast.nina}[village]
        case = report(cast, actor=actor, village=village.pk, at=local(2026, month, 1 + n, 9), title=name,
                      category=("land_forest", "labour")[n % 2])
        if village == cast.nanshan or month == 4:
            continue  # left registered: an acceptance clock running, fallen due or not
        late = 10 if n % 4 == 0 else 0  # taken up ten days on: past the acceptance clock
        for k, (operation, who, data) in enumerate(steps):
            values = {key: getattr(cast, value).pk if key in ("assignee", "lead_department") else value
                      for key, value in data.items()}
            case = services.transition(case, operation, actor=getattr(cast, who), data=values,
                                       at=local(2026, month, 1 + n, 11 + k) + timedelta(days=late))
    units = [cast.county, cast.liulin, cast.taoyuan, cast.dongwan, cast.nanshan]
    figures = counts.tallied(units, date(2026, 1, 1), date(2026, 5, 1), at)
    by_category = counts.tallied(units, date(2026, 1, 1), date(2026, 5, 1), at, by=("category",))
    checked = 0
    for unit in units:
        for month in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)):
            registered = counts.registered_in(Case.objects.within(unit), month_period(month))
            counted, on_time = counts.on_time_cases(counts.acceptance_clocks(registered, at))
            expected = {**counts.tally_cases(registered), "acceptance_counted": len(counted),
                        "acceptance_on_time": len(on_time)}
            got = figures[unit.pk].get((month,), dict.fromkeys(counts.FIGURES, 0))
            assert {k: got[k] for k in expected} == expected, (unit.name, month)
            checked += expected["found"]
        for category in ("land_forest", "labour"):
            registered = Case.objects.within(unit).filter(category=category)
            got = by_category[unit.pk].get((category,), dict.fromkeys(counts.FIGURES, 0))
            assert got["found"] == registered.count() and got["handled"] == registered.filter(counts.HANDLED).count()
    assert checked > len(ROADS)  # the county and its townships and villages each counted
    # Each kind of acceptance clock was there to count: on time, late, running and due.
    county = figures[cast.county.pk].values()
    assert 0 < sum(f["acceptance_on_time"] for f in county) < sum(f["acceptance_counted"] for f in county)
    assert sum(f["acceptance_counted"] - f["accepted_on_time"] - f["accepted_late"] for f in county) > 0
    # A unit asked about alone (the dashboard's way: its rows stand for the one area) says the same.
    for unit in units:
        assert counts.tallied([unit], date(2026, 1, 1), date(2026, 5, 1), at) == {unit.pk: figures[unit.pk]}
        assert counts.tallied([unit], date(2026, 1, 1), date(2026, 5, 1), at, by=("category",)) == {
            unit.pk: by_category[unit.pk]}
