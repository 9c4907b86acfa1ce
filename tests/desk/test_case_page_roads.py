"""The three roads of issue 18 on the case page: a correction's form filled in with the
case's facts and its changes on the timeline; 领导包案 offered to a supervisor and the
leader shown among the facts; a party among the staff offered nothing to decide. Cases
are built through the real service; assertions read the page and the database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from cases.models import Case, CaseEvent, StaffProfile
from tests.conftest import PARTIES, accept, local, report
from tests.desk.test_case_page_operations import shown
from tests.desk.test_pages import page, text_of

pytestmark = pytest.mark.django_db


def detail(case: Case) -> str:
    return reverse("desk:case:detail", args=[case.pk])


def operate(case: Case, name: str) -> str:
    return reverse("desk:case:operate", args=[case.pk, name])


def the_form(html: str, name: str) -> str:
    found = re.search(rf'<details[^>]*data-operation="{name}">(.*?)</details>', html, flags=re.S)
    assert found, name
    return found.group(1)


def test_an_officer_corrects_the_village_from_the_page_and_the_timeline_shows_it(cast: Any, client: Any) -> None:
    case = accept(cast, report(cast, at=local(2026, 3, 2, 9)), local(2026, 3, 3, 9))
    html = page(client, cast.olga, detail(case)).content.decode()
    form = the_form(html, "correct")
    # Filled in with the case's facts, so that only what is changed is recorded.
    assert re.search(r'<option value="general" selected>', form)
    assert re.search(rf'<option value="{cast.dongwan.pk}" selected>', form)
    assert 'name="people_involved" value="2"' in form
    # Only the villages beneath the township that holds the case.
    assert f'value="{cast.xiling.pk}"' in form and f'value="{cast.nanshan.pk}"' not in form
    response = client.post(operate(case, "correct"), {
        "risk": "general", "category": "land_forest", "people_involved": "2", "amount": "12000.00",
        "is_group": "false", "village": str(cast.xiling.pk), "reason": "实际发生在西岭村。"})
    assert response.status_code == 302
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert (event.kind, event.actor) == ("correct", cast.olga)
    assert event.data["changes"] == {"village": {"from": cast.dongwan.pk, "to": cast.xiling.pk}}
    assert "东湾村 → 西岭村" in text_of(client.get(detail(case)))


def test_an_unchanged_correction_comes_back_open_with_its_error(cast: Any, client: Any) -> None:
    case = report(cast, at=local(2026, 3, 2, 9))
    client.force_login(cast.olga)
    response = client.post(operate(case, "correct"), {
        "risk": "general", "category": "land_forest", "people_involved": "2", "amount": "12000.00",
        "is_group": "false", "village": str(cast.dongwan.pk), "reason": "核对。"})
    assert response.status_code == 400
    assert ("correct", True) in shown(response.content.decode())
    assert not CaseEvent.objects.filter(case=case, kind="correct").exists()


def test_a_supervisor_takes_charge_from_the_page_and_the_leader_is_shown(cast: Any, client: Any) -> None:
    case = accept(cast, report(cast, at=local(2026, 3, 2, 9), risk="major"), local(2026, 3, 3, 9))
    html = page(client, cast.sam, detail(case)).content.decode()
    names = [name for name, _ in shown(html)]
    assert "take_charge" in names and "release_charge" not in names
    assert 'class="leader"' not in html
    assert client.post(operate(case, "take_charge"), {"instructions": ""}).status_code == 302
    assert Case.objects.get(pk=case.pk).leader == cast.sam
    html = client.get(detail(case)).content.decode()
    assert re.search(r'<dd class="leader">sam</dd>', html)
    names = [name for name, _ in shown(html)]
    assert "release_charge" in names and "take_charge" not in names
    # Everyone who sees the case sees who leads it.
    assert re.search(r'<dd class="leader">sam</dd>', page(client, cast.alice, detail(case)).content.decode())


def test_a_party_among_the_staff_is_offered_only_notes_and_told_why(cast: Any, client: Any) -> None:
    StaffProfile.objects.create(user=cast.olga, id_number=PARTIES[0]["id_number"])
    case = report(cast, at=local(2026, 3, 2, 9))
    html = page(client, cast.olga, detail(case)).content.decode()
    assert [name for name, _ in shown(html)] == ["note", "attach_document"]
    assert 'class="muted recusal"' in html
    # Someone who is no party to it is told nothing of the kind.
    html = page(client, cast.sam, detail(case)).content.decode()
    assert 'class="muted recusal"' not in html
