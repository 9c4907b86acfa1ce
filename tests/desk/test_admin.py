"""The admin: reference data editable (and effective at once), cases and their audit
trail read-only, and nothing shown beyond what the viewer may see."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from cases.models import Case, CaseEvent
from notifications.services import notify
from tests.conftest import PARTIES, Cast, local, report
from workflow.calendar import get_calendar
from workflow.models import CalendarDay, CalendarYear

RAW_ID = PARTIES[0]["id_number"]  # 11010519491231002X
RAW_PHONE = PARTIES[0]["phone"]  # 13800138000
MASKED_ID = "110***********002X"
MASKED_PHONE = "138****8000"


@pytest.fixture
def root(db: None) -> Any:
    return get_user_model().objects.create_superuser("root", password="pw-root")


def staff(user: Any, *codenames: str) -> Any:
    """Make a cast member staff with the model permissions the admin asks for."""
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_it_loads_the_index_and_every_changelist_for_a_superuser(cast: Cast, root: Any) -> None:
    case = report(cast)
    notify([cast.olga], kind="warning", level="warning", text="即将超期", case=case, at=local(2026, 3, 3, 9, 0))
    client = logged_in(root)

    assert client.get(reverse("admin:index")).status_code == 200
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    for obj in [case, case.events.first(), case.deadlines.first(), cast.liulin, cast.olga]:
        assert client.get(change_url(obj)).status_code == 200, obj
    for name in ["cases_orgunit", "cases_membership", "auth_user", "workflow_ruleprofile", "workflow_deadlinerule",
                 "workflow_calendaryear", "workflow_calendarday"]:
        assert client.get(reverse(f"admin:{name}_add")).status_code == 200, name


def test_it_shows_a_users_memberships_on_the_user_page(cast: Cast, root: Any) -> None:
    content = logged_in(root).get(change_url(cast.olga)).content.decode()

    assert "memberships-group" in content
    assert f'value="{cast.liulin.pk}" selected' in content


def test_it_masks_party_pii_on_the_case_page_for_staff_without_the_right(cast: Cast) -> None:
    case = report(cast)
    vic = staff(cast.vic, "view_case")  # viewer of 柳林镇: sees the case, not the PII

    response = logged_in(vic).get(change_url(case))

    assert response.status_code == 200
    content = response.content.decode()
    assert MASKED_ID in content and MASKED_PHONE in content
    assert RAW_ID not in content and RAW_PHONE not in content


def test_it_shows_party_pii_on_the_case_page_to_staff_holding_the_right(cast: Cast) -> None:
    case = report(cast)
    olga = staff(cast.olga, "view_case")  # officer of 柳林镇: holds view_party_pii

    response = logged_in(olga).get(change_url(case))

    assert response.status_code == 200
    content = response.content.decode()
    assert RAW_ID in content and RAW_PHONE in content


def test_it_lists_only_the_cases_a_staff_user_may_see(cast: Cast, root: Any) -> None:
    ours = report(cast)
    theirs = report(cast, actor=cast.nina, village=cast.nanshan.pk)  # 桃源镇, out of olga's reach
    olga = staff(cast.olga, "view_case", "view_caseevent", "view_deadline")
    client = logged_in(olga)

    listing = client.get(reverse("admin:cases_case_changelist")).content.decode()
    assert ours.number in listing
    assert theirs.number not in listing
    # Opening it by id finds nothing either: a 404, as at every other door.
    response = client.get(change_url(theirs))
    assert response.status_code == 404
    assert RAW_ID not in response.content.decode() and theirs.number not in response.content.decode()
    for name in ["cases_caseevent", "workflow_deadline"]:
        listing = client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert ours.number in listing and theirs.number not in listing, name

    listing = logged_in(root).get(reverse("admin:cases_case_changelist")).content.decode()
    assert ours.number in listing and theirs.number in listing


def test_it_refuses_to_add_or_delete_a_case(cast: Cast, root: Any) -> None:
    case = report(cast)
    client = logged_in(root)

    assert client.get(reverse("admin:cases_case_add")).status_code == 403
    assert client.post(reverse("admin:cases_case_add"), {"title": "x"}).status_code == 403
    assert client.post(reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_it_never_saves_a_case_posted_to_its_change_page(cast: Cast, root: Any) -> None:
    case = report(cast)

    response = logged_in(root).post(
        change_url(case), {"stage": Case.Stage.CLOSED, "title": "改过的标题", "_save": "保存"}
    )

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.stage == Case.Stage.REPORTED
    assert case.title != "改过的标题"
    assert list(case.events.values_list("kind", flat=True)) == ["report"]


def test_it_refuses_to_change_or_delete_a_case_event(cast: Cast, root: Any) -> None:
    case = report(cast)
    event = case.events.get()
    client = logged_in(root)

    assert client.get(reverse("admin:cases_caseevent_add")).status_code == 403
    assert client.post(change_url(event), {"kind": "forged", "at": "2026-03-01 00:00:00"}).status_code == 403
    assert client.post(reverse("admin:cases_caseevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.kind == "report"
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_a_holiday_entered_in_the_admin_counts_at_once(
    cast: Cast, root: Any, django_capture_on_commit_callbacks: Any
) -> None:
    national_day = date(2027, 10, 1)  # a Friday
    assert get_calendar().is_working(national_day)
    assert not get_calendar().is_known(national_day)
    client = logged_in(root)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:workflow_calendaryear_add"), {"year": "2027", "note": "国办发明电"})
    assert response.status_code == 302
    assert get_calendar().is_known(national_day)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:workflow_calendarday_add"), {"date": "2027-10-01", "name": "国庆节"}  # working unticked
        )
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=national_day).working is False
    assert not get_calendar().is_working(national_day)


def test_a_holiday_deleted_in_bulk_in_the_admin_counts_at_once(cast: Cast, root: Any,
                                                            django_capture_on_commit_callbacks: Any) -> None:
    CalendarYear.objects.create(year=2027)
    day = CalendarDay.objects.create(date=date(2027, 10, 1), working=False, name="国庆节")
    assert not get_calendar().is_working(day.date)

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(root).post(
            reverse("admin:workflow_calendarday_changelist"),
            {"action": "delete_selected", "_selected_action": [day.pk], "post": "yes"},
        )

    assert response.status_code == 302
    assert not CalendarDay.objects.filter(pk=day.pk).exists()
    assert get_calendar().is_working(day.date)


def test_it_lists_a_staff_user_only_their_own_notifications(cast: Cast, root: Any) -> None:
    case = report(cast)
    at = local(2026, 3, 3, 9, 0)
    notify([cast.olga], kind="warning", level="warning", text="给奥尔加的提醒", case=case, at=at)
    notify([cast.sam], kind="warning", level="warning", text="给萨姆的提醒", case=case, at=at)
    olga = staff(cast.olga, "view_notification")
    url = reverse("admin:notifications_notification_changelist")

    listing = logged_in(olga).get(url).content.decode()
    assert ">olga<" in listing and ">sam<" not in listing

    listing = logged_in(root).get(url).content.decode()
    assert ">olga<" in listing and ">sam<" in listing


def test_a_members_id_number_is_entered_on_the_user_page_and_recuses_them(cast: Cast, root: Any) -> None:
    # Recusal (回避) knows a member by the ID number of their staff profile: the admin is
    # where it is entered.
    from cases.models import StaffProfile
    from workflow.permissions import assignable_users

    case = report(cast)  # 张三, 11010519491231002X, is a party
    client = logged_in(root)
    content = client.get(change_url(cast.mia)).content.decode()
    assert 'name="staff_profile-0-id_number"' in content
    data = {
        "username": "mia", "is_active": "on", "date_joined_0": "2026-03-01", "date_joined_1": "09:00:00",
        "staff_profile-TOTAL_FORMS": "1", "staff_profile-INITIAL_FORMS": "0", "staff_profile-MIN_NUM_FORMS": "0",
        "staff_profile-MAX_NUM_FORMS": "1", "staff_profile-0-id_number": "11010519491231002x",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1", "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000", "memberships-0-id": str(cast.mia.memberships.get().pk),
        "memberships-0-user": str(cast.mia.pk), "memberships-0-unit": str(cast.liulin.pk),
        "memberships-0-role": "mediator",
    }
    response = client.post(change_url(cast.mia), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert StaffProfile.objects.get(user=cast.mia).id_number == "11010519491231002X"
    assert cast.mia not in assignable_users(case)
