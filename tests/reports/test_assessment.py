"""Assessment (考核): scores by a scheme held as data, on a hand-computed month; the last
place warned, a veto zeroing a score, and the cases behind every figure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from reports.assessment import assess, assessed_units
from screening.returns import decide_suspect, submit_return
from tests.conftest import accept, local, report, resolve
from workflow.models import AssessmentItem, AssessmentScheme

pytestmark = pytest.mark.django_db
AT = local(2026, 5, 1, 9)


@pytest.fixture
def scheme() -> AssessmentScheme:
    """A small scheme for hand computation: 30 + 50 + 20 = 100 points."""
    scheme = AssessmentScheme.objects.create(code="test", name="测试", scale=100, warned_places=1)
    for indicator, method, weight, per_case in [
        ("acceptance_on_time", "rate", 30, 0),
        ("resolution", "rate", 50, 0),
        ("late_returns", "deduction", 20, 5),
        ("major_group_incident", "veto", 0, 0),
    ]:
        AssessmentItem.objects.create(scheme=scheme, indicator=indicator, method=method, weight=weight,
                                      per_case=per_case)
    return scheme


@pytest.fixture
def march(cast: Any) -> dict[str, Any]:
    # 东湾村: d1 accepted in time and resolved; d2 accepted late (3 working days from
    # Monday 2 March end on Thursday 5 March) and open. Its return is on time.
    d1 = report(cast, at=local(2026, 3, 2, 9), title="d1")
    accept(cast, d1, local(2026, 3, 3, 9))
    resolve(cast, d1, local(2026, 3, 10, 9))
    d2 = report(cast, at=local(2026, 3, 2, 9), title="d2")
    accept(cast, d2, local(2026, 3, 9, 9))
    # 西岭村: x1 accepted the same day and resolved; its return comes after the due time
    # (Monday 27 April).
    x1 = report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 4, 9), title="x1")
    accept(cast, x1, local(2026, 3, 4, 11))
    resolve(cast, x1, local(2026, 3, 6, 9))
    submit_return(actor=cast.alice, village=cast.dongwan, month="2026-03", signed_off_by="王村长",
                  items=[{"case": d1.pk}, {"case": d2.pk}], at=local(2026, 4, 2, 9))
    submit_return(actor=cast.bob, village=cast.xiling, month="2026-03", signed_off_by="徐村长",
                  items=[{"case": x1.pk}], at=local(2026, 4, 28, 9))
    return {"d1": d1, "d2": d2, "x1": x1}


def test_scores_by_hand_and_the_last_place_is_warned(cast, scheme, march):
    result = assess(cast.liulin, "2026-03", scheme=scheme, at=AT)
    assert [u.unit.name for u in result.units] == ["西岭村", "东湾村"]
    xiling, dongwan = result.units
    # 东湾村: acceptance 1/2 × 30 = 15; resolution 1/2 × 50 = 25; no late return: 20.
    assert [(f.indicator, f.points) for f in dongwan.figures] == [
        ("acceptance_on_time", Decimal("15.00")), ("resolution", Decimal("25.00")),
        ("late_returns", Decimal("20")), ("major_group_incident", Decimal("0"))]
    assert (dongwan.score, dongwan.rank, dongwan.warned, dongwan.vetoed) == (Decimal("60.00"), 2, True, False)
    # 西岭村: 30 + 50 + (20 − 5 for one late return) = 95.
    assert (xiling.score, xiling.rank, xiling.warned) == (Decimal("95.00"), 1, False)
    # The cases behind each figure.
    acceptance = dongwan.figure("acceptance_on_time")
    assert (acceptance.rate, acceptance.case_ids, acceptance.hit_case_ids) == (
        0.5, sorted([march["d1"].pk, march["d2"].pk]), [march["d1"].pk])
    late = xiling.figure("late_returns")
    assert (late.hits, len(late.return_ids)) == (1, 1)


def test_a_veto_zeroes_the_score_and_sends_the_unit_to_the_last_place(cast, scheme, march):
    group = report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 20, 9), risk="major",
                   is_group=True, people_involved=80, title="群体性事件")
    result = assess(cast.liulin, "2026-03", scheme=scheme, at=AT)
    assert [(u.unit.name, u.score, u.rank, u.warned) for u in result.units] == [
        ("东湾村", Decimal("60.00"), 1, False), ("西岭村", Decimal("0"), 2, True)]
    xiling = result.units[1]
    assert xiling.vetoed and xiling.figure("major_group_incident").case_ids == [group.pk]
    # Its points are still shown: acceptance 1 of 2 in time (the group case was never
    # accepted) 15, resolution 50, late return 15.
    assert xiling.points == Decimal("80.00")


def test_the_default_scheme_counts_confirmed_concealment_and_vetoes_a_major_one(cast, march):
    scheme = AssessmentScheme.objects.get(is_default=True)
    assert scheme.scale == 100
    assert sum(i.weight for i in scheme.items.all()) == 100
    hidden = report(cast, at=local(2026, 3, 25, 9), source="110", risk="major", title="瞒报")
    decide_suspect(hidden, actor=cast.olga, confirm=True, reason="知情未报。", at=local(2026, 4, 10, 9))
    result = assess(cast.liulin, "2026-03", at=AT)
    dongwan = next(u for u in result.units if u.unit == cast.dongwan)
    assert dongwan.figure("concealed").case_ids == [hidden.pk]
    assert dongwan.figure("concealed").points == Decimal("0")  # 5 − 5 × 1
    assert dongwan.figure("major_concealed").hits == 1 and dongwan.vetoed and dongwan.score == 0
    assert result.units[-1].unit == cast.dongwan and result.units[-1].warned


def test_a_county_assesses_its_townships(cast):
    assert assessed_units(cast.county) == [cast.liulin, cast.taoyuan]
    result = assess(cast.county, "2026-H1", at=AT)
    # Nothing happened: no rate applies and none earns anything; the deductions keep their
    # 10 + 5 + 5 + 5 points. Everyone scored the same, so nobody is warned.
    assert [(u.score, u.rank, u.warned) for u in result.units] == [(Decimal("25.00"), 1, False)] * 2
    rates = [f for f in result.units[0].figures if f.method == "rate"]
    assert len(rates) == 4 and all(not f.applicable and f.points == 0 and f.rate is None for f in rates)


def test_a_village_that_reports_nothing_never_outscores_one_that_reports_and_handles(cast, scheme):
    # 东湾村 reports a dispute, accepts it in time and resolves it; 西岭村 reports nothing.
    case = report(cast, at=local(2026, 3, 2, 9))
    accept(cast, case, local(2026, 3, 3, 9))
    resolve(cast, case, local(2026, 3, 10, 9))
    result = assess(cast.liulin, "2026-03", scheme=scheme, at=AT)
    dongwan, xiling = result.units
    assert (dongwan.unit, dongwan.score, dongwan.warned) == (cast.dongwan, Decimal("100.00"), False)
    # 西岭村: both rates not applicable, nothing earned; the deduction keeps its 20.
    assert (xiling.unit, xiling.score, xiling.warned) == (cast.xiling, Decimal("20.00"), True)
    assert [(f.indicator, f.applicable, f.points) for f in xiling.figures] == [
        ("acceptance_on_time", False, Decimal("0.00")), ("resolution", False, Decimal("0.00")),
        ("late_returns", True, Decimal("20")), ("major_group_incident", True, Decimal("0"))]


def test_the_page_says_how_each_score_was_formed(cast, scheme, march, client, time_machine):
    time_machine.move_to(AT)
    AssessmentScheme.objects.update(is_default=False)
    scheme.is_default = True
    scheme.save()
    client.force_login(cast.sam)
    html = client.get(reverse("desk:assessment:index"), {"unit": cast.liulin.pk, "period": "2026-03"}).content.decode()
    # 东湾村's acceptance: 30 × 1/2; 西岭村's late return: 20 − 5 × 1.
    assert "30.00 × 1/2 = 15.00" in html and "20.00 − 5.00 × 1 = 15" in html
