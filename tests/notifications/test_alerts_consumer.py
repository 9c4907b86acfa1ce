"""The alerts socket /ws/alerts/, driven through config.asgi.application so the origin
check and both ways of signing in (session cookie, ?token=) are part of every test.

Each test runs on the in-memory channel layer and on Redis at 127.0.0.1:6379; without
Redis the Redis runs are skipped, except under CI=true, where they fail. pytest-asyncio
is not used: the database is set up in the synchronous test, and the socket part runs
in an event loop through async_to_sync. The consumer's database calls come back to the
test's thread, on the same connection."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.asgi import application
from notifications import consumers
from notifications.consumers import BACKLOG_LIMIT, BAD_AFTER, MAX_ID, UNAUTHENTICATED
from notifications.models import Notification
from notifications.services import notify, push
from tests.conftest import Cast, report, token_for

# The consumer reads the database from the event loop's side; its reads must see what the
# test committed. The serialized rollback restores the seeded calendar and rules after.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REDIS_ADDRESS = "redis://127.0.0.1:6379/15"
ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")
Headers = list[tuple[bytes, bytes]]


def redis_reachable() -> bool:
    try:
        with redis.Redis.from_url(REDIS_ADDRESS, socket_connect_timeout=0.5) as client:
            client.ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture(params=["memory", "redis"], autouse=True)
def layer(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        if not redis_reachable():
            if os.environ.get("CI") == "true":
                pytest.fail(f"Redis at {REDIS_ADDRESS} is required under CI=true")
            pytest.skip(f"Redis at {REDIS_ADDRESS} is not reachable")
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": REDIS_ADDRESS, "socket_timeout": None}],
                    # Groups and channels of this test only, whatever else uses the database.
                    "prefix": f"tiaochu-test-{uuid.uuid4().hex}",
                },
            }
        }
    channel_layers.backends.clear()
    yield request.param
    if request.param == "redis":
        async_to_sync(get_channel_layer().flush)()
    channel_layers.backends.clear()


def run(body: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(body)()


def session_headers(user: Any, origin: tuple[bytes, bytes] = ORIGIN) -> Headers:
    client = Client()
    client.force_login(user)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), origin, HOST]


def socket(headers: Headers, query: str = "") -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/alerts/{query}", headers=headers)


@asynccontextmanager
async def connected(headers: Headers, query: str = "") -> AsyncIterator[WebsocketCommunicator]:
    communicator = socket(headers, query)
    accepted, _ = await communicator.connect()
    assert accepted
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def refusal(headers: Headers, query: str = "") -> tuple[bool, Any]:
    """(False, close code) for a socket that was turned away. An unauthenticated one is
    accepted and closed at once with the code, so that real clients (whose servers turn a
    refused handshake into HTTP 403 and close code 1006) see why; nothing else is sent."""
    communicator = socket(headers, query)
    try:
        connected, code = await communicator.connect()
        if not connected:
            return False, code
        message = await communicator.receive_output()
        assert message["type"] == "websocket.close", message
        return False, message.get("code")
    finally:
        await communicator.disconnect()


async def backlog_ids(communicator: WebsocketCommunicator) -> list[int]:
    message = await communicator.receive_json_from()
    assert message["type"] == "backlog"
    return [alert["id"] for alert in message["alerts"]]


def overdue(cast: Cast, user: Any, *, case: Any = None, kind: str = "overdue") -> Notification:
    """One red-card notification for `user`, committed; pushed if anyone listens."""
    case = case or report(cast)
    with transaction.atomic():
        [row] = notify(
            [user], kind=kind, level=Notification.Level.OVERDUE, text=f"{case.number} 受理期限已逾期",
            at=timezone.now(), case=case, deadline=case.deadlines.first(),
        )
    return row


def expected_alert(row: Notification) -> dict[str, Any]:
    row = Notification.objects.select_related("case", "deadline").get(pk=row.pk)
    return {
        "type": "alert",
        "id": row.pk,
        "case": row.case.pk,
        "case_number": row.case.number,
        "level": "overdue",
        "deadline": row.deadline.pk,
        "due_at": row.deadline.due_at.isoformat(),
        "title": row.text,
    }


def test_the_concerned_liaison_receives_the_alert_and_another_department_nothing(cast: Cast) -> None:
    lena, hans = session_headers(cast.lena), session_headers(cast.hans)
    case = report(cast)
    pushed: list[Notification] = []

    async def body() -> None:
        async with connected(lena) as lena_socket, connected(hans) as hans_socket:
            assert await backlog_ids(lena_socket) == []
            assert await backlog_ids(hans_socket) == []
            pushed.append(await database_sync_to_async(overdue)(cast, cast.lena, case=case))
            message = await lena_socket.receive_json_from()
            assert message == await database_sync_to_async(expected_alert)(pushed[0])
            assert await lena_socket.receive_nothing(timeout=0.3)
            assert await hans_socket.receive_nothing(timeout=0.3)

    run(body)
    # The officers heard of the report; of the alert, lena alone.
    assert list(Notification.objects.exclude(kind="report").values_list("user__username", flat=True)) == ["lena"]


def test_an_alert_already_sent_in_the_backlog_is_not_forwarded_again(cast: Cast) -> None:
    row = overdue(cast, cast.lena)
    headers = session_headers(cast.lena)

    async def body() -> None:
        async with connected(headers) as lena:
            assert await backlog_ids(lena) == [row.pk]
            # The push of a row committed just before the backlog was read, arriving late.
            await database_sync_to_async(push)([row])
            assert await lena.receive_nothing(timeout=0.3)

    run(body)


def test_an_anonymous_socket_is_refused(cast: Cast) -> None:
    async def body() -> None:
        assert await refusal([ORIGIN, HOST]) == (False, UNAUTHENTICATED)
        assert await refusal([(b"cookie", b"sessionid=forged"), ORIGIN, HOST]) == (False, UNAUTHENTICATED)

    run(body)


def test_a_page_of_another_site_is_refused_even_with_a_valid_session(cast: Cast) -> None:
    headers = session_headers(cast.lena, origin=(b"origin", b"http://evil.example"))
    overdue(cast, cast.lena)

    async def body() -> None:
        accepted, _ = await refusal(headers)
        assert not accepted

    run(body)


def test_an_inactive_user_is_refused_despite_the_session(cast: Cast) -> None:
    headers = session_headers(cast.lena)
    cast.lena.is_active = False
    cast.lena.save(update_fields=["is_active"])

    async def body() -> None:
        assert await refusal(headers) == (False, UNAUTHENTICATED)

    run(body)


def test_an_api_client_connects_with_a_token_and_a_bad_token_is_refused(cast: Cast) -> None:
    token = token_for(cast.pete)
    mine = overdue(cast, cast.pete)
    overdue(cast, cast.lena)
    retired = token_for(cast.vic)
    cast.vic.is_active = False
    cast.vic.save(update_fields=["is_active"])
    lena_session = session_headers(cast.lena)

    async def body() -> None:
        async with connected([ORIGIN, HOST], f"?token={token}") as pete:
            assert await backlog_ids(pete) == [mine.pk]
        # API clients often send no Origin; with a token that is fine, with a cookie not.
        async with connected([HOST], f"?token={token}") as pete:
            assert await backlog_ids(pete) == [mine.pk]
        no_origin = [header for header in lena_session if header[0] != b"origin"]
        assert (await refusal(no_origin))[0] is False
        assert await refusal([ORIGIN, HOST], "?token=not-a-token") == (False, UNAUTHENTICATED)
        assert await refusal([ORIGIN, HOST], "?token=") == (False, UNAUTHENTICATED)
        assert await refusal([ORIGIN, HOST], f"?token={retired}") == (False, UNAUTHENTICATED)
        # A bad token does not fall back to the session that came with it.
        assert await refusal(lena_session, "?token=not-a-token") == (False, UNAUTHENTICATED)

    run(body)


def test_the_unread_backlog_arrives_on_connect(cast: Cast) -> None:
    case = report(cast)
    first = overdue(cast, cast.lena, case=case, kind="overdue")
    read = overdue(cast, cast.lena, case=case, kind="escalation")
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    last = overdue(cast, cast.lena, case=case, kind="supervision")
    overdue(cast, cast.hans, case=case)
    headers = session_headers(cast.lena)
    first_alert = expected_alert(first)

    async def body() -> None:
        async with connected(headers) as lena:
            message = await lena.receive_json_from()
            assert [a["id"] for a in message["alerts"]] == [first.pk, last.pk]
            assert message["alerts"][0] == first_alert
            assert await lena.receive_nothing(timeout=0.1)
        # Not acknowledged, the first comes again even after a higher id was seen: its
        # push may have been lost while a later one arrived.
        async with connected(headers, f"?after={last.pk}") as lena:
            assert await backlog_ids(lena) == [first.pk, last.pk]
            await lena.send_json_to({"type": "ack", "id": first.pk})
            assert (await lena.receive_json_from())["type"] == "acked"
        async with connected(headers, f"?after={first.pk}") as lena:
            assert await backlog_ids(lena) == [last.pk]
        async with connected(headers, "?after=yesterday") as lena:
            assert (await lena.receive_json_from())["type"] == "error"
            assert await backlog_ids(lena) == [first.pk, last.pk]

    run(body)


def test_the_backlog_holds_the_newest_unread_oldest_first(cast: Cast) -> None:
    at = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(user=cast.lena, kind="overdue", level="overdue", text=f"#{i}",
                     created_at=at + timedelta(seconds=i))
        for i in range(BACKLOG_LIMIT + 1)
    )
    headers = session_headers(cast.lena)

    async def body() -> None:
        async with connected(headers) as lena:
            assert await backlog_ids(lena) == [row.pk for row in rows[1:]]

    run(body)


def test_acknowledging_marks_ones_own_notification_delivered_and_nothing_else(cast: Cast) -> None:
    mine = overdue(cast, cast.lena)
    theirs = overdue(cast, cast.hans)
    headers = session_headers(cast.lena)

    async def body() -> None:
        async with connected(headers) as lena:
            await lena.receive_json_from()
            await lena.send_json_to({"type": "ack", "id": theirs.pk})
            refused = await lena.receive_json_from()
            await lena.send_json_to({"type": "ack", "id": theirs.pk + mine.pk + 1000})
            # Someone else's id and an id that does not exist read the same.
            assert await lena.receive_json_from() == refused
            assert refused["type"] == "error"
            await lena.send_json_to({"type": "ack", "id": mine.pk})
            assert await lena.receive_json_from() == {"type": "acked", "id": mine.pk}

    run(body)
    assert Notification.objects.get(pk=mine.pk).delivered_at is not None
    assert Notification.objects.get(pk=theirs.pk).delivered_at is None


def test_a_second_acknowledgement_keeps_the_first_delivery_time(cast: Cast) -> None:
    mine = overdue(cast, cast.lena)
    headers = session_headers(cast.lena)

    async def body() -> None:
        async with connected(headers) as lena:
            await lena.receive_json_from()
            await lena.send_json_to({"type": "ack", "id": mine.pk})
            assert await lena.receive_json_from() == {"type": "acked", "id": mine.pk}

    run(body)
    delivered = Notification.objects.get(pk=mine.pk).delivered_at
    run(body)
    assert Notification.objects.get(pk=mine.pk).delivered_at == delivered


def test_bad_messages_get_an_error_reply_and_the_socket_stays_usable(cast: Cast) -> None:
    mine = overdue(cast, cast.lena)
    headers = session_headers(cast.lena)

    async def body() -> None:
        async with connected(headers) as lena:
            await lena.receive_json_from()
            for frame in ["{not json", "[" * 100_000, '"ack"', '{"type": "subscribe", "group": "user.1"}',
                          '{"type": "ack", "id": "1"}', '{"type": "ack", "id": true}', '{"type": "ack", "id": 1e400}',
                          f'{{"type": "ack", "id": {2**70}}}', '{"type": "ack"}']:
                await lena.send_to(text_data=frame)
                reply = await lena.receive_json_from()
                assert reply["type"] == "error", frame
            await lena.send_to(bytes_data=b'{"type": "ack"}')
            assert (await lena.receive_json_from())["type"] == "error"
            await lena.send_json_to({"type": "ack", "id": mine.pk})
            assert await lena.receive_json_from() == {"type": "acked", "id": mine.pk}

    run(body)
    assert Notification.objects.get(pk=mine.pk).delivered_at is not None


def test_with_the_channel_layer_down_notifications_commit_and_wait_in_the_backlog(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("channel layer unreachable")

    case = report(cast)
    with monkeypatch.context() as patch:
        patch.setattr(get_channel_layer(), "group_send", down)
        row = overdue(cast, cast.lena, case=case)
    assert Notification.objects.filter(pk=row.pk, user=cast.lena, delivered_at__isnull=True).exists()
    headers = session_headers(cast.lena)

    async def body() -> None:
        async with connected(headers) as lena:
            assert await backlog_ids(lena) == [row.pk]

    run(body)


# --- sync: a push lost while the socket stays open -------------------------------------


@pytest.fixture
def sync_any_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """No minimum between syncs, for tests that sync more often than a client may."""
    monkeypatch.setattr(consumers, "SYNC_MIN_SECONDS", 0)


def pushed_nowhere(monkeypatch: pytest.MonkeyPatch, cast: Cast, user: Any,
                   kept: list[tuple[str, dict[str, Any]]] | None = None) -> Notification:
    """A notification committed whose push the channel layer takes and never delivers (a
    frozen Redis, a full channel); into `kept` if given, to deliver it late."""
    async def lost(group: str, message: dict[str, Any]) -> None:
        if kept is not None:
            kept.append((group, message))

    case = report(cast)  # outside: the news of the report goes out as usual
    with monkeypatch.context() as patch:
        patch.setattr(get_channel_layer(), "group_send", lost)
        return overdue(cast, user, case=case)


def delivered(row: Notification) -> Any:
    return Notification.objects.get(pk=row.pk).delivered_at


def notification_queries(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if Notification._meta.db_table in query["sql"]]


def test_a_push_lost_with_the_socket_open_arrives_on_sync_once_and_not_again_once_acknowledged(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, sync_any_time: None
) -> None:
    seen = overdue(cast, cast.lena)
    headers = session_headers(cast.lena)
    lost: list[Notification] = []

    async def body() -> None:
        async with connected(headers) as lena:
            assert await backlog_ids(lena) == [seen.pk]
            await lena.send_json_to({"type": "ack", "id": seen.pk})
            assert await lena.receive_json_from() == {"type": "acked", "id": seen.pk}
            lost.append(await database_sync_to_async(pushed_nowhere)(monkeypatch, cast, cast.lena))
            assert await lena.receive_nothing(timeout=0.3), "the push was not lost"
            await lena.send_json_to({"type": "sync", "after": seen.pk})
            assert await lena.receive_json_from() == {
                "type": "backlog", "alerts": [await database_sync_to_async(expected_alert)(lost[0])],
                "unread": 2}  # seen and lost, neither read
            assert await lena.receive_nothing(timeout=0.3)
            assert await database_sync_to_async(delivered)(lost[0]) is None
            # Not acknowledged, it comes again even after the client has seen its id.
            await lena.send_json_to({"type": "sync", "after": lost[0].pk})
            assert await backlog_ids(lena) == [lost[0].pk]
            await lena.send_json_to({"type": "ack", "id": lost[0].pk})
            assert await lena.receive_json_from() == {"type": "acked", "id": lost[0].pk}
            assert await database_sync_to_async(delivered)(lost[0]) is not None
            await lena.send_json_to({"type": "sync", "after": lost[0].pk})
            assert await backlog_ids(lena) == []
            assert await lena.receive_nothing(timeout=0.3)

    run(body)
    assert Notification.objects.filter(user=cast.lena, delivered_at__isnull=True).count() == 0
    assert Notification.objects.filter(user=cast.lena).count() == 2


def test_a_sync_with_a_bad_after_gets_an_error_and_the_whole_backlog_and_changes_nothing(
    cast: Cast, sync_any_time: None
) -> None:
    first = overdue(cast, cast.lena)
    last = overdue(cast, cast.lena)
    Notification.objects.filter(pk=first.pk).update(delivered_at=timezone.now())
    headers = session_headers(cast.lena)
    before = list(Notification.objects.order_by("pk").values())

    async def body() -> None:
        async with connected(headers, f"?after={last.pk}") as lena:
            assert await backlog_ids(lena) == [last.pk]
            for frame in ['{"type": "sync", "after": "%d"}' % first.pk, '{"type": "sync", "after": -1}',
                          '{"type": "sync", "after": true}', f'{{"type": "sync", "after": {MAX_ID + 1}}}',
                          '{"type": "sync", "after": 1e400}', '{"type": "sync", "after": %d.0}' % first.pk,
                          '{"type": "sync", "after": null}', '{"type": "sync", "after": [1]}']:
                await lena.send_to(text_data=frame)
                assert await lena.receive_json_from() == {"type": "error", "message": BAD_AFTER}, frame
                assert await backlog_ids(lena) == [first.pk, last.pk], frame
            # Without after: the whole backlog, and nothing to complain of.
            await lena.send_json_to({"type": "sync"})
            assert await backlog_ids(lena) == [first.pk, last.pk]
            # The ends of the range are ids; the unacknowledged one comes whatever the start.
            await lena.send_json_to({"type": "sync", "after": 0})
            assert await backlog_ids(lena) == [first.pk, last.pk]
            await lena.send_json_to({"type": "sync", "after": MAX_ID})
            assert await backlog_ids(lena) == [last.pk]
            await lena.send_json_to({"type": "sync", "after": first.pk})
            assert await backlog_ids(lena) == [last.pk]
            assert await lena.receive_nothing(timeout=0.1)

    run(body)
    assert list(Notification.objects.order_by("pk").values()) == before


def test_a_sync_sooner_than_the_minimum_is_refused_without_a_query(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = overdue(cast, cast.lena)
    headers = session_headers(cast.lena)
    assert consumers.SYNC_MIN_SECONDS >= 5  # the default: connect and two syncs take far less

    async def body() -> None:
        async with connected(headers) as lena:
            assert await backlog_ids(lena) == [mine.pk]
            # The backlog on connect counts as a sync; so does each sync answered.
            for _ in range(2):
                await lena.send_json_to({"type": "sync", "after": 0})
                refused = await lena.receive_json_from()
                assert refused["type"] == "error"
                assert f"one sync every {consumers.SYNC_MIN_SECONDS:g} s" in refused["message"]
            # The time passed, as far as the socket can tell.
            monkeypatch.setattr(consumers, "SYNC_MIN_SECONDS", 0)
            await lena.send_json_to({"type": "sync", "after": 0})
            assert await backlog_ids(lena) == [mine.pk]

    with CaptureQueriesContext(connection) as queries:
        run(body)
    # The backlog on connect and the one sync answered, each its rows and its unread count;
    # none for those refused.
    assert len(notification_queries(queries)) == 4, notification_queries(queries)
    assert Notification.objects.get(pk=mine.pk).delivered_at is None


def test_an_alert_in_a_sync_reply_whose_push_comes_late_is_forwarded_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, sync_any_time: None
) -> None:
    headers = session_headers(cast.lena)
    kept: list[tuple[str, dict[str, Any]]] = []
    rows: list[Notification] = []

    async def body() -> None:
        async with connected(headers) as lena:
            assert await backlog_ids(lena) == []
            rows.append(await database_sync_to_async(pushed_nowhere)(monkeypatch, cast, cast.lena, kept))
            await lena.send_json_to({"type": "sync", "after": 0})
            assert await backlog_ids(lena) == [rows[0].pk]
            await lena.send_json_to({"type": "ack", "id": rows[0].pk})
            assert await lena.receive_json_from() == {"type": "acked", "id": rows[0].pk}
            # Acknowledged, it is in no later backlog; its push may still come.
            await lena.send_json_to({"type": "sync", "after": rows[0].pk})
            assert await backlog_ids(lena) == []
            # The layer hands the push over after all (a Redis that hung, then answered).
            [(group, message)] = kept
            await get_channel_layer().group_send(group, message)
            assert await lena.receive_nothing(timeout=0.3)
            # The next push is forwarded as usual.
            rows.append(await database_sync_to_async(overdue)(cast, cast.lena))
            assert (await lena.receive_json_from())["id"] == rows[1].pk
            assert await lena.receive_nothing(timeout=0.3)

    run(body)
    assert Notification.objects.get(pk=rows[0].pk).delivered_at is not None
    assert Notification.objects.get(pk=rows[1].pk).delivered_at is None


def test_sockets_closing_together_all_leave_their_group_with_a_small_redis_pool(
        cast: Cast, layer: str, settings: Any) -> None:
    if layer != "redis":
        pytest.skip("the Redis layer's connection pool")
    # A pool of four: forty sockets joining and leaving at once would take forty
    # connections, and redis-py raises past the pool's size instead of waiting.
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["max_connections"] = 4
    settings.REDIS_MAX_CONNECTIONS = 4
    channel_layers.backends.clear()
    headers = session_headers(cast.lena)
    redis_layer = get_channel_layer()
    group_key = redis_layer._group_key(consumers.group_name(cast.lena.pk))

    async def members() -> int:
        with redis.Redis.from_url(REDIS_ADDRESS) as client:
            return client.zcard(group_key)

    async def body() -> None:
        sockets = [socket(headers) for _ in range(40)]
        accepted = await asyncio.gather(*(s.connect() for s in sockets))
        assert all(ok for ok, _ in accepted)
        for s in sockets:
            assert await backlog_ids(s) == []
        assert await members() == 40
        await asyncio.gather(*(s.disconnect() for s in sockets))
        assert await members() == 0

    run(body)
