"""Login throttling, shared by the login page and the API's token login: failed attempts
are counted per username and per client address; past LOGIN_FAILURE_LIMIT within
LOGIN_FAILURE_WINDOW seconds further attempts are refused until the window passes, so
passwords cannot be guessed at speed."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    return [f"login-fail:user:{username}", f"login-fail:addr:{address}"]


def throttled(username: str, address: str) -> bool:
    return any(cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT for key in _keys(username, address))


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        cache.add(key, 0, settings.LOGIN_FAILURE_WINDOW)
        cache.incr(key)
