"""Middleware of our own, around every request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from workflow.permissions import one_reading


class OneReadingOfReach:
    """Each person's memberships read once per request (workflow.permissions.one_reading):
    a page's menu, filters, lists and counts all start from them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with one_reading():
            return self.get_response(request)
