"""Admin for organisation units, users and their memberships; cases and their audit
trail shown read-only.

A case is registered by workflow.services.report_case() and moved only by
workflow.services.transition(), so the admin neither adds, changes nor deletes one. Every
case-related list is cut down to visible_to(user), as every page is.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from cases import personal_data
from cases.models import (
    Case,
    CaseEvent,
    DeviceToken,
    Membership,
    OrgUnit,
    Party,
    PersonalDataAccess,
    Role,
    StaffProfile,
)
from workflow.admin import ReferenceDataAdmin, card_label
from workflow.models import Deadline
from workflow.permissions import PII, can, visible_to

from .forms import AdminLoginForm

# The admin's login says so when the login throttle refused it (the throttle itself holds
# at every door: cases.login_throttle).
admin.site.login_form = AdminLoginForm

User = get_user_model()


class UnitMembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role"]
    autocomplete_fields = ["user"]
    extra = 0


class UserMembershipInline(admin.TabularInline):
    model = Membership
    fields = ["unit", "role"]
    autocomplete_fields = ["unit"]
    extra = 0


@admin.register(OrgUnit)
class OrgUnitAdmin(ReferenceDataAdmin):
    # A unit's deadline profile is cached with the rules (workflow.refdata).
    list_display = ["name", "code", "level", "parent"]
    list_filter = ["level"]
    list_select_related = ["parent"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    inlines = [UnitMembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "role"]
    list_filter = ["role", "unit__level"]
    list_select_related = ["user", "unit"]
    search_fields = ["user__username", "unit__name", "unit__code"]
    autocomplete_fields = ["user", "unit"]


if admin.site.is_registered(User):
    admin.site.unregister(User)


class StaffProfileInline(admin.StackedInline):
    # The ID number by which a member is known as a party to a case they must not handle
    # (回避, workflow.permissions.recused).
    model = StaffProfile
    can_delete = False
    fields = ["id_number"]


@admin.register(User)
class MemberUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, StaffProfileInline, UserMembershipInline]


class CaseDetailInline(admin.TabularInline):
    """Part of a case's read-only page: shown to whoever may open the case (the case
    list is already cut to the cases they may see), never edited from here."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.admin_site.get_model_admin(self.parent_model).has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class PartyInline(CaseDetailInline):
    model = Party
    fields = ["name", "role", "shown_id_number", "shown_phone", "address"]
    readonly_fields = fields

    # The admin builds fresh inline instances for every request, so remembering the
    # viewer's right on this case here is per request: one permission query per page.
    show_pii = False

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        self.show_pii = obj is not None and can(request.user, PII, obj)
        if self.show_pii:
            # Full numbers on this page: recorded as on the case page (个人信息保护法 第五十一条).
            personal_data.record(request.user, obj, PersonalDataAccess.Door.ADMIN)
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description=_("ID number"))
    def shown_id_number(self, party: Party) -> str:
        return party.id_number if self.show_pii else party.masked_id_number

    @admin.display(description=_("phone"))
    def shown_phone(self, party: Party) -> str:
        return party.phone if self.show_pii else party.masked_phone


class CaseEventInline(CaseDetailInline):
    model = CaseEvent
    fields = ["at", "kind", "from_stage", "to_stage", "actor", "data"]
    readonly_fields = fields
    ordering = ["at", "pk"]


class DeadlineInline(CaseDetailInline):
    model = Deadline
    fields = ["kind", "started_at", "due_at", "warn_at", "met_at", "card", "provisional", "paused_at", "legal_basis"]
    readonly_fields = fields

    @admin.display(description=_("card"))
    def card(self, obj: Deadline) -> str:
        return card_label(obj)


CASE_FIELDSETS = [
    (
        None,
        {
            "fields": [
                "number",
                ("kind", "petition_type"),
                "title",
                "summary",
                ("category", "source"),
                ("risk", "people_involved", "amount"),
                ("is_group", "is_legacy", "is_repeat"),
            ]
        },
    ),
    (
        _("Routing"),
        {
            "fields": [
                "registered_unit",
                "village",
                "responsible_unit",
                "lead_department",
                "co_departments",
                "accused_unit",
                "assignee",
                "reporter",
            ]
        },
    ),
    (
        _("Progress"),
        {
            "fields": [
                "stage",
                "closure",
                "outcome",
                "satisfaction",
                "reported_at",
                "accepted_at",
                "resolved_at",
                "closed_at",
            ]
        },
    ),
]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "kind", "stage", "category", "responsible_unit", "assignee", "reported_at"]

    def _get_obj_does_not_exist_redirect(self, request: Any, opts: Any, object_id: str) -> Any:
        # A case out of reach is a 404 here as at every other door; the admin's usual
        # redirect with "perhaps it was deleted" would differ from a page's answer.
        raise Http404
    list_filter = ["stage", "kind", "category", "risk"]
    list_select_related = ["responsible_unit", "assignee"]
    search_fields = ["number", "title"]
    date_hierarchy = "reported_at"
    fieldsets = CASE_FIELDSETS
    readonly_fields = flatten_fieldsets(CASE_FIELDSETS)
    inlines = [PartyInline, CaseEventInline, DeadlineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return visible_to(request.user).select_related(
            "responsible_unit", "village", "assignee", "registered_unit", "lead_department", "accused_unit", "reporter"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # The stage and everything around it change only through workflow.services:
    # without change permission Django renders the page read-only and refuses a POST.
    def has_change_permission(self, request: HttpRequest, obj: Case | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Case | None = None) -> bool:
        return False


@admin.register(CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    """The audit trail: append-only, so read-only here."""

    list_display = ["case", "kind", "from_stage", "to_stage", "actor", "at"]
    list_filter = ["kind", "from_stage", "to_stage"]
    list_select_related = ["case", "actor"]
    search_fields = ["case__number"]
    date_hierarchy = "at"
    ordering = ["-at", "-pk"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseEvent]:
        return super().get_queryset(request).filter(case__in=visible_to(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CaseEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CaseEvent | None = None) -> bool:
        return False


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(admin.ModelAdmin):
    """Who saw which case's parties in full, when and where: for supervisors (and
    administrators) over the cases within their reach; read-only, as a record must be."""

    list_display = ["at", "user", "case", "door"]
    list_filter = ["door"]
    list_select_related = ["user", "case"]
    search_fields = ["case__number", "user__username"]
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PersonalDataAccess]:
        return super().get_queryset(request).filter(case__in=visible_to(request.user))

    def has_view_permission(self, request: HttpRequest, obj: PersonalDataAccess | None = None) -> bool:
        return super().has_view_permission(request, obj) and (
            request.user.is_superuser or Membership.objects.filter(user=request.user, role=Role.SUPERVISOR).exists())

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PersonalDataAccess | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PersonalDataAccess | None = None) -> bool:
        return False


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    """Every device's API token: an administrator revokes a lost phone's here. Tokens are
    issued only by the token login, which shows them once; the admin never sees one."""

    list_display = ["user", "name", "created", "expiry"]
    list_select_related = ["user"]
    search_fields = ["user__username", "name"]
    fields = readonly_fields = ["user", "name", "created", "expiry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DeviceToken | None = None) -> bool:
        return False
