"""The queue page against the floor of a Django page (issue 16, "The page floor").

The demo township (`seed_demo`, about 300 cases) in a test database, its county supervisor
signed in, Django's test client in this process (no server, no network): what is measured
is the request through the middleware, the view, its queries and the template.
- `page.queue.p95_ms` / `median_ms`: `/desk/queue/` as the menu opens it (open cases,
  nearest deadline first, 25 rows): the shell with its menu, the filter form, the rows
  with their cards and countdowns, the bulk assignment form.
- the floor, interleaved with it in the same run: a minimal page through the same
  middleware and sign-in, rendering the same 25 cases, with the same columns (number and
  link, title, major risk, stage, village, assignee, nearest deadline), from one query
  and a template of one table.
- `page.queue.ratio`: median queue / median floor (the issue's goal: 3 or less).
- `page.queue.queries`: the queue's statements.
PAGE_ROUNDS requests of each (default 200) after a warm-up. PAGE_PROFILE=1 prints the top
of a cProfile of one queue page.
"""

from __future__ import annotations

import io
import os
import re
import statistics
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.contrib.auth.decorators import login_required  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import include, path  # noqa: E402

from tests.bench.support import percentile, test_database  # noqa: E402

ROUNDS = int(os.environ.get("PAGE_ROUNDS", "200"))
SUPERVISOR = "xian_ld"
QUEUE = "/desk/queue/"
FLOOR = "/bench-floor/"

FLOOR_TEMPLATE = """<!DOCTYPE html><html lang="zh-hans"><head><meta charset="utf-8"><title>floor</title></head><body>
<table>{% for case in cases %}<tr data-case="{{ case.pk }}"><td><a href="/desk/case/{{ case.pk }}/">{{ case.number }}</a></td>
<td>{{ case.title }}{% if case.risk == 'major' %} {{ case.get_risk_display }}{% endif %}</td><td>{{ case.get_stage_display }}</td>
<td>{{ case.village.name|default:"—" }}</td><td>{{ case.assignee.first_name|default:"—" }}</td>
<td>{{ case.next_due_at|date:"Y-m-d H:i" }}</td></tr>{% endfor %}</table></body></html>"""

# The ids the queue page shows, read once before measuring: the floor's one query asks for them.
SHOWN: list[int] = []


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    from cases.models import Case

    cases = Case.objects.filter(pk__in=SHOWN).select_related("village", "assignee").order_by("next_due_at", "pk")
    template = engines["django"].from_string(FLOOR_TEMPLATE)
    return HttpResponse(template.render({"cases": cases}, request))


urlpatterns = [path(FLOOR.strip("/") + "/", floor), path("", include("config.urls"))]


def main() -> None:
    with test_database("page_floor"):
        run()


def run() -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings, teardown_test_environment

    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    # The test environment instruments every template rendered (for response.context):
    # a cost of its own, larger the more templates a page includes. Measured without it.
    teardown_test_environment()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(ROOT_URLCONF=__name__):
        client = Client()
        client.force_login(get_user_model().objects.get(username=SUPERVISOR))
        first = client.get(QUEUE)
        assert first.status_code == 200
        SHOWN[:] = [int(pk) for pk in re.findall(r'<tr data-case="(\d+)"', first.content.decode())]
        assert len(SHOWN) == 25, len(SHOWN)
        floor_page = client.get(FLOOR)
        assert floor_page.status_code == 200 and floor_page.content.decode().count("<tr data-case=") == 25
        # The log the capture reads is bounded, and the demo's building filled it.
        reset_queries()
        with CaptureQueriesContext(connection) as statements:
            assert client.get(QUEUE).status_code == 200
        # Counted now: the log is emptied again at each request below.
        queries = len(statements)
        if os.environ.get("PAGE_PROFILE"):
            profile(client)
        queue_times: list[float] = []
        floor_times: list[float] = []
        for _ in range(ROUNDS):  # interleaved: the machine's drift hits both
            for path_, times in ((QUEUE, queue_times), (FLOOR, floor_times)):
                start = time.perf_counter()
                response = client.get(path_)
                times.append(time.perf_counter() - start)
                assert response.status_code == 200
    queue_ms, floor_ms = statistics.median(queue_times) * 1000, statistics.median(floor_times) * 1000
    print(f"BENCH page.queue.median_ms {queue_ms:.1f} ms")
    print(f"BENCH page.queue.p95_ms {percentile(queue_times, 0.95) * 1000:.1f} ms")
    print(f"BENCH page.floor.median_ms {floor_ms:.1f} ms")
    print(f"BENCH page.queue.ratio {queue_ms / floor_ms:.1f} x")
    print(f"BENCH page.queue.queries {queries} queries", flush=True)


def profile(client: Any) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        client.get(QUEUE)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
