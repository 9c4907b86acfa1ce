"""Deployment hardening: `check --deploy` clean with production settings, the cookie
flags of a real login, CSRF refused on every page that takes a POST (walked from the
URLconf, so a page added later is covered), and the login throttle."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import CaseEvent
from notifications.models import Notification
from tests.conftest import local, report
from tests.doors import page_routes, rows
from workflow import services

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "tiaochu.example.gov.cn",
            "HTTPS": "1", "BEHIND_PROXY": "1", "TIAOCHU_VAR_DIR": str(tmp_path), **extra}


def test_the_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    check = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    done = subprocess.run(check, cwd=ROOT, env=production_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # The check can fail: without the HTTPS switch the cookies would travel in clear.
    plain = subprocess.run(check, cwd=ROOT, env=production_env(tmp_path, HTTPS="0"), capture_output=True, text=True,
                           timeout=120)
    assert plain.returncode != 0 and "SESSION_COOKIE_SECURE" in plain.stderr


def test_the_https_switch_turns_on_every_transport_setting(tmp_path: Path) -> None:
    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
             "SECURE_PROXY_SSL_HEADER"]
    code = f"import config.settings as s; print([getattr(s, n, None) for n in {names!r}])"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=production_env(tmp_path), capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "[True, True, True, 31536000, ('HTTP_X_FORWARDED_PROTO', 'https')]", done.stderr


def test_a_real_login_sets_cookies_only_for_this_site_and_this_browser_session(cast: Any, settings: Any) -> None:
    # What HTTPS=1 sets (proved above); the other flags are always on.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    response = client.post(reverse("login"), {"username": "olga", "password": "pw-olga"}, secure=True)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(cast.olga.pk)
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] is True and session["secure"] is True and session["samesite"] == "Lax"
    # A browser-session cookie (no Expires, no Max-Age): closing the browser on a shared
    # office computer ends the login.
    assert session["expires"] == "" and session["max-age"] == ""
    assert response.cookies[settings.CSRF_COOKIE_NAME]["secure"] is True
    assert response.cookies[settings.CSRF_COOKIE_NAME]["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_AGE <= 3600 and settings.SESSION_SAVE_EVERY_REQUEST


def test_pages_refuse_to_be_framed_or_sniffed(cast: Any, client: Any) -> None:
    client.force_login(cast.olga)
    response = client.get(reverse("desk:workbench:index"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


# CSRF: every page route, found in the URLconf.

def fill(route: str, pattern: str, objects: dict[str, int]) -> str:
    """The route's URL with its arguments filled in with real objects."""
    kwargs: dict[str, Any] = {}
    for arg in ("pk", "id", "name", "kind", "uidb64", "token", "document_id", "handle", "unit_id", "township_id",
                "month"):
        if any(f"<{kind}{arg}>" in pattern for kind in ("int:", "slug:", "str:", "")) or f"(?P<{arg}>" in pattern:
            kwargs[arg] = {"pk": objects["notification"] if "notification" in route or route.endswith(":read")
                           else objects["case"], "id": objects["case"], "name": "note", "kind": "disputes",
                           "uidb64": "MQ", "token": "set-password",
                           "document_id": 1, "handle": "0123456789abcdef", "unit_id": objects["unit"],
                           "township_id": objects["unit"], "month": "2026-02"}[arg]
    return reverse(route, kwargs=kwargs)


def test_the_walk_finds_the_forms(cast: Any) -> None:
    names = {name for name, _ in page_routes()}
    assert {"desk:case:operate", "desk:queue:assign", "desk:intake:index", "desk:workbench:read", "login", "logout",
            "password_change", "set_language", "api-transition-note"} <= names


def test_every_post_without_the_csrf_token_is_refused_and_changes_nothing(cast: Any) -> None:
    case = services.transition(report(cast), "accept", actor=cast.olga, at=local(2026, 3, 3, 9),
                               data={"assignee": cast.mia.pk, "lead_department": cast.justice.pk})
    notification = Notification.objects.create(user=cast.olga, kind="note", text="…", case=case,
                                               created_at=local(2026, 3, 3, 9))
    objects = {"case": case.pk, "notification": notification.pk, "unit": cast.liulin.pk}
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(cast.olga)
    anonymous = Client(enforce_csrf_checks=True)
    body = {"text": "伪造的备注", "assignee": cast.mia.pk, "cases": [case.pk], "username": "olga",
            "password": "pw-olga", "old_password": "pw-olga", "new_password1": "Forged-2026-x",
            "new_password2": "Forged-2026-x", "language": "en", "email": "olga@example.com", "confirm": "1",
            "reason": "伪造", "risk": "major", "held_at": "2026-03-02T09:00", "place": "会议室", "chair": "伪造",
            "attendees": "伪造", "signed_by": "伪造", "township": cast.liulin.pk, "month": "2026-02"}
    before = rows()
    for route, pattern in page_routes():
        if route == "api-token":
            continue  # reads no session: below
        url = fill(route, pattern, objects)
        # The API without a session cookie has nothing to ride on (tokens are not sent
        # by browsers on their own): only the session matters there.
        api = url.startswith("/api/")
        for client in (signed_in,) if api else (signed_in, anonymous):
            response = client.post(url, json.dumps(body), content_type="application/json") if api else client.post(
                url, body)
            assert response.status_code == 403, (route, url, response.status_code)
            assert rows() == before, route
    assert signed_in.session["_auth_user_id"] == str(cast.olga.pk)  # logout refused too
    assert "django_language" not in signed_in.cookies
    # The refusals are CSRF's: with the token, the same form goes through.
    signed_in.get(reverse("desk:case:detail", args=[case.pk]))
    token = signed_in.cookies["csrftoken"].value
    response = signed_in.post(reverse("desk:case:operate", args=[case.pk, "note"]),
                              {"text": "真的备注", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert CaseEvent.objects.filter(case=case, kind="note").count() == 1


def test_the_api_with_a_session_needs_the_csrf_token_and_with_a_token_does_not(cast: Any) -> None:
    case = report(cast)
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(cast.olga)
    url = reverse("api-transition-note", args=[case.pk])
    assert session.post(url, {"text": "伪造"}, format="json").status_code == 403
    assert not CaseEvent.objects.filter(case=case, kind="note").exists()


# Login throttle: the page, per address across usernames, and behind a proxy.

def test_the_login_page_throttles_one_address_trying_many_usernames(cast: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client()
    for name in ("sam", "mia", "vic"):
        client.post(reverse("login"), {"username": name, "password": "wrong"})
    client.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert "_auth_user_id" not in client.session
    # Another address is not held back by these failures.
    other = Client(REMOTE_ADDR="10.0.0.9")
    other.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert other.session["_auth_user_id"] == str(cast.olga.pk)


def test_behind_a_proxy_failures_count_per_client_not_per_proxy(cast: Any, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.BEHIND_PROXY = True
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    guesser = Client(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", **proxy)
    for name in ("sam", "mia", "vic", "pete"):
        guesser.post(reverse("login"), {"username": name, "password": "wrong"})
    # A spoofed first entry does not escape the count: the proxy appended the real one.
    guesser = Client(HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7", **proxy)
    guesser.post(reverse("login"), {"username": "lena", "password": "pw-lena"})
    assert "_auth_user_id" not in guesser.session
    colleague = Client(HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy)
    colleague.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert colleague.session["_auth_user_id"] == str(cast.olga.pk)
    api = APIClient(HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert api.post("/api/v1/auth/token/", {"username": "lena", "password": "pw-lena"},
                    format="json").status_code == 429


def test_password_change_is_throttled_like_the_login(cast: Any, settings: Any) -> None:
    """A session left open on a shared computer must not let someone guess the old
    password at speed and take the account over."""
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client()
    client.force_login(cast.olga)
    url = reverse("password_change")
    for _ in range(3):
        client.post(url, {"old_password": "guess", "new_password1": "Taken-2026-xyz",
                          "new_password2": "Taken-2026-xyz"})
    client.post(url, {"old_password": "pw-olga", "new_password1": "Taken-2026-xyz",
                      "new_password2": "Taken-2026-xyz"})
    assert get_user_model().objects.get(pk=cast.olga.pk).check_password("pw-olga")


def test_the_connection_pool_is_set_up_only_with_connections_given_back(tmp_path: Path) -> None:
    code = "import config.settings as s; print(s.DATABASES['default']['OPTIONS'].get('pool'))"
    env = production_env(tmp_path, DATABASE_URL="postgres://tiaochu@db.example:5432/tiaochu", DB_POOL_SIZE="8")
    pooled = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert pooled.stdout.strip() == "{'min_size': 1, 'max_size': 8, 'timeout': 3}", pooled.stderr
    # Kept connections stay with their threads; a pool beside them is refused, clearly.
    kept = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "DB_CONN_MAX_AGE": "60"},
                          capture_output=True, text=True, timeout=60)
    assert kept.returncode != 0 and "DB_POOL_SIZE needs DB_CONN_MAX_AGE=0" in kept.stderr


def test_the_token_login_reads_no_session_and_takes_no_form_from_another_site(cast: Any) -> None:
    """The one POST without CSRF: the token login authenticates by the body alone, so a
    session rides on nothing there, and another site's page can send it only a form
    (JSON needs a CORS preflight this server never grants), which it refuses."""
    from cases.models import DeviceToken

    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(cast.olga)
    forged = signed_in.post(reverse("api-token"), {"username": "olga", "password": "pw-olga"})
    assert forged.status_code == 415
    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.post(reverse("api-token"), json.dumps({"username": "mia", "password": "pw-mia"}),
                              content_type="application/json")
    assert response.status_code == 200
    assert list(DeviceToken.objects.values_list("user__username", flat=True)) == ["mia"]
