"""Parties' ID numbers and phones (个人信息保护法): masked unless the role allows, masked by
default on the case page even then, and every showing in full recorded — who, when,
which case, through which door — in its own table, not in the case's timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import CaseEvent, PersonalDataAccess
from tests.conftest import report, token_for
from tests.desk.test_admin import RAW_ID, change_url, logged_in, staff

pytestmark = pytest.mark.django_db


def accesses() -> list[tuple[str, int, str]]:
    return list(PersonalDataAccess.objects.order_by("pk").values_list("user__username", "case", "door"))


def api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def test_the_case_page_shows_full_numbers_only_on_request_and_records_it(cast: Any) -> None:
    case = report(cast)
    client = logged_in(cast.olga)
    page = client.get(reverse("desk:case:detail", args=[case.pk])).content.decode()
    assert RAW_ID not in page and accesses() == []
    events = CaseEvent.objects.count()
    before = timezone.now()
    response = client.post(reverse("desk:case:reveal", args=[case.pk]))
    assert response.status_code == 200 and RAW_ID in response.content.decode()
    assert accesses() == [("olga", case.pk, "page")]
    assert before <= PersonalDataAccess.objects.get().at <= timezone.now() + timedelta(seconds=1)
    # A reading is not a change of the case: its timeline stays as it was.
    assert CaseEvent.objects.count() == events
    # Each showing is its own record.
    client.post(reverse("desk:case:reveal", args=[case.pk]))
    assert accesses() == [("olga", case.pk, "page")] * 2


def test_the_request_is_a_post(cast: Any) -> None:
    case = report(cast)
    response = logged_in(cast.olga).get(reverse("desk:case:reveal", args=[case.pk]))
    assert response.status_code == 405 and accesses() == []


def test_a_role_without_the_right_is_refused_and_nothing_is_recorded(cast: Any) -> None:
    case = report(cast)
    response = logged_in(cast.alice).post(reverse("desk:case:reveal", args=[case.pk]))  # sees the case, not PII
    assert response.status_code == 403 and RAW_ID not in response.content.decode()
    assert accesses() == []


def test_a_case_out_of_reach_is_a_404_and_nothing_is_recorded(cast: Any) -> None:
    theirs = report(cast, actor=cast.nina, village=cast.nanshan.pk)  # 桃源镇
    assert logged_in(cast.olga).post(reverse("desk:case:reveal", args=[theirs.pk])).status_code == 404
    assert accesses() == []


def test_the_api_detail_records_each_unmasked_answer_and_only_those(cast: Any) -> None:
    case = report(cast)
    shown = api(cast.olga).get(f"/api/v1/cases/{case.pk}/").json()
    assert shown["parties"][0]["id_number"] == RAW_ID
    assert accesses() == [("olga", case.pk, "api")]
    masked = api(cast.alice).get(f"/api/v1/cases/{case.pk}/").json()
    assert masked["parties"][0]["id_number"] != RAW_ID
    api(cast.olga).get("/api/v1/cases/")  # the list carries no parties
    assert accesses() == [("olga", case.pk, "api")]
    # An operation's answer carries the case, parties included: recorded too.
    api(cast.olga).post(f"/api/v1/cases/{case.pk}/transitions/note/", {"text": "已联系"}, format="json")
    assert accesses() == [("olga", case.pk, "api")] * 2


def test_the_admin_case_page_records_a_full_showing(cast: Any) -> None:
    case = report(cast)
    olga, vic = staff(cast.olga, "view_case"), staff(cast.vic, "view_case")
    assert RAW_ID in logged_in(olga).get(change_url(case)).content.decode()
    logged_in(vic).get(change_url(case))  # masked for a viewer: nothing to record
    assert accesses() == [("olga", case.pk, "admin")]


def test_supervisors_read_the_accesses_in_the_admin_and_nobody_edits_them(cast: Any) -> None:
    ours, theirs = report(cast), report(cast, actor=cast.nina, village=cast.nanshan.pk)
    api(cast.olga).get(f"/api/v1/cases/{ours.pk}/")
    api(cast.owen).get(f"/api/v1/cases/{theirs.pk}/")
    url = reverse("admin:cases_personaldataaccess_changelist")
    sam = staff(cast.sam, "view_personaldataaccess", "change_personaldataaccess", "delete_personaldataaccess")
    listing = logged_in(sam).get(url)
    assert listing.status_code == 200
    assert ours.number in listing.content.decode() and theirs.number not in listing.content.decode()
    row = PersonalDataAccess.objects.get(case=ours)
    assert logged_in(sam).post(change_url(row), {"door": "page"}).status_code == 403
    assert logged_in(sam).post(reverse("admin:cases_personaldataaccess_delete", args=[row.pk]),
                               {"post": "yes"}).status_code == 403
    assert PersonalDataAccess.objects.filter(pk=row.pk, door="api").exists()
    # An officer with the model permission but no supervisor role does not read them.
    olga = staff(cast.olga, "view_personaldataaccess")
    assert logged_in(olga).get(url).status_code == 403


def test_anonymous_cannot_reveal(cast: Any) -> None:
    case = report(cast)
    response = Client().post(reverse("desk:case:reveal", args=[case.pk]))
    assert response.status_code == 302 and accesses() == []
