"""The rule of reach against every door, over the demo county: for every person of the
demo and the cases of the county, what each door gives equals what the rule says
(workflow.permissions: grants_for for one case, the choices it offers), and every choice a
form offers, the service accepts.

The doors: the list (visible_to), the case page, the API's detail and list, the queue,
the ledger export, the assessment's and the dashboard's figures, the notifications
written while the demo was built (recipients), and the choices of the intake, accept and
assign forms. A door that bypassed the rule would give a case, a figure, a notice or a
choice the rule refuses, and its assertion names it."""

from __future__ import annotations

import random
from datetime import timedelta
from io import BytesIO, StringIO
from typing import Any

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Case, Membership, OrgUnit
from desk.intake import PageIntakeForm
from notifications.models import Notification
from reports.assessment import assess
from reports.ledgers import write_ledger
from tests.conftest import PARTIES
from workflow import services
from workflow.errors import CaseOperationError
from workflow.forms import AcceptForm, AssignForm
from workflow.permissions import VIEW, grants_for, reviewed_units, visible_to
from workflow.sweep import sweep

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    """Raised to undo a trial of the service: a choice is tried, then nothing stays."""


@pytest.fixture
def county(settings: Any, tmp_path: Any) -> dict[int, Case]:
    """The demo county, with what its stories lack: open accusations against a township
    (a repeat one, so that the assessment counts it) and a department (第三十条), a
    supervision order on one, and a sweep forty days on, so that every door meets them."""
    settings.MEDIA_ROOT = tmp_path  # the seed's written mediation agreements
    call_command("seed_demo", "--cases", "80", stdout=StringIO())
    User = get_user_model()
    township, police = OrgUnit.objects.get(code="QY-LL"), OrgUnit.objects.get(name="柳林派出所")
    accusation = {"kind": "petition", "petition_type": "accusation", "summary": "检举材料。", "category": "other",
                  "source": "letter"}
    against_township = services.report_case(actor=User.objects.get(username="wg_dongwan"), parties=PARTIES,
                                            repeats_seen=True, data={
        **accusation, "title": "检举镇干部收受好处", "village": OrgUnit.objects.get(name="东湾村").pk,
        "accused_unit": township.pk, "is_repeat": True})
    services.report_case(actor=User.objects.get(username="zzb_li"), parties=PARTIES, repeats_seen=True, data={
        **accusation, "title": "检举派出所民警", "village": OrgUnit.objects.get(name="西岭村").pk,
        "accused_unit": police.pk})
    services.transition(against_township, "supervise", actor=User.objects.get(username="xian_ld"),
                        data={"instructions": "请依法办理。", "days": 5})
    sweep(timezone.now() + timedelta(days=40))
    return {c.pk: c for c in Case.objects.select_related("responsible_unit", "village", "accused_unit")}


def people() -> list[Any]:
    """Every active member of the demo, one of each role and unit at least."""
    return list(get_user_model().objects.filter(is_active=True, memberships__isnull=False).distinct().order_by("pk"))


def seen_by(user: Any, cases: dict[int, Case]) -> set[int]:
    """The rule, case by case."""
    return {pk for pk, case in cases.items() if VIEW in grants_for(user, case)}


def test_every_door_gives_each_person_what_the_rule_says(county: dict[int, Case]) -> None:
    rng = random.Random(7)
    everyone = people()
    assert len(everyone) >= 20
    for user in everyone:
        allowed = seen_by(user, county)
        # The list.
        assert set(visible_to(user).values_list("pk", flat=True)) == allowed, user
        # The case page and the API's detail, on a sample in reach and out of it.
        page, api = Client(), APIClient()
        page.force_login(user)
        api.force_authenticate(user)
        inside = rng.sample(sorted(allowed), min(3, len(allowed)))
        outside = rng.sample(sorted(set(county) - allowed), min(3, len(set(county) - allowed)))
        for pk in inside + outside:
            expected = 200 if pk in allowed else 404
            assert page.get(reverse("desk:case:detail", args=[pk])).status_code == expected, (user, pk)
            assert api.get(f"/api/v1/cases/{pk}/").status_code == expected, (user, pk)
        # The API's list and the queue, every stage.
        listed = set()
        url = "/api/v1/cases/?page_size=100"
        while url:
            body = api.get(url).json()
            listed |= {row["id"] for row in body["results"]}
            url = body["next"]
        assert listed == allowed, user
        queue = page.get(reverse("desk:queue:index"), {"stage": "all", "size": 100})
        if queue.status_code == 200:
            assert {c.pk for c in queue.context["page"]} <= allowed, user


def test_figures_and_exports_count_only_what_the_reviewer_may_see(county: dict[int, Case]) -> None:
    for user in people():
        units = list(reviewed_units(user))
        if not units:
            continue
        allowed = seen_by(user, county)
        for unit in units[:3]:
            for kind in ("disputes", "petitions", "mediation"):
                out = BytesIO()
                write_ledger(kind, unit, "2026", out, user=user)
                out.seek(0)
                sheet = openpyxl.load_workbook(out, read_only=True).active
                numbers = {str(v) for row in sheet.iter_rows(values_only=True) for v in row if v}
                leaked = {c.number for pk, c in county.items() if pk not in allowed} & numbers
                assert not leaked, (user, unit, kind, leaked)
            if unit.level == OrgUnit.Level.TOWNSHIP or unit.level == OrgUnit.Level.COUNTY:
                for score in assess(unit, "2026").units:
                    for figure in score.figures:
                        shown = set(figure.case_ids) | set(figure.hit_case_ids)
                        assert shown <= allowed, (user, unit, score.unit, figure.indicator, shown - allowed)


def test_nobody_was_told_of_a_case_out_of_their_reach(county: dict[int, Case]) -> None:
    rows = Notification.objects.filter(case__isnull=False).select_related("user")
    assert rows.exists()
    seen: dict[int, set[int]] = {}
    for row in rows:
        if row.user_id not in seen:
            seen[row.user_id] = seen_by(row.user, county)
        assert row.case_id in seen[row.user_id], (row.user, county[row.case_id].number, row.kind)


def one_per_unit(rng: random.Random, cases: list[Case]) -> list[Case]:
    """A case of each responsible unit among `cases`, drawn at random: the choices a form
    offers depend on the unit (its departments, its people), not on the case."""
    by_unit: dict[int, list[Case]] = {}
    for case in sorted(cases, key=lambda c: c.pk):
        by_unit.setdefault(case.responsible_unit_id, []).append(case)
    return [rng.choice(group) for _unit, group in sorted(by_unit.items())]


def test_every_choice_a_form_offers_the_service_accepts(county: dict[int, Case]) -> None:
    rng = random.Random(11)
    officers = {m.unit_id: m.user for m in Membership.objects.filter(role="officer").select_related("user")}
    reported = [c for c in county.values() if c.stage == Case.Stage.REPORTED and c.responsible_unit_id in officers]
    assert reported
    for case in one_per_unit(rng, reported):
        form = AcceptForm(case=case)
        for lead in form.fields["lead_department"].queryset:
            for assignee in AcceptForm({"lead_department": lead.pk}, case=case).fields["assignee"].queryset:
                accepted = try_service(services.transition, case.pk, "accept",
                                       actor=officers[case.responsible_unit_id],
                                       data={"lead_department": lead.pk, "assignee": assignee.pk})
                assert accepted is None, (case.number, lead, assignee, accepted)
    active = [c for c in county.values() if c.stage == Case.Stage.INVESTIGATING and c.responsible_unit_id in officers]
    for case in one_per_unit(rng, active):
        for assignee in AssignForm(case=case).fields["assignee"].queryset:
            refused = try_service(services.transition, case.pk, "assign",
                                  actor=officers[case.responsible_unit_id], data={"assignee": assignee.pk})
            assert refused is None, (case.number, assignee, refused)
        # Everyone not offered is refused.
        offered = set(AssignForm(case=case).fields["assignee"].queryset)
        for other in rng.sample([u for u in people() if u not in offered], 5):
            assert try_service(services.transition, case.pk, "assign",
                               actor=officers[case.responsible_unit_id], data={"assignee": other.pk}), other


def test_every_village_the_intake_page_offers_the_service_registers(county: dict[int, Case]) -> None:
    for user in people():
        form = PageIntakeForm(user=user)
        villages = list(form.fields["village"].queryset)
        for village in villages[:4]:
            refused = try_service(services.report_case, actor=user, parties=PARTIES, repeats_seen=True, data={
                "kind": "dispute", "title": "试登记", "summary": "试登记。", "category": "neighbours",
                "source": "screening", "village": village.pk})
            assert refused is None, (user, village, refused)
        others = OrgUnit.objects.filter(level=OrgUnit.Level.VILLAGE).exclude(pk__in=[v.pk for v in villages])
        for village in others[:3]:
            assert try_service(services.report_case, actor=user, parties=PARTIES, repeats_seen=True, data={
                "kind": "dispute", "title": "试登记", "summary": "试登记。", "category": "neighbours",
                "source": "screening", "village": village.pk}), (user, village)


def try_service(call: Any, *args: Any, **kwargs: Any) -> str | None:
    """Call the service and undo what it did; the refusal's message, or None when it
    accepted."""
    try:
        with transaction.atomic():
            call(*args, **kwargs)
            raise Rollback
    except Rollback:
        return None
    except CaseOperationError as refusal:
        return refusal.message or type(refusal).__name__
