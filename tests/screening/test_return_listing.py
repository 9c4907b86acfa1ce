"""What a screening return may list is the service's to refuse (screening.returns.submit_return),
whoever calls it: a case the filer may list (workflow.permissions.listable_on_return: the
village's, registered in the month, seen by the filer), a dispute found in the month, an
item naming a case or a dispute to register, not both. A refusal writes nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from django.utils import translation

from cases.models import Case, CaseEvent, ScreeningItem, ScreeningReturn
from cases.periods import parse_period
from screening.returns import submit_return
from tests.conftest import DISPUTE, PARTIES, PETITION, local, report
from workflow.errors import InvalidData
from workflow.models import ReturnDeadline
from workflow.permissions import listable_on_return

pytestmark = pytest.mark.django_db
FILED_AT = local(2026, 4, 2, 9)
NO_SUCH_CASE = "There is no such case in 东湾村 registered in 2026-03."


@pytest.fixture(autouse=True)
def english() -> Any:
    # The messages are asserted in their English source form.
    with translation.override("en"):
        yield


def written() -> tuple[int, ...]:
    return (ScreeningReturn.objects.count(), ScreeningItem.objects.count(), Case.objects.count(),
            CaseEvent.objects.count(), ReturnDeadline.objects.count())


def found(**overrides: Any) -> dict[str, Any]:
    return {"report": {"data": {**DISPUTE, "title": "两户排水沟纠纷"}, "parties": PARTIES}, **overrides}


def file(cast: Any, items: list[dict[str, Any]], actor: Any = None) -> ScreeningReturn:
    return submit_return(actor=actor or cast.alice, village=cast.dongwan, month="2026-03", items=items,
                         signed_off_by="王村长", at=FILED_AT)


@pytest.fixture
def march(cast: Any) -> dict[str, Any]:
    """东湾村's cases around March 2026 and one of 西岭村; an accusation against 东湾村,
    kept from its own worker (信访工作条例 第三十条)."""
    return {
        "own": report(cast, at=local(2026, 3, 4, 9)),
        "february": report(cast, at=local(2026, 2, 27, 9)),
        "april": report(cast, at=local(2026, 4, 1, 8)),
        "neighbours": report(cast, actor=cast.bob, village=cast.xiling.pk, at=local(2026, 3, 4, 9)),
        "accusation": report(cast, actor=cast.olga, at=local(2026, 3, 15, 9),
                             **{**PETITION, "petition_type": "accusation", "accused_unit": cast.dongwan.pk,
                                "source": "letter", "village": cast.dongwan.pk}),
    }


@pytest.mark.parametrize("name", ["february", "april", "neighbours", "accusation"])
def test_a_case_the_filer_may_not_list_is_refused_by_the_service(cast: Any, march: dict[str, Any],
                                                                 name: str) -> None:
    assert not listable_on_return(cast.alice, cast.dongwan, parse_period("2026-03")).filter(
        pk=march[name].pk).exists()
    before = written()
    with pytest.raises(InvalidData) as refused:
        # Beside a dispute found in the month: it is not registered either.
        file(cast, [found(found_at=local(2026, 3, 20, 10)), {"case": march["own"].pk}, {"case": march[name].pk}])
    assert refused.value.errors == {"items[3].case": [NO_SUCH_CASE]}
    assert written() == before


@pytest.mark.parametrize("pk", [10**15, 2**63, -1, 0])
def test_a_case_that_does_not_exist_is_refused_alike(cast: Any, march: dict[str, Any], pk: int) -> None:
    before = written()
    with pytest.raises(InvalidData) as refused:
        file(cast, [{"case": pk}])
    assert refused.value.errors == {"items[1].case": [NO_SUCH_CASE]}
    assert written() == before


def test_what_the_filer_sees_is_what_they_may_list(cast: Any, march: dict[str, Any]) -> None:
    # The township's officer sees the accusation its village does not: he may list it.
    filed = file(cast, [{"case": march["own"].pk}, {"case": march["accusation"].pk, "note": "信访转来"}],
                 actor=cast.olga)
    assert sorted(ScreeningItem.objects.filter(screening_return=filed).values_list("case_id", "note")) \
        == sorted([(march["own"].pk, ""), (march["accusation"].pk, "信访转来")])
    assert (filed.village, filed.month, filed.submitted_by) == (cast.dongwan, date(2026, 3, 1), cast.olga)


@pytest.mark.parametrize("found_at", [local(2026, 2, 28, 23, 59), local(2026, 4, 1, 0, 0), datetime(2026, 3, 20, 10)])
def test_a_dispute_found_outside_the_month_is_refused(cast: Any, found_at: datetime) -> None:
    before = written()
    with pytest.raises(InvalidData) as refused:
        file(cast, [found(found_at=found_at)])
    assert refused.value.errors == {"items[1].found_at": ["A dispute on the return for 2026-03 was found in that month."]}
    assert written() == before


def test_a_dispute_found_at_the_months_edges_is_registered(cast: Any) -> None:
    file(cast, [found(found_at=local(2026, 3, 1, 0, 0)), found(found_at=local(2026, 3, 31, 23, 59))])
    assert sorted(Case.objects.values_list("reported_at", "source", "village")) == [
        (local(2026, 3, 1, 0, 0), "screening", cast.dongwan.pk), (local(2026, 3, 31, 23, 59), "screening",
                                                                  cast.dongwan.pk)]
    assert ScreeningItem.objects.count() == 2


def test_an_item_naming_a_case_and_a_dispute_or_neither_is_refused(cast: Any, march: dict[str, Any]) -> None:
    before = written()
    with pytest.raises(InvalidData) as refused:
        file(cast, [found(case=march["own"].pk), {"note": "无"}])
    assert refused.value.errors == {"items[1]": ["Give a case, or the dispute to register."],
                                    "items[2]": ["Give a case, or the dispute to register."]}
    assert written() == before
