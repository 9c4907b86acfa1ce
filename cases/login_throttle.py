"""Login throttling for every door that logs in (the login page, the admin's login, the
API's token login) and for the password change: failed attempts are counted per
username and per client address; past LOGIN_FAILURE_LIMIT within LOGIN_FAILURE_WINDOW
seconds further attempts are refused until the window passes, so passwords cannot be
guessed at speed.

The throttle sits in front of django.contrib.auth.authenticate(), which every login door
calls: its backend, ThrottledModelBackend (Django's ModelBackend), refuses a throttled
attempt before any password is checked, and the user_login_failed signal
counts each failure. A door added later, or one the project does not write (the
admin's), is throttled without knowing it. django-axes works the same way but keeps the
username and the address as typed, which this module never stores (failure_key).

The failures are rows in the database (cases.models.LoginFailure), not entries in a
cache. A county serves from several processes behind a proxy: Django's default cache
lives in each process, so every process would grant its own LOGIN_FAILURE_LIMIT guesses
and a restart would forget them all. The database is the one store every process shares
and the system cannot run without; Redis is not used, as pages keep working while it is
down. Each failure purges the rows that have left the window, so the table stays small
without any scheduled job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import LoginFailure


def client_address(request: Any) -> str:
    """The address failures are counted against. Behind a proxy every request comes from
    the proxy, and counting by it would let five wrong passwords lock the whole county
    out; the proxy appends the client's address to X-Forwarded-For, so its last entry is
    the one a client cannot forge (entries before it can be)."""
    meta = request.META if request is not None else {}
    if settings.BEHIND_PROXY and meta.get("HTTP_X_FORWARDED_FOR"):
        return meta["HTTP_X_FORWARDED_FOR"].split(",")[-1].strip()
    return meta.get("REMOTE_ADDR", "")


def failure_key(kind: str, value: str) -> str:
    """The key a failure is counted under: a keyed hash (HMAC with SECRET_KEY) of what
    the client sent. Not the text itself: a password typed into the username box, or
    a client's address, would otherwise sit in the table until the next failure purges
    it. The same value gives the same key every time, of one length whatever was typed
    (NUL and lone surrogates included, which a column would refuse)."""
    digest = salted_hmac("tiaochu.login_throttle", value.encode("utf-8", "surrogatepass"), algorithm="sha256")
    return f"{kind}#{digest.hexdigest()}"


def _keys(username: str, address: str) -> list[str]:
    # No address (the password change, for a signed-in user): the username's count only.
    return [failure_key("user", username), *([failure_key("addr", address)] if address else [])]


def _window_start() -> datetime:
    return timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)


def throttled(username: str, address: str) -> bool:
    keys = _keys(username, address)
    counts = LoginFailure.objects.filter(key__in=keys, at__gt=_window_start()).aggregate(
        **{f"n{i}": Count("pk", filter=Q(key=key)) for i, key in enumerate(keys)}
    )
    return any(n >= settings.LOGIN_FAILURE_LIMIT for n in counts.values())


def record_failure(username: str, address: str) -> None:
    LoginFailure.objects.bulk_create([LoginFailure(key=key) for key in _keys(username, address)])
    LoginFailure.objects.filter(at__lte=_window_start()).delete()


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, refusing a throttled attempt before the password is checked
    (authenticate() stops at PermissionDenied, trying no other backend), and marking the
    request so the door can say why and the refusal is not counted as a failure."""

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if username is not None and throttled(username, client_address(request)):
            if request is not None:
                request.login_throttled = True
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)


def was_throttled(request: Any) -> bool:
    return bool(getattr(request, "login_throttled", False))


@receiver(user_login_failed, dispatch_uid="cases.login_throttle.count_failure")
def count_failure(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = credentials.get("username")
    if isinstance(username, str) and not was_throttled(request):
        record_failure(username, client_address(request))
