"""The intake page takes the facts the printed forms need — when and where the matter arose,
each party's sex, ethnicity, date of birth, occupation and address — refuses what cannot be
beside the field with nothing saved, and the case page shows them, a date of birth only
with the full ID number it is part of."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from cases.ethnicity import ETHNICITIES
from cases.models import Case, CaseEvent, Party, PersonalDataAccess
from tests.conftest import PARTIES, Cast, local
from tests.desk.test_pages import intake_post, text_of

pytestmark = pytest.mark.django_db

NOW = local(2026, 3, 10, 9, 0)
FEMALE_ID = PARTIES[0]["id_number"]  # 11010519491231002X: born 1949-12-31, a woman
INTAKE = "desk:intake:index"


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def post(client: Any, cast: Cast, **fields: Any) -> Any:
    client.force_login(cast.alice)
    return client.post(reverse(INTAKE), intake_post(village=cast.dongwan.pk, **fields))


def field_html(html: str, name: str) -> str:
    """The .field block holding the control named `name`, up to the next field."""
    found = [chunk for chunk in re.split(r'(?=<div class="field[ "])', html) if f'name="{name}"' in chunk]
    assert found, name
    return found[0]


def assert_nothing_saved() -> None:
    assert Case.objects.count() == Party.objects.count() == CaseEvent.objects.count() == 0


def test_the_page_asks_for_the_facts_with_fitting_controls(cast: Cast, client: Any) -> None:
    client.force_login(cast.alice)
    html = client.get(reverse(INTAKE)).content.decode()
    occurred = re.search(r'<input[^>]*name="occurred_at"[^>]*>', html).group()
    assert 'type="datetime-local"' in occurred and 'max="2026-03-10T09:00"' in occurred
    assert re.search(r'<input[^>]*name="occurred_place"', html)
    template = re.search(r'<template id="party-template">.*?</template>', html, re.S).group()
    for part, prefix in ((html, "parties-0-"), (template, "parties-__prefix__-")):
        birth = re.search(r'<input[^>]*name="%sbirth_date"[^>]*>' % prefix, part).group()
        assert 'type="date"' in birth and 'max="2026-03-10"' in birth
        ethnicity = re.search(r'<select name="%sethnicity".*?</select>' % prefix, part, re.S).group()
        assert re.findall(r'<option value="([^"]*)"', ethnicity) == ["", *ETHNICITIES]
        sex = re.search(r'<select name="%ssex".*?</select>' % prefix, part, re.S).group()
        assert re.findall(r'<option value="([^"]*)"', sex) == ["", "male", "female"]
        for name in ("occupation", "address"):
            assert f'name="{prefix}{name}"' in part
    # The facts are folded until one is given: a quick report stays short.
    assert '<details class="party-facts">' in html and '<details class="party-facts" open>' not in html


def test_a_case_is_registered_with_its_facts(cast: Cast, client: Any) -> None:
    response = post(client, cast, occurred_at="2026-03-08T14:30", occurred_place="东湾村三组排水沟", **{
        "parties-0-ethnicity": "回族", "parties-0-occupation": "农民", "parties-0-address": "青阳县柳林镇东湾村三组",
        "parties-1-sex": "male", "parties-1-birth_date": "1975-02-03", "parties-1-ethnicity": "汉族",
        "parties-1-occupation": "个体工商户"})
    assert response.status_code == 302, text_of(response)
    case = Case.objects.get()
    assert (case.occurred_at, case.occurred_place) == (local(2026, 3, 8, 14, 30), "东湾村三组排水沟")
    assert list(case.parties.order_by("pk").values_list("name", "sex", "birth_date", "ethnicity", "occupation",
                                                        "address")) == [
        # Sex and date of birth read from the ID number.
        ("王五", "female", date(1949, 12, 31), "回族", "农民", "青阳县柳林镇东湾村三组"),
        ("赵六", "male", date(1975, 2, 3), "汉族", "个体工商户", ""),
    ]


def test_a_quick_report_leaves_the_facts_blank(cast: Cast, client: Any) -> None:
    response = post(client, cast, **{"parties-0-id_number": ""})
    assert response.status_code == 302, text_of(response)
    case = Case.objects.get()
    assert (case.occurred_at, case.occurred_place) == (None, "")
    assert list(case.parties.values_list("sex", "birth_date", "ethnicity", "occupation")) == [("", None, "", "")] * 2


@pytest.mark.parametrize("fields, name", [
    ({"parties-0-sex": "male"}, "parties-0-sex"),
    ({"parties-0-birth_date": "1950-12-31"}, "parties-0-birth_date"),
    ({"parties-1-ethnicity": "火星族"}, "parties-1-ethnicity"),
    ({"parties-1-sex": "x"}, "parties-1-sex"),
    ({"parties-1-birth_date": "2026-03-11"}, "parties-1-birth_date"),
    ({"parties-1-birth_date": "1880-01-01"}, "parties-1-birth_date"),
    ({"occurred_at": "2026-03-10T09:30"}, "occurred_at"),
    ({"occurred_at": "9999-12-31T23:59"}, "occurred_at"),
    ({"occurred_at": "0001-01-01T00:00"}, "occurred_at"),
])
def test_what_cannot_be_is_refused_beside_its_field_and_nothing_is_saved(cast: Cast, client: Any,
                                                                        fields: dict[str, str], name: str) -> None:
    response = post(client, cast, **fields)
    assert response.status_code == 200
    html = response.content.decode()
    block = field_html(html, name)
    assert "has-error" in block and 'class="errorlist' in block
    # What was typed is kept (a value no option has cannot be selected), and the party's
    # folded facts are open to show their error.
    value = fields[name]
    if value not in ("x", "火星族"):
        assert f'value="{value}"' in block or f'<option value="{value}" selected>' in block
    if name.startswith("parties-"):
        party = html[:html.index(f'name="{name}"')]
        assert party.rfind('<details class="party-facts" open>') > party.rfind('<div class="party">')
    assert_nothing_saved()


def test_a_contradiction_names_what_the_id_number_says(cast: Cast, client: Any) -> None:
    response = post(client, cast, **{"parties-0-birth_date": "1950-12-31"})
    assert "1949-12-31" in field_html(response.content.decode(), "parties-0-birth_date")
    assert_nothing_saved()


def test_the_case_page_shows_the_facts_and_the_birth_date_only_with_the_full_id_number(cast: Cast,
                                                                                     client: Any) -> None:
    post(client, cast, occurred_at="2026-03-08T14:30", occurred_place="东湾村三组排水沟", **{
        "parties-0-ethnicity": "回族", "parties-0-occupation": "农民"})
    case = Case.objects.get()
    url = reverse("desk:case:detail", args=[case.pk])
    client.force_login(cast.olga)
    page = text_of(client.get(url))
    assert "2026-03-08 14:30" in page and "东湾村三组排水沟" in page
    assert "回族" in page and "农民" in page and "76" in page
    assert "1949-12-31" not in page and FEMALE_ID not in page
    revealed = text_of(client.post(reverse("desk:case:reveal", args=[case.pk])))
    assert "1949-12-31" in revealed and FEMALE_ID in revealed
    assert PersonalDataAccess.objects.filter(user=cast.olga, case=case).count() == 1
    # A village worker never sees the full number, nor the date read from it.
    client.force_login(cast.alice)
    page = text_of(client.get(url))
    assert "76" in page and "1949-12-31" not in page


def test_the_case_page_of_an_older_case_shows_blanks(cast: Cast, client: Any) -> None:
    post(client, cast, **{"parties-0-id_number": ""})
    case = Case.objects.get()
    client.force_login(cast.olga)
    html = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert "party-facts-line" not in html
    facts = re.search(r'<dl class="facts">.*?</dl>', html, re.S).group()
    assert facts.count("<dd>—</dd>") >= 2
