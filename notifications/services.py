"""Creating notifications, and pushing them to browsers after the transaction commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from cases.bulk import insert_all

from .models import Notification

log = logging.getLogger(__name__)


def notify(users: Any, *, kind: str, level: str, text: str, at: datetime, case: Any = None,
           deadline: Any = None) -> list[Notification]:
    """One row per recipient, in the caller's transaction. Choosing the recipients is the
    caller's security decision; nobody else hears of it."""
    return send(
        Notification(user=user, kind=kind, level=level, text=text, case=case, deadline=deadline, created_at=at)
        for user in users
    )


def mark_read(user: Any, notification_id: int | None = None, *, at: datetime | None = None) -> int:
    """Mark one of `user`'s notifications read (all their unread ones when no id is
    given), once: marking again keeps the first time. Returns how many were marked; the
    pages and the API mark through here."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=at or timezone.now())


def settle(case: Any, kind: str, at: datetime) -> int:
    """Mark read everyone's unread notifications of `kind` about `case`: news that has done
    its work (a new report once someone has taken the case up) leaves every bell."""
    return Notification.objects.filter(case=case, kind=kind, read_at__isnull=True).update(read_at=at)


def send(notifications: Iterable[Notification]) -> list[Notification]:
    """Save unsaved notifications in one statement; push them once the caller commits."""
    rows = list(notifications)
    insert_all(Notification, rows)
    if rows:
        transaction.on_commit(lambda: push(rows))
    return rows


def group_name(user_id: int) -> str:
    return f"user.{user_id}"


def alert_message(row: Notification) -> dict[str, Any]:
    """A notification as the socket sends it (docs/interfaces.md), live or in the backlog."""
    return {
        "type": "alert",
        "id": row.pk,
        "case": row.case_id,
        "case_number": row.case.number if row.case else None,
        "level": row.level,
        "deadline": row.deadline_id,
        "due_at": row.deadline.due_at.isoformat() if row.deadline else None,
        "title": row.text,
    }


# Pushes in flight at once. channels-redis keeps a small connection pool per layer; with
# no cap a sweep's thousands of sends exhaust it and most are dropped.
PUSH_CONCURRENCY = 16
# Seconds a batch of pushes may take before the rest is given up. A Redis that hangs (a
# stopped process, a host dropped from the network) never answers, and the layer's
# reads have no timeout (socket_timeout=None, see settings): without this bound the
# sweep and every request that notifies would wait for ever, on rows committed already.
# A healthy Redis takes milliseconds for a sweep's batch.
PUSH_TIMEOUT = 2.0


def push(rows: list[Notification]) -> None:
    """Send each notification to its user's group. A courtesy: the rows are committed
    already, and a client that misses a push reads the backlog when it reconnects."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    # One event loop for the whole batch: a loop (and so a Redis connection) per send
    # cost milliseconds each and held the last alert of a sweep back by seconds.
    async_to_sync(_send_all)(layer, [(group_name(row.user_id), alert_message(row)) for row in rows])


async def _send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    # PUSH_CONCURRENCY senders taking the messages in turn: a task per message (3,000 for
    # a sweep's batch) cost more than the sends to an idle layer (tests/bench/sweep.py).
    pending = iter(messages)

    async def sender() -> None:
        for group, message in pending:
            try:
                await layer.group_send(group, message)
            except Exception:  # the layer being down must not fail the caller after commit
                log.warning("push of notification %s failed; it stays in the backlog", message["id"], exc_info=True)

    try:
        await asyncio.wait_for(asyncio.gather(*(sender() for _ in range(min(PUSH_CONCURRENCY, len(messages))))),
                               PUSH_TIMEOUT)
    except TimeoutError:
        log.warning("push of %s notifications gave up after %s s; they stay in the backlog", len(messages),
                    PUSH_TIMEOUT)
