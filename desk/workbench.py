"""我的工作台: the cases a person works on and their unit's, nearest deadline first, and
their notifications."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cases.models import Membership
from notifications import services as notification_services
from notifications.models import Notification
from workflow.permissions import visible_to
from workflow.queues import with_listing

from .responses import back

ROWS = 50


def nearest_deadline_first(cases: Any) -> Any:
    return cases.order_by(F("next_due_at").asc(nulls_last=True), "pk")


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    user = request.user
    visible = with_listing(visible_to(user).open())
    mine = Q(assignee=user) | Q(reporter=user)
    units = list(Membership.objects.filter(user=user).values_list("unit_id", flat=True))
    unit_cases = Q(responsible_unit_id__in=units) | Q(lead_department_id__in=units) | Q(village_id__in=units)
    notifications = Notification.objects.filter(user=user).select_related("case").order_by(
        F("read_at").asc(nulls_first=True), "-created_at", "-pk")[:30]
    return render(request, "desk/workbench.html", {
        "mine": nearest_deadline_first(visible.filter(mine))[:ROWS],
        "unit_cases": nearest_deadline_first(visible.filter(unit_cases).exclude(mine))[:ROWS],
        "notifications": notifications,
        "rows": ROWS,
    })


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    notification_services.mark_read(request.user, notification.pk)
    return back(request, "desk:workbench:index")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notification_services.mark_read(request.user)
    return redirect("desk:workbench:index")
