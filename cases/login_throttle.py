"""Login throttling, shared by the login page and the API's token login: failed attempts
are counted per username and per client address; past LOGIN_FAILURE_LIMIT within
LOGIN_FAILURE_WINDOW seconds further attempts are refused until the window passes, so
passwords cannot be guessed at speed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache


def client_address(request: Any) -> str:
    """The address failures are counted against. Behind a proxy every request comes from
    the proxy, and counting by it would let five wrong passwords lock the whole county
    out; the proxy appends the client's address to X-Forwarded-For, so its last entry is
    the one a client cannot forge (entries before it can be)."""
    meta = request.META if request is not None else {}
    if settings.BEHIND_PROXY and meta.get("HTTP_X_FORWARDED_FOR"):
        return meta["HTTP_X_FORWARDED_FOR"].split(",")[-1].strip()
    return meta.get("REMOTE_ADDR", "")


def _keys(username: str, address: str) -> list[str]:
    # No address (the password change, for a signed-in user): the username's count only.
    return [f"login-fail:user:{username}", *([f"login-fail:addr:{address}"] if address else [])]


def throttled(username: str, address: str) -> bool:
    return any(cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT for key in _keys(username, address))


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        cache.add(key, 0, settings.LOGIN_FAILURE_WINDOW)
        cache.incr(key)
