"""The doors of the site for the tests that walk them all (CSRF, the page fuzzer): every
named route, found in the URLconf so that a page added later is walked too, and a
snapshot of everything a request could change, to show that a refused one changed
nothing."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

# Written on purpose by a refused request: the throttle counts failed logins. (Sessions
# are not a project app's, so they are not in the snapshot either.)
WRITTEN_WHEN_REFUSED = {"cases.loginfailure"}


def page_routes() -> list[tuple[str, URLPattern]]:
    """(name, pattern) of every named route outside the admin: the pages (desk:*),
    accounts (login, logout, password change and reset), set_language, and the API
    (session-authenticated calls need the token too)."""

    def walk(patterns: list[Any], namespaces: list[str], prefix: str) -> Any:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = [*namespaces, p.namespace] if p.namespace else namespaces
                if p.namespace != "admin":
                    yield from walk(p.url_patterns, ns, prefix + str(p.pattern))
            elif p.name and "(?P<format>" not in str(p.pattern):
                yield ":".join([*namespaces, p.name]), prefix + str(p.pattern)

    return sorted(set(walk(get_resolver().url_patterns, [], "")))


def watched() -> list[Any]:
    """The models of the project's apps (cases, workflow, notifications, screening …) and
    the users: what a request may change."""
    project = {"cases", "workflow", "notifications", "screening", "reports", "desk", "api"}
    models = [m for m in apps.get_models() if m._meta.app_label in project and not m._meta.proxy
              and m._meta.label_lower not in WRITTEN_WHEN_REFUSED]
    return [*models, get_user_model()]


def state() -> list[tuple[str, list[dict[str, Any]]]]:
    """Every row of the watched models, as Python values, in a fixed order: what a request
    may have changed. Cheap on the small worlds tests build."""
    return [(m._meta.label, list(m._default_manager.order_by("pk").values())) for m in watched()]


def rows() -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The same rows as state() as the database holds them, read without the ORM: equal
    before and after exactly when state() is, at a fraction of the cost, for the tests
    that compare the database before and after hundreds of requests."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        snapshot = []
        for model in watched():
            table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")
            snapshot.append((model._meta.label, cursor.fetchall()))
        return snapshot
