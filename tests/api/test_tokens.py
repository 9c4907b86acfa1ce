"""API tokens, one per device (issue 14): named at login, listed, revoked one at a time;
expiring after API_TOKEN_DAYS; revoked with a password change or a deactivation; and
checked the same way on the alerts socket, which also takes the token in the
Sec-WebSocket-Protocol header so that it stays out of URLs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.settings import knox_settings
from rest_framework.test import APIClient

from cases.models import DeviceToken
from config.asgi import application
from notifications.consumers import UNAUTHENTICATED
from tests.api.test_api import API, assert_error
from tests.conftest import Cast, token_for

pytestmark = pytest.mark.django_db

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def login(username: str, device: str = "") -> dict[str, Any]:
    response = APIClient().post(f"{API}/auth/token/", {"username": username, "password": f"pw-{username}",
                                                       "device": device}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def works(token: str) -> bool:
    status = client_with(token).get(f"{API}/cases/").status_code
    assert status in (200, 401), status
    return status == 200


def test_each_login_is_a_named_device_listed_to_its_owner_alone(cast: Cast) -> None:
    phone, tablet = login("olga", "网格通 手机"), login("olga", "平板")
    login("mia", "mia 的手机")
    listed = client_with(phone["token"]).get(f"{API}/auth/tokens/")
    assert listed.status_code == 200
    rows = {row["device"]: row for row in listed.json()}
    assert set(rows) == {"网格通 手机", "平板"}
    assert rows["网格通 手机"]["current"] is True and rows["平板"]["current"] is False
    assert rows["平板"]["id"] == tablet["id"]
    assert DeviceToken.objects.filter(user=cast.olga).count() == 2


def test_revoking_one_device_leaves_the_others_logged_in(cast: Cast) -> None:
    phone, tablet = login("olga", "手机"), login("olga", "平板")
    response = client_with(phone["token"]).delete(f"{API}/auth/tokens/{tablet['id']}/")
    assert response.status_code == 204
    assert not works(tablet["token"]) and works(phone["token"])
    assert list(DeviceToken.objects.values_list("name", flat=True)) == ["手机"]


def test_another_users_device_cannot_be_revoked_and_is_not_confirmed(cast: Cast) -> None:
    olga, mia = login("olga", "手机"), login("mia", "手机")
    response = client_with(olga["token"]).delete(f"{API}/auth/tokens/{mia['id']}/")
    assert_error(response, 404)
    assert works(mia["token"])


def test_logging_out_one_device_keeps_the_others(cast: Cast) -> None:
    phone, tablet = login("olga", "手机"), login("olga", "平板")
    assert client_with(phone["token"]).delete(f"{API}/auth/token/").status_code == 204
    assert not works(phone["token"]) and works(tablet["token"])


def test_a_token_expires_after_its_lifetime(cast: Cast) -> None:
    assert knox_settings.TOKEN_TTL == timedelta(days=30)  # API_TOKEN_DAYS unset
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = login("olga", "手机")
        assert works(token["token"])
        clock.shift(timedelta(days=29, hours=23))
        assert works(token["token"])
        clock.shift(timedelta(hours=2))
        assert not works(token["token"])
        # The expired row is gone, not merely refused.
        assert not DeviceToken.objects.exists()


def test_a_password_change_on_the_page_revokes_every_token(cast: Cast) -> None:
    tokens = [login("olga", "手机")["token"], login("olga", "平板")["token"]]
    kept = login("mia")["token"]
    page = Client()
    page.force_login(cast.olga)
    response = page.post(reverse("password_change"), {"old_password": "pw-olga", "new_password1": "Liulin-2026-new",
                                                      "new_password2": "Liulin-2026-new"})
    assert response.status_code == 302, response.content
    assert not any(works(token) for token in tokens)
    assert works(kept)
    # The session that changed the password stays logged in.
    assert page.get(reverse("password_change")).status_code == 200


def test_a_password_set_elsewhere_revokes_and_a_last_login_does_not(cast: Cast) -> None:
    token = token_for(cast.olga)
    cast.olga.last_login = timezone.now()
    cast.olga.save(update_fields=["last_login"])
    cast.olga.first_name = "奥尔加"
    cast.olga.save()
    assert works(token)
    cast.olga.set_password("Another-2026-pw")
    cast.olga.save()
    assert not works(token)


def test_deactivating_a_user_revokes_their_tokens(cast: Cast) -> None:
    token = token_for(cast.olga)
    cast.olga.is_active = False
    cast.olga.save()
    assert not DeviceToken.objects.filter(user=cast.olga).exists()
    cast.olga.is_active = True
    cast.olga.save()
    assert not works(token)


# The alerts socket: its consumer queries from another thread, which needs real commits.

on_socket = pytest.mark.django_db(transaction=True, serialized_rollback=True)

def socket_user(token: str | None, *, query: str = "", protocols: list[str] | None = None) -> tuple[Any, Any]:
    """(accepted subprotocol or None, close code or None) of a socket opened with `token`."""

    async def body() -> tuple[Any, Any]:
        communicator = WebsocketCommunicator(application, f"/ws/alerts/{query}", headers=[ORIGIN, HOST],
                                             subprotocols=protocols)
        try:
            accepted, subprotocol = await communicator.connect()
            assert accepted
            message = await communicator.receive_output()
            code = message.get("code") if message["type"] == "websocket.close" else None
            return subprotocol, code
        finally:
            await communicator.disconnect()

    return async_to_sync(body)()


@on_socket
def test_the_socket_takes_the_token_in_the_subprotocol_header_and_never_echoes_it(cast: Cast) -> None:
    token = token_for(cast.pete)
    subprotocol, code = socket_user(token, protocols=["tiaochu", f"tiaochu.token.{token}"])
    assert subprotocol == "tiaochu" and code is None
    # The query string still works, for clients that cannot set the header.
    assert socket_user(token, query=f"?token={token}") == (None, None)


@on_socket
@pytest.mark.parametrize("spoil", ["revoked", "expired", "password changed", "unknown"])
def test_the_socket_refuses_a_token_the_api_refuses(cast: Cast, spoil: str) -> None:
    token = token_for(cast.pete)
    if spoil == "revoked":
        DeviceToken.objects.all().delete()
    elif spoil == "expired":
        DeviceToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    elif spoil == "password changed":
        cast.pete.set_password("Pete-2026-new")
        cast.pete.save()
    else:
        token = "0" * len(token)
    assert not works(token)
    assert socket_user(token, protocols=["tiaochu", f"tiaochu.token.{token}"]) == ("tiaochu", UNAUTHENTICATED)
    assert socket_user(token, query=f"?token={token}") == (None, UNAUTHENTICATED)


def test_a_token_header_that_is_not_utf8_is_refused_not_a_server_error(cast: Cast) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token \xff\xfe")
    assert_error(client.get(f"{API}/cases/"), 401)


def test_an_administrator_revokes_a_lost_phone_in_the_admin_without_seeing_tokens(cast: Cast) -> None:
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_user("root", password="pw-root", is_staff=True, is_superuser=True)
    phone, tablet = login("olga", "丢失的手机"), login("olga", "平板")
    page = Client()
    page.force_login(root)
    listing = page.get(reverse("admin:cases_devicetoken_changelist")).content.decode()
    assert "丢失的手机" in listing and phone["token"] not in listing
    lost = DeviceToken.objects.get(name="丢失的手机")
    response = page.post(reverse("admin:cases_devicetoken_delete", args=[lost.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not works(phone["token"]) and works(tablet["token"])


def test_my_devices_page_lists_ones_own_and_logs_one_out(cast: Cast) -> None:
    phone, tablet = login("olga", "网格通 手机"), login("olga", "平板")
    others = login("mia", "mia 的手机")
    page = Client()
    page.force_login(cast.olga)
    listing = page.get(reverse("desk:workbench:devices"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "网格通 手机" in text and "平板" in text and "mia 的手机" not in text
    assert phone["token"] not in text
    response = page.post(reverse("desk:workbench:revoke_device", args=[phone["id"]]))
    assert response.status_code == 302
    assert not works(phone["token"]) and works(tablet["token"])
    # Another user's device is not found, and stays logged in.
    assert page.post(reverse("desk:workbench:revoke_device", args=[others["id"]])).status_code == 404
    assert works(others["token"])
