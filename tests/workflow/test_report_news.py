"""A new report is news to the officers of its responsible unit, at once: the acceptance
clock runs from the moment of registration (docs/workflow.md). The news leaves every bell
once someone takes the case up."""

from __future__ import annotations

from typing import Any

from notifications.models import Notification
from tests.conftest import accept, local, report
from tests.workflow.test_reach import ACCUSATION
from workflow import services

REPORTED_AT = local(2026, 3, 2, 9, 0)


def news(case: Any) -> list[tuple[str, str, str | None]]:
    return sorted(Notification.objects.filter(case=case, kind="report")
                  .values_list("user__username", "level", "read_at"))


def test_a_village_report_is_news_to_the_officers_of_its_township_and_nobody_else(cast: Any) -> None:
    case = report(cast, at=REPORTED_AT)
    assert news(case) == [("olga", Notification.Level.ASSIGNMENT, None)]
    row = Notification.objects.get(case=case, kind="report")
    assert row.created_at == REPORTED_AT
    assert case.number in row.text and case.title in row.text and "东湾村" in row.text


def test_an_officer_who_registers_a_case_is_not_told_of_it_again(cast: Any) -> None:
    case = report(cast, actor=cast.olga, at=REPORTED_AT)
    assert news(case) == []
    # Registered by the township's supervisor, it is news to the officer.
    other = report(cast, actor=cast.sam, at=REPORTED_AT)
    assert [user for user, _, _ in news(other)] == ["olga"]


def test_a_report_for_the_county_is_news_to_the_county_officers(cast: Any) -> None:
    case = report(cast, actor=cast.carl, at=REPORTED_AT, village="", responsible_unit=cast.county.pk)
    assert case.responsible_unit == cast.county
    assert [user for user, _, _ in news(case)] == ["cora"]


def test_an_accusation_against_the_township_is_news_to_the_county_and_never_to_the_accused(cast: Any) -> None:
    case = report(cast, at=REPORTED_AT, **{**ACCUSATION, "accused_unit": cast.liulin.pk})
    assert [user for user, _, _ in news(case)] == ["cora"]
    assert not Notification.objects.filter(case=case, user__in=[cast.olga, cast.mia, cast.sam]).exists()


def test_the_news_is_read_for_everyone_once_the_case_is_taken_up(cast: Any) -> None:
    case = report(cast, at=REPORTED_AT)
    untouched = report(cast, at=REPORTED_AT)
    accepted_at = local(2026, 3, 2, 10, 0)
    accept(cast, case, at=accepted_at)
    assert news(case) == [("olga", Notification.Level.ASSIGNMENT, accepted_at)]
    assert news(untouched) == [("olga", Notification.Level.ASSIGNMENT, None)]


def test_a_rejected_report_settles_its_news_too(cast: Any) -> None:
    case = report(cast, at=REPORTED_AT)
    rejected_at = local(2026, 3, 3, 9, 0)
    services.transition(case, "reject", actor=cast.olga, at=rejected_at, data={"reason": "不属于受理范围。"})
    assert news(case) == [("olga", Notification.Level.ASSIGNMENT, rejected_at)]
