"""The login throttle counts in the database, so every server process sees the same
failures: through the login page, from another process, from threads failing at the same
instant, with the rows that left the window purged, and with usernames no column would
take as they were typed."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import F, Q
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from cases.login_throttle import failure_key, record_failure, throttled
from cases.models import DeviceToken, LoginFailure
from tests.servers import PROJECT_ROOT, child_env
from tests.workflow.test_concurrency import THREADS, race

# Real commits for the tests that another process or other threads must see; the
# serialized rollback restores the seeded calendar and rules for the tests that follow.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def held() -> Counter[str]:
    """The failures the database holds, counted per key."""
    return Counter(LoginFailure.objects.values_list("key", flat=True))


def user(name: str) -> str:
    return failure_key("user", name)


def addr(address: str) -> str:
    return failure_key("addr", address)


def age(failures: Any, seconds: float) -> None:
    """Move failures back in time, as if they had happened `seconds` earlier."""
    failures.update(at=F("at") - timedelta(seconds=seconds))


def test_failures_on_the_login_page_are_rows_that_refuse_even_the_right_password(
    cast: Any, client: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _attempt in range(3):
        client.post(reverse("login"), {"username": "olga", "password": "wrong"})
    assert held() == {user("olga"): 3, addr("127.0.0.1"): 3}
    # Neither the name nor the address is kept as typed.
    assert not LoginFailure.objects.filter(Q(key__contains="olga") | Q(key__contains="127.0.0.1")).exists()

    response = client.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # A refused attempt is not a failure of its own: the count stays at the limit.
    assert held() == {user("olga"): 3, addr("127.0.0.1"): 3}

    age(LoginFailure.objects.all(), settings.LOGIN_FAILURE_WINDOW + 1)
    client.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert client.session["_auth_user_id"] == str(cast.olga.pk)


@committed
def test_failures_in_one_process_count_in_another(tmp_path: Path, settings: Any) -> None:
    address = "203.0.113.7"
    for _attempt in range(settings.LOGIN_FAILURE_LIMIT - 1):
        record_failure("olga", address)
    code = (
        "from cases.login_throttle import failure_key, record_failure, throttled\n"
        f"print(throttled('olga', {address!r}))\n"
        f"record_failure('olga', {address!r})\n"
        f"print(throttled('olga', {address!r}))\n"
    )
    # The same secret key, as every server of a deployment has: the keys are hashed with it.
    env = child_env(tmp_path, LOGIN_FAILURE_LIMIT=str(settings.LOGIN_FAILURE_LIMIT),
                    LOGIN_FAILURE_WINDOW=str(settings.LOGIN_FAILURE_WINDOW), SECRET_KEY=settings.SECRET_KEY)
    done = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # The other process sees this one's failures, short of the limit, and its own
    # failure reaches it; this process then sees the limit reached.
    assert done.stdout.split() == ["False", "True"], done.stdout + done.stderr
    assert throttled("olga", "")
    assert held() == {user("olga"): settings.LOGIN_FAILURE_LIMIT, addr(address): settings.LOGIN_FAILURE_LIMIT}


@committed
def test_failures_at_the_same_instant_are_each_counted(settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = THREADS
    results = race(lambda i: record_failure("olga", f"10.0.0.{i}"))
    assert not [r for r in results if isinstance(r, Exception)], results

    assert held() == {user("olga"): THREADS, **{addr(f"10.0.0.{i}"): 1 for i in range(THREADS)}}
    assert throttled("olga", "10.0.1.1")
    assert not throttled("mia", "10.0.0.1")


@pytest.mark.django_db
def test_each_failure_purges_the_rows_that_left_the_window(settings: Any) -> None:
    window = settings.LOGIN_FAILURE_WINDOW
    record_failure("olga", "10.0.0.1")
    record_failure("olga", "10.0.0.1")
    early = list(LoginFailure.objects.values_list("pk", flat=True))
    record_failure("olga", "")
    record_failure("mia", "10.0.0.2")
    age(LoginFailure.objects.filter(pk__in=early), window + 1)
    age(LoginFailure.objects.filter(key=user("olga")).exclude(pk__in=early), window - 60)
    assert held() == {user("olga"): 3, addr("10.0.0.1"): 2, user("mia"): 1, addr("10.0.0.2"): 1}

    record_failure("sam", "10.0.0.3")
    # Gone: the failures from before the window, whatever their key. Kept: olga's
    # failure a minute inside it, and mia's.
    assert held() == {user("olga"): 1, user("mia"): 1, addr("10.0.0.2"): 1, user("sam"): 1, addr("10.0.0.3"): 1}


def token_login(username: str, address: str) -> Any:
    return APIClient(REMOTE_ADDR=address).post("/api/v1/auth/token/", {"username": username, "password": "guess"},
                                               format="json")


@pytest.mark.django_db
def test_an_overlong_username_is_a_wrong_login_counted_under_a_bounded_key(settings: Any) -> None:
    overlong = "柳" * 10_000
    for i in range(settings.LOGIN_FAILURE_LIMIT):
        response = token_login(overlong, f"10.0.0.{i}")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "invalid_credentials"

    user_keys = [key for key in held() if key.startswith("user")]
    assert len(user_keys) == 1 and len(user_keys[0]) <= 200 and "柳" not in user_keys[0]
    assert held()[user_keys[0]] == settings.LOGIN_FAILURE_LIMIT
    # The same username is counted under the same key from any address, and one that
    # differs in its last character is another username with a count of its own.
    assert token_login(overlong, "10.0.1.1").status_code == 429
    assert token_login(overlong[:-1] + "林", "10.0.1.2").status_code == 400
    assert not DeviceToken.objects.exists()


@pytest.mark.django_db
def test_a_username_with_a_nul_character_is_refused_not_a_server_error(cast: Any, client: Client) -> None:
    # PostgreSQL takes no NUL in a text column, and the login page looks the username up
    # in the throttle before the form has checked it.
    response = client.post(reverse("login"), {"username": "olga\x00", "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    # Counted all the same when it fails, under a key the column takes.
    record_failure("olga\x00", "")
    assert throttled("olga\x00", "") is False
    assert [key.startswith("user#") and "\x00" not in key for key in held()] == [True]


# One throttle for every door: it sits in front of authenticate() (cases.login_throttle.
# LoginThrottleBackend), so the admin's login, which the project does not write, counts
# and refuses like the login page and the token login.

def admin(superuser: bool = True) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("root", password="pw-root", is_staff=True, is_superuser=superuser)


def test_wrong_passwords_at_the_admin_login_are_counted_and_then_refused(cast: Any, client: Client,
                                                                         settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    root = admin()
    for _attempt in range(3):
        response = client.post(reverse("admin:login"), {"username": "root", "password": "wrong"})
        assert response.status_code == 200
    assert held() == {user("root"): 3, addr("127.0.0.1"): 3}
    response = client.post(reverse("admin:login"), {"username": "root", "password": "pw-root"})
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert held() == {user("root"): 3, addr("127.0.0.1"): 3}
    age(LoginFailure.objects.all(), settings.LOGIN_FAILURE_WINDOW + 1)
    client.post(reverse("admin:login"), {"username": "root", "password": "pw-root"})
    assert client.session["_auth_user_id"] == str(root.pk)


@pytest.mark.parametrize("door", ["login page", "token login"])
def test_locked_out_at_one_door_is_locked_out_at_the_admin(cast: Any, settings: Any, door: str) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    admin()
    for _attempt in range(3):
        if door == "login page":
            Client().post(reverse("login"), {"username": "root", "password": "wrong"})
        else:
            APIClient().post("/api/v1/auth/token/", {"username": "root", "password": "wrong"}, format="json",
                             REMOTE_ADDR="10.9.9.9")
    assert held()[user("root")] == 3
    fresh = Client(REMOTE_ADDR="10.8.8.8")
    response = fresh.post(reverse("admin:login"), {"username": "root", "password": "pw-root"})
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in fresh.session
