"""Who is at the other end of a WebSocket: the session's user, or an API client's token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


def query_value(scope: dict[str, Any], name: str) -> str | None:
    """The first value of `name` in the query string; "" when given empty, None when absent."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    values = query.get(name)
    return values[0] if values else None


@database_sync_to_async
def user_for_token(key: str) -> Any:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from `?token=<key>` (the REST API's token) when the query string
    carries one, and otherwise leaves the session user AuthMiddlewareStack put there.

    Browsers cannot set headers on a WebSocket, hence the query string. A token that is
    given but unknown, or whose user is inactive, makes the socket anonymous instead of
    falling back to the session: a client never runs as someone other than it claimed."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = query_value(scope, "token")
        if key is not None:
            scope = {**scope, "user": await user_for_token(key)}
        return await super().__call__(scope, receive, send)


class OriginCheck:
    """The origin check of docs/architecture.md (the path of an alert), which protects browsers: a page of another site
    must not ride on the user's session cookie. Browsers always send Origin; API clients
    authenticating with ?token= often send none and carry no cookie to abuse, so a
    socket without Origin is let through when it brings a token."""

    def __init__(self, app: Any) -> None:
        from channels.security.websocket import AllowedHostsOriginValidator

        self.app = app
        self.checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        has_origin = any(name == b"origin" for name, _ in scope.get("headers", []))
        if not has_origin and query_value(scope, "token"):
            return await self.app(scope, receive, send)
        return await self.checked(scope, receive, send)
