"""The demo county's cases carry the facts the printed forms need — when and where the
matter arose, each person's sex, date of birth, ethnicity and occupation — on most cases,
the older ones left blank as real older cases are; and they hold to the rules every door
checks."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.ethnicity import ETHNICITIES
from cases.models import Case, Party
from cases.validators import id_facts
from demo.management.commands.seed_demo import FACTS_SINCE_DAYS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    # The seed attaches each written mediation agreement: kept out of var/media.
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def seeded() -> None:
    call_command("seed_demo", "--cases", "60", stdout=StringIO())


def test_most_cases_say_when_and_where_the_matter_arose_and_older_ones_are_blank(seeded: None) -> None:
    cases = list(Case.objects.all())
    with_facts = [c for c in cases if c.occurred_at is not None]
    assert len(with_facts) >= len(cases) / 2
    assert any(c.occurred_at is None for c in cases)
    since = timezone.now() - timedelta(days=FACTS_SINCE_DAYS)
    for case in cases:
        if abs(case.reported_at - since) > timedelta(minutes=1):  # the seed's now came a moment before
            assert (case.occurred_at is None) == (case.reported_at < since), case.number
        assert bool(case.occurred_place) == (case.occurred_at is not None), case.number
        if case.occurred_at is not None:
            assert case.occurred_at < case.reported_at, case.number


def test_people_carry_sex_and_birth_date_of_their_id_numbers_and_most_an_ethnicity_and_occupation(
        seeded: None) -> None:
    people = list(Party.objects.exclude(id_number=""))
    for party in people:
        assert (party.birth_date, party.sex) == id_facts(party.id_number), party.pk
        assert party.ethnicity == "" or party.ethnicity in ETHNICITIES
    described = [p for p in people if p.ethnicity and p.occupation]
    assert len(described) >= len(people) / 2
    assert any(not p.ethnicity for p in people)
    # Organisations have no sex, birth date or ethnicity.
    for party in Party.objects.filter(id_number=""):
        assert (party.sex, party.birth_date, party.ethnicity) == ("", None, ""), party.pk
