"""The alerts socket, /ws/alerts/: each signed-in user hears their own notifications and
nobody else's. The rows are the truth; the socket sends the unread ones on connect and
forwards live pushes after that, so an alert raised while a user was offline is not lost."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.models import Q
from django.utils import timezone

from .auth import query_value
from .models import Notification
from .services import alert_message, group_name

# Close code for a socket without a valid session or token. 4000-4999 are the
# application's (RFC 6455 §7.4.2); 4401 echoes HTTP 401 so a client knows to sign in
# rather than retry.
UNAUTHENTICATED = 4401

# The newest unread notifications sent on connect. A supervisor back from leave may hold
# thousands; the cap bounds the query, the frame and the client's work on every
# reconnect. Older unread rows stay in the notification list, which pages.
BACKLOG_LIMIT = 500

# Ids are 64-bit in every supported database; a larger number would make the database
# raise instead of simply matching nothing.
MAX_ID = 2**63 - 1

NOT_JSON = "Messages must be JSON text."
NOT_UNDERSTOOD = 'Only {"type": "ack", "id": <notification id>} is understood.'
# The same reply for an id that does not exist and one of another user's: the socket
# does not reveal which notifications exist.
NOT_YOURS = "No such notification of yours."
BAD_AFTER = "after must be a notification id; the whole unread backlog follows."


def is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


@database_sync_to_async
def unread_backlog(user_id: int, after: int) -> list[dict[str, Any]]:
    """The user's newest BACKLOG_LIMIT unread notifications with ids above `after`, and
    those below it never acknowledged, oldest first. Pushes go out concurrently, not in id
    order: a client may have seen a higher id while a lower one was lost with the layer
    (Redis gone mid-batch); unacknowledged rows come again, and clients drop ids they
    hold. Ordered by id, the order clients reconcile by; the partial index
    notification_unread (user, id) serves it."""
    rows = list(
        Notification.objects.filter(Q(pk__gt=after) | Q(delivered_at__isnull=True), user_id=user_id,
                                    read_at__isnull=True)
        .select_related("case", "deadline")
        .only("level", "text", "case__number", "deadline__due_at")
        .order_by("-pk")[:BACKLOG_LIMIT]
    )
    return [alert_message(row) for row in reversed(rows)]


@database_sync_to_async
def acknowledge(user_id: int, notification_id: int) -> bool:
    """Mark the user's notification delivered. True if it is theirs; the first delivery
    time stands when a client acknowledges twice."""
    mine = Notification.objects.filter(pk=notification_id, user_id=user_id)
    return bool(mine.filter(delivered_at__isnull=True).update(delivered_at=timezone.now())) or mine.exists()


class AlertConsumer(AsyncJsonWebsocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_id: int | None = None
        self.group: str | None = None
        # Ids sent in the backlog whose live push may still be on its way: a row committed
        # just before the backlog was read arrives both ways, and is forwarded once.
        self.in_backlog: set[int] = set()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accepted, then closed with the code: a handshake refused outright reaches
            # the client as HTTP 403 and close code 1006, which says nothing.
            await self.accept()
            await self.close(code=UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.group = group_name(user.pk)
        # Join before reading the backlog: a notification committed in between then
        # arrives as a push, where reading first could miss it.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        after = await self.backlog_start()
        backlog = await unread_backlog(user.pk, after)
        self.in_backlog = {alert["id"] for alert in backlog}
        await self.send_json({"type": "backlog", "alerts": backlog})

    async def backlog_start(self) -> int:
        """The `?after=` id, or 0. A bad value gets the whole backlog: more is harmless,
        since clients key alerts by id."""
        value = query_value(self.scope, "after")
        if value is None:
            return 0
        try:
            after = int(value)
        except ValueError:
            after = -1
        if not 0 <= after <= MAX_ID:
            await self.error(BAD_AFTER)
            return 0
        return after

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        # The base class raises on binary frames and bad JSON, which would close the
        # socket; a client's mistake gets an error reply instead.
        if text_data is None:
            await self.error(NOT_JSON)
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            await self.error(NOT_JSON)
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "ack":
            await self.error(NOT_UNDERSTOOD)
            return
        notification_id = content.get("id")
        if self.user_id is None or not is_id(notification_id) or not await acknowledge(self.user_id, notification_id):
            await self.error(NOT_YOURS)
            return
        await self.send_json({"type": "acked", "id": notification_id})

    async def alert(self, event: dict[str, Any]) -> None:
        """A push from notifications.services.push, already in the client's shape."""
        if event.get("id") in self.in_backlog:
            self.in_backlog.discard(event["id"])
            return
        await self.send_json(event)

    async def error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})
