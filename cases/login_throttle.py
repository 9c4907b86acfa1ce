"""Login throttling, shared by the login page and the API's token login: failed attempts
are counted per username and per client address; past LOGIN_FAILURE_LIMIT within
LOGIN_FAILURE_WINDOW seconds further attempts are refused until the window passes, so
passwords cannot be guessed at speed.

The failures are rows in the database (cases.models.LoginFailure), not entries in a
cache. A county serves from several processes behind a proxy: Django's default cache
lives in each process, so every process would grant its own LOGIN_FAILURE_LIMIT guesses
and a restart would forget them all. The database is the one store every process shares
and the system cannot run without; Redis is not used, as pages keep working while it is
down. Each failure purges the rows that have left the window, so the table stays small
without any scheduled job."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from .models import LoginFailure

# The longest username django.contrib.auth accepts; what is longer is no username.
_READABLE_LENGTH = 150


def client_address(request: Any) -> str:
    """The address failures are counted against. Behind a proxy every request comes from
    the proxy, and counting by it would let five wrong passwords lock the whole county
    out; the proxy appends the client's address to X-Forwarded-For, so its last entry is
    the one a client cannot forge (entries before it can be)."""
    meta = request.META if request is not None else {}
    if settings.BEHIND_PROXY and meta.get("HTTP_X_FORWARDED_FOR"):
        return meta["HTTP_X_FORWARDED_FOR"].split(",")[-1].strip()
    return meta.get("REMOTE_ADDR", "")


def _key(kind: str, value: str) -> str:
    # What the client typed may be of any length and hold characters a database column
    # refuses (NUL on PostgreSQL, lone surrogates from JSON): such values are kept as
    # their hash, the same for the same value every time, so they are counted all the
    # same and always fit the column. "#" rather than ":" so a hash never meets a typed name.
    if len(value) <= _READABLE_LENGTH and value.isprintable():
        return f"{kind}:{value}"
    return f"{kind}#{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _keys(username: str, address: str) -> list[str]:
    # No address (the password change, for a signed-in user): the username's count only.
    return [_key("user", username), *([_key("addr", address)] if address else [])]


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
