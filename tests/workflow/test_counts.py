"""排查, 调处 and 成功 (workflow.counts), walked along every road of the state machine: each
case lands in the right counts, 成功 ≤ 调处 ≤ 排查 in every figure made of them (the
monthly table, the assessment's resolution rate, the dashboard's months), and the case's
columns say what its events say."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from cases.models import Case, CaseEvent
from cases.periods import next_month, parse_period
from reports.assessment import assess
from reports.ledgers import monthly_table
from tests.conftest import local, report
from workflow import counts, services
from workflow.models import AssessmentItem, AssessmentScheme

pytestmark = pytest.mark.django_db
MARCH = parse_period("2026-03")
TAKING_UP = ("accept", "take_over", "send_back")

# Each road: the steps after registration, as (operation, actor, data), and whether the
# case ends 调处 and 成功.
ACCEPT = ("accept", "olga", {"assignee": "mia", "lead_department": "justice"})
RESOLVE = ("resolve", "mia", {"outcome": "agreement_oral", "summary": "口头协议，当场履行。"})
ESCALATE = ("escalate", "olga", {"reason": "涉及多村，镇级难以化解。"})
TAKE_OVER = ("take_over", "cora", {"assignee": "cora"})
# Oral: a written agreement needs its document (issue 15), which the roads do not upload.
RESOLVE_AT_COUNTY = ("resolve", "cora", {"outcome": "agreement_oral", "summary": "县里主持达成协议。"})
SEND_BACK = ("send_back", "carl", {"instructions": "属地管理，由镇里牵头化解。"})
ASSIGN = ("assign", "olga", {"assignee": "mia"})
REOPEN = ("reopen", "olga", {"reason": "当事人反映协议未履行。"})
FOLLOW_UP = ("follow_up", "olga", {"record": "回访，已履行。", "satisfaction": "satisfied"})
REFER = ("refer", "olga", {"channel": "litigation", "reason": "当事人选择诉讼。"})
ROADS: dict[str, tuple[list[tuple[str, str, dict[str, str]]], bool, bool]] = {
    "registered only": ([], False, False),
    "rejected": ([("reject", "olga", {"reason": "不属于人民调解范围。"})], False, False),
    "withdrawn before acceptance": ([("withdraw", "olga", {"reason": "当事人撤回。"})], False, False),
    "accepted": ([ACCEPT], True, False),
    "accepted and resolved": ([ACCEPT, RESOLVE], True, True),
    "mediated and resolved": ([ACCEPT, ("start_mediation", "mia", {"findings": "事实清楚。"}), RESOLVE], True, True),
    "resolved and visited": ([ACCEPT, RESOLVE, FOLLOW_UP], True, True),
    "resolved and reopened": ([ACCEPT, RESOLVE, REOPEN], True, False),
    "reopened and resolved again": ([ACCEPT, RESOLVE, REOPEN, RESOLVE], True, True),
    "accepted and withdrawn": ([ACCEPT, ("withdraw", "olga", {"reason": "双方自行和解。"})], True, False),
    "accepted and referred": ([ACCEPT, REFER], True, False),
    "escalated from reported and taken over": ([ESCALATE, TAKE_OVER], True, False),
    "escalated from reported, taken over, resolved": ([ESCALATE, TAKE_OVER, RESOLVE_AT_COUNTY], True, True),
    "escalated from reported, sent back, resolved": ([ESCALATE, SEND_BACK, ASSIGN, RESOLVE], True, True),
    "accepted, escalated, sent back, resolved": ([ACCEPT, ESCALATE, SEND_BACK, RESOLVE], True, True),
    "escalated and referred by the county": ([ESCALATE, ("refer", "cora", REFER[2])], False, False),
}


def walk(cast: Any, steps: list[tuple[str, str, dict[str, str]]], title: str) -> Case:
    case = report(cast, at=local(2026, 3, 2, 9), title=title)
    for day, (name, actor, data) in enumerate(steps, start=3):
        values = {key: getattr(cast, value).pk if key in ("assignee", "lead_department") else value
                  for key, value in data.items()}
        case = services.transition(case, name, actor=getattr(cast, actor), data=values, at=local(2026, 3, day, 10))
    return case


@pytest.fixture
def roads(cast: Any) -> dict[str, Case]:
    return {name: walk(cast, steps, name) for name, (steps, _, _) in ROADS.items()}


def ids(names: Any, roads: dict[str, Case]) -> set[int]:
    return {roads[name].pk for name in names}


def test_each_road_lands_in_the_right_counts(roads: dict[str, Case]) -> None:
    cases = Case.objects.filter(pk__in=[c.pk for c in roads.values()])
    assert set(counts.registered_in(cases, MARCH).values_list("pk", flat=True)) == ids(ROADS, roads)
    assert set(cases.filter(counts.HANDLED).values_list("pk", flat=True)) == ids(
        [name for name, (_, handled, _) in ROADS.items() if handled], roads)
    assert set(cases.filter(counts.SUCCEEDED).values_list("pk", flat=True)) == ids(
        [name for name, (_, _, succeeded) in ROADS.items() if succeeded], roads)


def test_the_columns_say_what_the_events_say(roads: dict[str, Case]) -> None:
    for name, case in roads.items():
        case.refresh_from_db()
        events = list(CaseEvent.objects.filter(case=case).order_by("at", "pk"))
        taken_up = next((e.at for e in events if e.kind in TAKING_UP), None)
        assert case.accepted_at == taken_up, name
        last_resolve = next((e for e in reversed(events) if e.kind in ("resolve", "reopen")), None)
        resolved = last_resolve.at if last_resolve is not None and last_resolve.kind == "resolve" else None
        assert case.resolved_at == resolved, name


def test_the_monthly_table_adds_up(cast: Any, roads: dict[str, Case]) -> None:
    handled = sum(1 for _, h, _ in ROADS.values() if h)
    succeeded = sum(1 for _, _, s in ROADS.values() if s)
    total = monthly_table(cast.liulin, MARCH)[-1]
    assert (total.found, total.handled, total.succeeded) == (len(ROADS), handled, succeeded)
    assert total.succeeded <= total.handled <= total.found
    assert total.success_rate is not None and total.success_rate <= 1


def test_the_assessment_counts_every_handled_case_and_no_other(cast: Any, roads: dict[str, Case]) -> None:
    scheme = AssessmentScheme.objects.create(code="resolution", name="化解率", scale=100)
    AssessmentItem.objects.create(scheme=scheme, indicator="resolution", method="rate", weight=100)
    dongwan = next(u for u in assess(cast.liulin, MARCH, scheme=scheme, at=local(2026, 4, 1, 9)).units
                   if u.unit == cast.dongwan)
    figure = dongwan.figure("resolution")
    assert set(figure.case_ids) == ids([n for n, (_, h, _) in ROADS.items() if h], roads)
    assert set(figure.hit_case_ids) == ids([n for n, (_, _, s) in ROADS.items() if s], roads)
    assert figure.hits <= figure.counted and figure.points <= Decimal(100)


def test_the_dashboard_months_add_up(cast: Any, roads: dict[str, Case]) -> None:
    month = counts.tallied([cast.liulin], MARCH.first, next_month(MARCH.first), local(2026, 4, 1))[cast.liulin.pk]
    assert {name: month[(MARCH.first,)][name] for name in ("found", "handled", "succeeded")} == {
        "found": len(ROADS), "handled": sum(1 for _, h, _ in ROADS.values() if h),
        "succeeded": sum(1 for _, _, s in ROADS.values() if s)}


def test_the_backfill_gives_cases_taken_up_before_the_fix_their_time(cast: Any, roads: dict[str, Case]) -> None:
    """cases/migrations/0012: a database from before the fix had no accepted_at on cases
    taken over or sent back; the migration takes it from their first such event."""
    from importlib import import_module

    from django.apps import apps

    taken_over = roads["escalated from reported, taken over, resolved"]
    sent_back = roads["escalated from reported, sent back, resolved"]
    never = roads["rejected"]
    Case.objects.filter(pk__in=[taken_over.pk, sent_back.pk]).update(accepted_at=None)
    import_module("cases.migrations.0012_backfill_taken_up").backfill(apps, None)
    first: dict[int, datetime] = {}
    for case_id, at in CaseEvent.objects.filter(kind__in=("take_over", "send_back")).order_by("at").values_list(
            "case_id", "at"):
        first.setdefault(case_id, at)
    assert Case.objects.get(pk=taken_over.pk).accepted_at == first[taken_over.pk]
    assert Case.objects.get(pk=sent_back.pk).accepted_at == first[sent_back.pk]
    assert Case.objects.get(pk=never.pk).accepted_at is None


# Overdue now: one definition on every page and the API.

NOW = local(2026, 11, 30, 10, 0)


@pytest.fixture
def late_and_not(cast: Any, time_machine: Any) -> dict[str, Case]:
    """At NOW, in 柳林镇's 东湾村: a case escalated to the county and not taken over in
    time; one under investigation past its 7 days; one whose investigation clock is paused
    (鉴定); one reported this morning. In 桃源镇's 南山村, one long overdue."""
    time_machine.move_to(NOW)
    at = local(2026, 11, 2, 9)
    escalated = walk_from(cast, at, [ESCALATE])
    investigating = walk_from(cast, at, [ACCEPT])
    paused = walk_from(cast, at, [ACCEPT])
    clock = paused.deadlines.get(met_at__isnull=True)
    services.transition(paused, "pause_deadline", actor=cast.olga, at=local(2026, 11, 4, 9),
                        data={"deadline": clock.pk, "reason": "等待伤情鉴定"})
    fresh = report(cast, at=local(2026, 11, 30, 9), title="今晨登记")
    elsewhere = report(cast, actor=cast.nina, village=cast.nanshan.pk, at=at, title="南山村纠纷")
    return {"escalated": escalated, "investigating": investigating, "paused": paused, "fresh": fresh,
            "elsewhere": elsewhere}


def walk_from(cast: Any, at: datetime, steps: list[tuple[str, str, dict[str, str]]]) -> Case:
    case = report(cast, at=at)
    for name, actor, data in steps:
        values = {key: getattr(cast, value).pk if key in ("assignee", "lead_department") else value
                  for key, value in data.items()}
        case = services.transition(case, name, actor=getattr(cast, actor), data=values, at=local(2026, 11, 3, 10))
    return case


def test_every_page_and_the_api_agree_on_what_is_overdue_now(cast: Any, client: Any,
                                                            late_and_not: dict[str, Case]) -> None:
    from django.urls import reverse
    from rest_framework.test import APIClient

    late = {late_and_not["escalated"].pk, late_and_not["investigating"].pk}
    liulin = Case.objects.within(cast.liulin)
    assert set(liulin.filter(counts.overdue()).values_list("pk", flat=True)) == late

    client.force_login(cast.sam)
    board = client.get(reverse("desk:board:index")).context
    assert {row["case"].pk for row in board["rows"] if row["case"].overdue} == late
    assert board["units"][0]["lines"][0]["red"] == len(late)  # 柳林镇's own line (issue 16)
    dashboard = client.get(reverse("desk:dashboard:index"), {"unit": cast.liulin.pk, "period": "2026-11"}).context
    assert dashboard["totals"]["overdue"] == len(late)
    by_village = dict(zip(dashboard["charts"]["overdue"]["labels"], dashboard["charts"]["overdue"]["values"], strict=True))
    assert by_village == {"东湾村": 2, "西岭村": 0}

    client.force_login(cast.olga)
    queue = reverse("desk:queue:index")
    for filters in ({"unit": cast.liulin.pk}, {"village": cast.dongwan.pk}):
        page = client.get(queue, {**filters, "overdue": "on"}).context["page"]
        assert {case.pk for case in page} == late, filters
    meeting = client.get(reverse("desk:meeting:index"), {"unit": cast.liulin.pk, "period": "2026-11"}).context
    assert {pk for pk, item in meeting["data"].cases.items() if "overdue" in item.sections} == late
    assert meeting["data"].totals["overdue"] == len(late)

    api = APIClient()
    api.force_authenticate(cast.olga)
    body = api.get("/api/v1/cases/", {"overdue": "true"}).json()
    assert {row["id"] for row in body["results"]} == late
