"""seed_demo: the demo county, its people and cases in every stage, built through the
real services; it loads into an empty database only."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F
from django.utils import timezone

from cases.models import Case, CaseEvent, Membership, OrgUnit, Party, Role
from cases.validators import validate_id_number, validate_phone
from workflow.models import Deadline, Extension
from workflow.permissions import visible_to

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    # The seed attaches each written mediation agreement: kept out of var/media.
    settings.MEDIA_ROOT = tmp_path


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--cases", "60", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return seed()


def counts() -> dict[str, int]:
    return {
        "units": OrgUnit.objects.count(),
        "users": get_user_model().objects.count(),
        "cases": Case.objects.count(),
        "events": CaseEvent.objects.count(),
        "deadlines": Deadline.objects.count(),
    }


def test_it_builds_a_township_with_villages_and_departments(seeded: str) -> None:
    township = OrgUnit.objects.get(code="QY-LL")
    assert township.level == OrgUnit.Level.TOWNSHIP
    assert township.parent.level == OrgUnit.Level.COUNTY
    assert OrgUnit.objects.filter(parent=township, level=OrgUnit.Level.VILLAGE).count() >= 10
    assert OrgUnit.objects.filter(parent=township, level=OrgUnit.Level.DEPARTMENT).count() >= 6
    assert OrgUnit.objects.filter(level=OrgUnit.Level.TOWNSHIP).count() >= 2


def test_it_creates_a_user_in_every_role_with_the_shared_password(seeded: str) -> None:
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    assert not get_user_model().objects.filter(first_name="").exists()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    # Staff status, the admin's door, for the administrator alone.
    assert list(get_user_model().objects.filter(is_staff=True).values_list("username", flat=True)) == ["admin"]
    assert authenticate(username="tj_wang", password="tiaochu-demo") is not None
    assert "tiaochu-demo" in seeded
    for username in ("wg_dongwan", "zzb_li", "zzb_zhuren", "fg_zhen", "xian_zzb", "xian_ld", "lx_pcs", "ck_viewer"):
        assert username in seeded


def test_it_leaves_cases_in_every_stage_and_every_closure(seeded: str) -> None:
    assert Case.objects.count() == 60
    assert set(Case.objects.values_list("stage", flat=True)) == set(Case.Stage.values)
    closed = Case.objects.filter(stage=Case.Stage.CLOSED)
    assert set(closed.values_list("closure", flat=True)) == set(Case.Closure.values)
    assert set(Case.objects.values_list("kind", flat=True)) == set(Case.Kind.values)
    assert Case.objects.filter(is_legacy=True).exists()
    assert Case.objects.filter(is_group=True, people_involved__gte=5).exists()
    assert Case.objects.filter(risk=Case.Risk.MAJOR).exists()
    for stage in Case.Stage.values:
        assert stage in seeded


def test_some_open_deadlines_are_overdue_now(seeded: str) -> None:
    overdue = Deadline.objects.open().filter(due_at__lt=timezone.now())
    assert overdue.exists()
    assert overdue.exclude(case__stage=Case.Stage.CLOSED).exists()


def test_every_case_has_its_audit_trail(seeded: str) -> None:
    reported = Case.objects.filter(events__kind="report").distinct().count()
    assert reported == Case.objects.count()
    for case in Case.objects.all():
        last = case.events.order_by("at", "pk").last()
        assert last.to_stage == case.stage, case.number
        # The move into the stage the case is in now is on record.
        if case.stage != Case.Stage.REPORTED:
            moves = case.events.exclude(kind="report").exclude(from_stage=F("to_stage"))
            assert moves.filter(to_stage=case.stage).exists(), case.number
    kinds = set(CaseEvent.objects.values_list("kind", flat=True))
    assert {"escalate", "take_over", "send_back", "reopen", "note", "record_session"} <= kinds
    assert {"request_extension", "decide_extension", "pause_deadline", "resume_deadline"} <= kinds


def test_events_are_in_time_order_and_in_the_past(seeded: str) -> None:
    now = timezone.now()
    for case in Case.objects.annotate(n=Count("events")):
        moments = list(case.events.order_by("pk").values_list("at", flat=True))
        assert moments == sorted(moments), case.number
        assert moments[-1] <= now
    assert Extension.objects.filter(approved=True).exists()


def test_parties_carry_valid_id_numbers_and_phones(seeded: str) -> None:
    parties = Party.objects.exclude(id_number="")
    assert parties.exists()
    for party in parties:
        validate_id_number(party.id_number)
    for phone in Party.objects.exclude(phone="").values_list("phone", flat=True):
        validate_phone(phone)


def test_if_empty_changes_nothing_on_a_seeded_database(seeded: str) -> None:
    before = counts()
    out = seed("--if-empty")
    assert counts() == before
    assert "nothing loaded" in out


def test_it_refuses_a_database_that_is_not_empty(seeded: str) -> None:
    before = counts()
    with pytest.raises(CommandError, match="fresh database"):
        seed()
    assert counts() == before


@pytest.mark.django_db
def test_a_demo_officer_reads_her_cases_in_the_pages_and_is_not_let_into_the_admin(client):
    call_command("seed_demo", "--cases", "20", stdout=StringIO())
    officer = get_user_model().objects.get(username="zzb_li")
    client.force_login(officer)
    response = client.get("/desk/queue/", {"stage": "all"})
    assert response.status_code == 200
    visible = visible_to(officer)
    assert visible.exists()
    assert all(number in response.content.decode() for number in visible.values_list("number", flat=True)[:5])
    refused = client.get("/admin/cases/case/")
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")


def test_villages_have_returns_some_nil_one_late_some_missing_and_suspects(seeded: str) -> None:
    from cases.models import ScreeningReturn
    from screening.returns import concealment_suspects, overdue_returns

    returns = ScreeningReturn.objects.all()
    assert returns.filter(is_nil=True).exists() and returns.filter(is_nil=False).exists()
    assert returns.filter(is_late=True).count() == 1
    township = OrgUnit.objects.get(code="QY-LL")
    assert overdue_returns(township).count() == 2
    months = sorted(set(returns.values_list("month", flat=True)))
    assert len(months) == 3
    assert any(concealment_suspects(township, month) for month in months)
    assert "排查表 screening returns" in seeded
