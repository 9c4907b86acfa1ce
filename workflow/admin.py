"""Admin for the reference data the clocks run on (deadline rules and profiles, the
working-day calendar), and the deadlines themselves, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import counts
from .models import (
    AssessmentItem,
    AssessmentScheme,
    CalendarDay,
    CalendarYear,
    Deadline,
    DeadlineRule,
    RuleProfile,
    Step,
    SupervisionOrder,
)
from .permissions import visible_to
from .refdata import invalidate_all


def reference_data_changed() -> None:
    # After commit: dropped earlier, another request could re-read and keep the old
    # rows for a minute; a rolled-back edit must not be cached either.
    transaction.on_commit(invalidate_all)


class ReferenceDataAdmin(admin.ModelAdmin):
    """Rules and calendar are cached per process (workflow.refdata); every write made
    here drops the cache so this process counts with the new data at once."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        reference_data_changed()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        reference_data_changed()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        reference_data_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        reference_data_changed()


class DeadlineRuleInline(admin.TabularInline):
    model = DeadlineRule
    fields = [
        "kind",
        "case_kind",
        "category",
        "risk",
        "duration",
        "unit",
        "holiday_shift",
        "warning_lead",
        "escalation_grace",
        "extension_cap",
        "legal_basis",
    ]
    extra = 0


@admin.register(RuleProfile)
class RuleProfileAdmin(ReferenceDataAdmin):
    list_display = ["name", "code", "parent"]
    search_fields = ["name", "code"]
    inlines = [DeadlineRuleInline]


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(ReferenceDataAdmin):
    list_display = [
        "profile",
        "kind",
        "case_kind",
        "category",
        "risk",
        "duration",
        "unit",
        "holiday_shift",
        "warning_lead",
        "escalation_grace",
        "extension_cap",
        "legal_basis",
    ]
    list_display_links = ["profile", "kind"]
    list_editable = ["duration", "unit", "holiday_shift", "warning_lead", "escalation_grace", "extension_cap"]
    list_filter = ["profile", "kind", "unit"]
    list_select_related = ["profile"]
    search_fields = ["legal_basis"]
    ordering = ["profile", "kind", "case_kind", "category", "risk"]


@admin.register(CalendarYear)
class CalendarYearAdmin(ReferenceDataAdmin):
    list_display = ["year", "note"]


@admin.register(CalendarDay)
class CalendarDayAdmin(ReferenceDataAdmin):
    list_display = ["date", "working", "name"]
    list_filter = ["working"]
    date_hierarchy = "date"
    search_fields = ["name"]


class OpenListFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("Open")), ("met", _("Met"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Deadline]) -> QuerySet[Deadline]:
        if self.value() == "open":
            return queryset.filter(met_at__isnull=True)
        if self.value() == "met":
            return queryset.filter(met_at__isnull=False)
        return queryset


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    """Clocks are opened, moved and stopped by the transition service and the sweep."""

    list_display = ["case", "kind", "due_at", "warn_at", "met_at", "card_shown", "provisional", "paused_at"]
    list_filter = [OpenListFilter, "kind", "provisional"]
    list_select_related = ["case"]
    search_fields = ["case__number"]
    date_hierarchy = "due_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Deadline]:
        return super().get_queryset(request).filter(case__in=visible_to(request.user))

    @admin.display(description=_("card"))
    def card_shown(self, obj: Deadline) -> str:
        return card_label(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


CARDS = {"yellow": Step.WARNING.label, "red": Step.OVERDUE.label}


def card_label(deadline: Deadline) -> str:
    return str(CARDS.get(counts.card(deadline), ""))


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(admin.ModelAdmin):
    """Orders are issued, answered and closed through the transition service."""

    list_display = ["case", "issued_by", "issued_at", "replied_at", "closed_at"]
    list_select_related = ["case", "issued_by"]
    search_fields = ["case__number"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupervisionOrder]:
        return super().get_queryset(request).filter(case__in=visible_to(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AssessmentItemInline(admin.TabularInline):
    model = AssessmentItem
    extra = 0


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(admin.ModelAdmin):
    """Weights, scale and veto items of the assessment (考核) are data: edited here."""

    list_display = ["name", "code", "scale", "warned_places", "is_default"]
    inlines = [AssessmentItemInline]
