from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q
from django.http import HttpRequest

from notifications.models import Notification


def desk(request: HttpRequest) -> dict[str, Any]:
    """The unread alert counter in every page's toolbar, and the newest alert id the page
    knows of, from which the alert socket asks for what arrives after it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    figures = Notification.objects.filter(user=user).aggregate(
        unread=Count("pk", filter=Q(read_at__isnull=True)), last=Max("pk"))
    return {"unread_alerts": figures["unread"], "last_alert_id": figures["last"] or 0}
