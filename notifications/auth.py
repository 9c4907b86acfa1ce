"""Who is at the other end of a WebSocket: the session's user, or an API client's token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from cases import tokens

# The subprotocol a client names to carry its token in the Sec-WebSocket-Protocol header
# ("tiaochu", "tiaochu.token.<key>"); the server answers with SUBPROTOCOL alone, so the
# token is never echoed.
SUBPROTOCOL = "tiaochu"
TOKEN_PROTOCOL_PREFIX = "tiaochu.token."


def query_value(scope: dict[str, Any], name: str) -> str | None:
    """The first value of `name` in the query string; "" when given empty, None when absent."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    values = query.get(name)
    return values[0] if values else None


def token_given(scope: dict[str, Any]) -> str | None:
    """The API token a client sent: in the Sec-WebSocket-Protocol header (preferred: it
    stays out of URLs and so out of access logs) or as `?token=<key>`."""
    for protocol in scope.get("subprotocols") or []:
        if protocol.startswith(TOKEN_PROTOCOL_PREFIX):
            return protocol[len(TOKEN_PROTOCOL_PREFIX):]
    return query_value(scope, "token")


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] from the REST API's token (cases.tokens, checked exactly as the
    API checks it: expiry, revocation, an active user) when the client sent one, and
    otherwise leaves the session user AuthMiddlewareStack put there.

    Browsers cannot set an Authorization header on a WebSocket, hence the subprotocol
    header or the query string. A token that is given but unknown, expired or revoked
    makes the socket anonymous instead of falling back to the session: a client never
    runs as someone other than it claimed."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = token_given(scope)
        if key is not None:
            scope = {**scope, "user": await database_sync_to_async(tokens.user_for_token)(key)}
        return await super().__call__(scope, receive, send)


class OriginCheck:
    """The origin check of docs/architecture.md (the path of an alert), which protects browsers: a page of another site
    must not ride on the user's session cookie. Browsers always send Origin; API clients
    authenticating with a token often send none and carry no cookie to abuse, so a
    socket without Origin is let through when it brings a token."""

    def __init__(self, app: Any) -> None:
        from channels.security.websocket import AllowedHostsOriginValidator

        self.app = app
        self.checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        has_origin = any(name == b"origin" for name, _ in scope.get("headers", []))
        if not has_origin and token_given(scope):
            return await self.app(scope, receive, send)
        return await self.checked(scope, receive, send)
