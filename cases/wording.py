"""How a sentence names several things: 甲、乙 in Chinese, "A, B" in English."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import pgettext


def series(items: Iterable[object]) -> str:
    return pgettext("between the items of a list", ", ").join(str(item) for item in items)
