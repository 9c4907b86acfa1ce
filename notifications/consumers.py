"""The alerts socket, /ws/alerts/: each signed-in user hears their own notifications and
nobody else's. The rows are the truth; the socket sends the unread ones on connect and
whenever the client asks (sync), and forwards live pushes after that, so neither an alert
raised while a user was offline nor a push the channel layer lost is lost."""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .auth import SUBPROTOCOL, query_value
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

# Seconds a socket waits between backlogs it asks for with {"type": "sync"}, the one on
# connect included. A push is at-most-once: Redis frozen or restarted loses it while the
# socket to the browser stays open, and the page would hear of the alert only when it
# next reconnects. So clients ask again now and then (desk.js every minute); each ask is
# the backlog query, and this bound keeps a client that loops on it from loading the
# database.
SYNC_MIN_SECONDS = 10.0

NOT_JSON = "Messages must be JSON text."
NOT_UNDERSTOOD = ('Only {"type": "ack", "id": <notification id>} and {"type": "sync", "after": <notification id>} '
                  "are understood.")
TOO_SOON = ("At most one sync every {seconds:g} s on a socket, the backlog on connect included; this one is "
            "refused, ask again later.")
# The same reply for an id that does not exist and one of another user's: the socket
# does not reveal which notifications exist.
NOT_YOURS = "No such notification of yours."
BAD_AFTER = "after must be a notification id; the whole unread backlog follows."


# Group joins and leaves in flight at once in this process, one per event loop. Each takes
# a connection from the Redis channel layer's pool, which raises MaxConnectionsError
# instead of waiting once REDIS_MAX_CONNECTIONS are taken: thousands of sockets closing
# together (a network cut, a proxy restart) failed their leave and stayed members until
# the group expired. Half the pool; pushes and the layer's own reads use the rest.
_membership_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary())


def membership_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _membership_slots.get(loop)
    if slots is None:
        slots = _membership_slots[loop] = asyncio.Semaphore(max(1, settings.REDIS_MAX_CONNECTIONS // 2))
    return slots


def is_position(value: Any) -> bool:
    """An id, or 0 (before any): where a client's backlog starts."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def is_id(value: Any) -> bool:
    return is_position(value) and value > 0


@database_sync_to_async
def unread_backlog(user_id: int, after: int) -> tuple[list[dict[str, Any]], int]:
    """The user's newest BACKLOG_LIMIT unread notifications with ids above `after`, and
    those below it never acknowledged, oldest first; and how many unread notifications
    the user has in all, which the page's bell shows. Pushes go out concurrently, not in
    id order: a client may have seen a higher id while a lower one was lost with the layer
    (Redis gone mid-batch); unacknowledged rows come again, and clients drop ids they
    hold. Ordered by id, the order clients reconcile by; the partial index
    notification_unread (user, id) serves both queries."""
    unread = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    rows = list(
        unread.filter(Q(pk__gt=after) | Q(delivered_at__isnull=True))
        .select_related("case", "deadline")
        .only("level", "text", "case__number", "deadline__due_at")
        .order_by("-pk")[:BACKLOG_LIMIT]
    )
    return [alert_message(row) for row in reversed(rows)], unread.count()


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
        # Ids sent in a backlog whose live push may still be on its way: a row committed
        # just before the backlog was read, or whose push a hung Redis delivers late,
        # arrives both ways, and is forwarded once.
        self.in_backlog: set[int] = set()
        self.last_backlog = float("-inf")  # time.monotonic() of the last backlog read

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accepted, then closed with the code: a handshake refused outright reaches
            # the client as HTTP 403 and close code 1006, which says nothing.
            await self.accept(self.subprotocol())
            await self.close(code=UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.group = group_name(user.pk)
        # Join before reading the backlog: a notification committed in between then
        # arrives as a push, where reading first could miss it.
        async with membership_slots():
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept(self.subprotocol())
        await self.send_backlog(await self.backlog_start())

    def subprotocol(self) -> str | None:
        # A client that offered subprotocols (the token in the header) must hear one
        # back, or its WebSocket library fails the handshake.
        return SUBPROTOCOL if SUBPROTOCOL in (self.scope.get("subprotocols") or []) else None

    async def backlog_start(self) -> int:
        """The `?after=` id, or 0."""
        value: Any = query_value(self.scope, "after")
        if value is None:
            return 0
        try:
            value = int(value)
        except ValueError:
            pass
        return await self.position(value)

    async def position(self, value: Any) -> int:
        """`value` if it is an id or 0; else an error reply and 0. A bad value gets the
        whole backlog: more is harmless, since clients key alerts by id."""
        if is_position(value):
            return value
        await self.error(BAD_AFTER)
        return 0

    async def send_backlog(self, after: int) -> None:
        """The unread backlog after `after`, on connect and on each sync."""
        assert self.user_id is not None
        self.last_backlog = time.monotonic()
        backlog, unread = await unread_backlog(self.user_id, after)
        # Added to, not replaced: the push of an id sent in an earlier backlog, and not
        # in this one (acknowledged meanwhile), may still come.
        self.in_backlog.update(alert["id"] for alert in backlog)
        await self.send_json({"type": "backlog", "alerts": backlog, "unread": unread})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            async with membership_slots():
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
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ack":
            await self.reply_to_ack(content)
        elif kind == "sync":
            await self.reply_to_sync(content)
        else:
            await self.error(NOT_UNDERSTOOD)

    async def reply_to_sync(self, content: dict[str, Any]) -> None:
        """{"type": "sync", "after": <id>}: the backlog again, as on connect, `after`
        optional. Refused, without a query, sooner than SYNC_MIN_SECONDS after the last."""
        if self.user_id is None:
            return
        if time.monotonic() - self.last_backlog < SYNC_MIN_SECONDS:
            await self.error(TOO_SOON.format(seconds=SYNC_MIN_SECONDS))
            return
        await self.send_backlog(await self.position(content["after"]) if "after" in content else 0)

    async def reply_to_ack(self, content: dict[str, Any]) -> None:
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
