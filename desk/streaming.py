"""Pages that stream while a long job runs: the page's head, a bar that moves as the job
reports its progress, then what the job returns, then the page's tail. The ledger import
and the ledger export are such pages (docs/reporting.md).

The job runs in a worker thread with a database connection of its own, so it sees only
committed data and its own transaction; the page's template marks where the bar goes
with PROGRESS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import StreamingHttpResponse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

PROGRESS = "<!-- progress -->"
# How often the page looks at the job's progress, and how long it may stay silent: proxies
# close an answer that sends nothing for long.
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 10


def bar(done: int, total: int | None, working: str = "") -> str:
    """One state of the bar: rows done of the total, or a bar that only says "working"
    while the total is unknown; `working` says beside it what the job is doing while it
    runs. Each state is drawn over the one before it (desk.css, .stream-bars), so the page
    shows the newest: the finished bar, one line as every state, covers those words."""
    if total is None:
        words = working
        value = ""
    else:
        done = min(done, total)
        # Nothing to do is done: a full bar.
        value = f' value="{done}" max="{total}"' if total else ' value="1" max="1"'
        counted = _("%(done)s of %(total)s rows") % {"done": done, "total": total}
        words = f"{counted} · {working}" if working else counted
    return f'<div class="stream-bar"><progress{value}></progress><span class="muted">{escape(words)}</span></div>'


def stream_progress(head: str, tail: str, job: Callable[[dict[str, Any]], tuple[str, str]], *,
                    working: str) -> StreamingHttpResponse:
    """The page: `head`, the bar with `working` (what the job does) beside it, then the job's
    outcome, then `tail`. `job(progress)` runs in a worker thread, sets progress["done"]
    and progress["total"] (None while unknown) as it goes, and returns its last bar (where
    it stopped) and the HTML that ends the card."""
    language = translation.get_language()
    progress: dict[str, Any] = {"done": 0, "total": None}

    def run() -> tuple[str, str]:
        try:
            with translation.override(language):
                return job(progress)
        finally:
            # A worker thread of its own, which no request's end closes for it.
            connections.close_all()

    async def chunks() -> AsyncIterator[str]:
        yield head + '<div class="stream-bars">' + bar(0, None, working)
        task = asyncio.ensure_future(sync_to_async(run, thread_sensitive=False)())
        shown, last = None, time.monotonic()
        while not task.done():
            await asyncio.sleep(POLL_SECONDS)
            now = (progress["done"], progress["total"])
            if now != shown and now[1] is not None or time.monotonic() - last > KEEPALIVE_SECONDS:
                with translation.override(language):
                    yield bar(*now, working)
                shown, last = now, time.monotonic()
        last_bar, outcome = await task
        yield last_bar + "</div>" + outcome
        yield tail

    response = StreamingHttpResponse(chunks(), content_type="text/html; charset=utf-8")
    response["X-Accel-Buffering"] = "no"  # nginx: pass the progress on as it comes
    return response
