"""我的工作台: what to do now. Cases awaiting acceptance, my cases, those coming due and
those overdue among my work, supervision orders to answer: each with its count and its
nearest few, the whole list one click away in the queue. Then the notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from cases.models import Case
from notifications import services as notification_services
from notifications.models import Notification
from workflow import counts, queues
from workflow.queues import with_listing

from .responses import back

# Rows of each list; the rest is in the queue.
ROWS = 5
NOTIFICATIONS = 10


@dataclass
class Section:
    key: str
    title: Any
    cases: Any
    # The queue's filter showing the whole list.
    query: dict[str, str]
    # Counted and listed already (carded_sections), else from `cases`.
    count: int | None = None
    rows: list[Any] | None = None

    def __post_init__(self) -> None:
        if self.count is None:
            self.count = self.cases.count()
            self.rows = list(nearest_deadline_first(with_listing(self.cases))[:ROWS])
        self.more = reverse("desk:queue:index") + "?" + urlencode(self.query)


def nearest_deadline_first(cases: Any) -> Any:
    return cases.order_by(F("next_due_at").asc(nulls_last=True), "pk")


def carded_sections(work: Any, now: datetime) -> list[Section]:
    """Coming due (黄牌, not yet red) and overdue (红牌) among `work`, each with its count and
    nearest rows, from one pass over the warned cases (an overdue case is warned too): the
    database numbers each card's cases nearest deadline first and counts them, and sends
    the first ROWS of each. Counted and listed apart, the two lists took four passes over a
    township's open cases; read whole, a county supervisor's 7,000 carded cases cost more
    to bring over than to find."""
    warned = work.filter(counts.warned(now))
    red = counts.overdue(now)
    nearest_first = [F("next_due_at").asc(nulls_last=True), F("pk").asc()]
    marked = (warned.annotate(red=red, place=Window(RowNumber(), partition_by=[red], order_by=nearest_first),
                              of=Window(Count("pk"), partition_by=[red]))
              .filter(place__lte=ROWS).order_by().values_list("red", "place", "pk", "of"))
    cards: dict[bool, list[tuple[int, int, int]]] = {False: [], True: []}
    for is_red, place, pk, of in marked:
        cards[bool(is_red)].append((place, pk, of))
    sections = []
    for key, title, is_red in (("due_soon", _("Coming due"), False), ("overdue", _("Overdue"), True)):
        shown = sorted(cards[is_red])
        nearest = [pk for _, pk, _ in shown]
        rows = nearest_deadline_first(with_listing(Case.objects.filter(pk__in=nearest), now)) if nearest else []
        listed = warned.exclude(red) if not is_red else work.filter(red)
        sections.append(Section(key, title, listed, {"list": "work", "card": "red" if is_red else "yellow"},
                                count=shown[0][2] if shown else 0, rows=list(rows)))
    return sections


def sections(user: Any) -> list[Section]:
    due_soon, overdue = carded_sections(queues.my_work(user), timezone.now())
    return [
        Section("awaiting", _("Awaiting acceptance"), queues.awaiting_acceptance(user), {"list": "awaiting"}),
        Section("mine", _("My cases"), queues.my_cases(user), {"list": "mine"}),
        due_soon,
        overdue,
        Section("supervision", _("Supervision orders to answer"), queues.supervision_to_answer(user),
                {"list": "supervision"}),
    ]


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    user = request.user
    notifications = Notification.objects.filter(user=user).select_related("case")
    if request.GET.get("alerts") != "all":
        notifications = notifications.filter(read_at__isnull=True)
    notifications = notifications.order_by(F("read_at").asc(nulls_first=True), "-created_at", "-pk")[:NOTIFICATIONS]
    return render(request, "desk/workbench.html", {
        "sections": sections(user),
        "notifications": notifications,
        "all_alerts": request.GET.get("alerts") == "all",
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
