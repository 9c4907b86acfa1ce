"""The API's JSON: UTF-8 said in the Content-Type, and every moment in one form.

Moments are RFC 3339 with microseconds, always six digits, in the server's time zone with
its offset (2026-03-02T09:00:00.000000+08:00). Python's isoformat drops the fraction when
it is zero, and DRF's encoder cuts it to milliseconds: clients then met three forms, and
one sent back as `updated_after` could fall short of the moment it came from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import renderers
from rest_framework.utils import encoders


def rfc3339(moment: datetime) -> str:
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return timezone.localtime(moment).isoformat(timespec="microseconds")


class JSONEncoder(encoders.JSONEncoder):
    def default(self, obj: Any) -> Any:
        if isinstance(obj, datetime):
            return rfc3339(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    # RFC 8259 needs no charset for JSON, but clients and proxies that read one would
    # otherwise guess, and guess Latin-1 for the Chinese text.
    charset = "utf-8"
    encoder_class = JSONEncoder
