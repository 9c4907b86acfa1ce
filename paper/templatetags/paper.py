"""Filters of the printed forms: dates as Chinese documents write them, and a blank line
where the database holds nothing, to be filled by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# The width classes of a blank (paper.css).
WIDTHS = {"short", "long"}


def _local(value: Any) -> date | datetime | None:
    if isinstance(value, datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


@register.filter
def cn_date(value: Any) -> str:
    """2026年3月2日, in Beijing time for a moment; "" for nothing."""
    moment = _local(value)
    if moment is None:
        return ""
    return f"{moment.year}年{moment.month}月{moment.day}日"


@register.filter
def cn_datetime(value: Any) -> str:
    """2026年3月2日9时05分 (Beijing time); a date alone for a date."""
    moment = _local(value)
    if not isinstance(moment, datetime):
        return cn_date(moment)
    return f"{cn_date(moment)}{moment.hour}时{moment.minute:02d}分"


@register.filter(needs_autoescape=True)
def blank(value: Any, width: str = "", autoescape: bool = True) -> SafeString:
    """The value, escaped; a line to fill by hand when there is none."""
    if value is None or value == "" or value == []:
        css = f"blank {width}" if width in WIDTHS else "blank"
        return format_html('<span class="{}"></span>', css)
    return mark_safe(f'<span class="filled">{conditional_escape(value) if autoescape else value}</span>')


@register.simple_tag
def lines(count: int) -> SafeString:
    """`count` ruled lines to write on."""
    return mark_safe('<div class="lines">' + '<div class="line"></div>' * max(0, min(int(count), 40)) + "</div>")
