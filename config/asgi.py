"""The ASGI entry point: Django for HTTP, the alerts socket for WebSocket."""

import logging
import os
import re

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Sets Django up; everything imported below needs the app registry ready.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from config import collector  # noqa: E402
from config.lifespan import lifespan  # noqa: E402
from notifications.auth import OriginCheck, TokenAuthMiddleware  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402

collector.tune()

# uvicorn and daphne serve no static files; in DEBUG this does, as runserver would, so
# the admin has its styles. In production the proxy serves STATIC_ROOT.
http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app

# The origin check refuses pages of other sites, which a browser would let ride on the
# user's session cookie; a token (header or ?token=) overrides the session for API clients.
websocket_app = OriginCheck(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))))

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": websocket_app,
        # The embedded server's in-process sweep (config/lifespan.py).
        "lifespan": lifespan,
    }
)


class HideTokens(logging.Filter):
    """An API token given as `?token=` on the alerts socket is a credential: uvicorn's logs
    (the access log of HTTP, the error log's line for each socket) show it as `token=…`.
    Clients should send it in the Sec-WebSocket-Protocol header instead, which no log
    records (notifications.auth)."""

    TOKEN = re.compile(r"([?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.TOKEN.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True


for name in ("uvicorn.access", "uvicorn.error"):
    logging.getLogger(name).addFilter(HideTokens())
