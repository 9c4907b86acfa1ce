"""The ASGI lifespan of the embedded server: it starts the deadline sweep inside the
server's event loop, so alerts reach browsers through the in-memory channel layer with
no Redis and no second process. uvicorn speaks lifespan (daphne does not).

With SWEEP_INTERVAL=0 the server only serves, and `manage.py sweep_deadlines --loop`
runs as its own process or processes (the scaled set-up, with REDIS_URL)."""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    from workflow.sweep import sweep_forever

    task: asyncio.Task[None] | None = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.SWEEP_INTERVAL > 0:
                task = asyncio.create_task(sweep_forever(settings.SWEEP_INTERVAL))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if task is not None:
                task.cancel()
            await send({"type": "lifespan.shutdown.complete"})
            return
