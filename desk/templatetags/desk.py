from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from desk.operation_frames import frame_id

register = template.Library()


@register.filter
def person(user: Any) -> str:
    """A user as people know them: full name, else username; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


@register.simple_tag
def operation_frame_id(case_id: int, name: str) -> str:
    return frame_id(case_id, name)


# The card and the countdown beside a case on every list: tags rather than included
# templates, written once for all rows (an include per row was a tenth of a list's time).

@register.simple_tag
def case_card(case: Any) -> str:
    """The case's card now: red when a running clock is past due, yellow past its warning
    time (workflow.counts, annotated by workflow.queues.with_listing)."""
    if getattr(case, "overdue", False):
        return format_html('<span class="card red">{}</span>', _("red card"))
    if getattr(case, "warned", False):
        return format_html('<span class="card yellow">{}</span>', _("yellow card"))
    return ""


@register.simple_tag
def countdown(due: Any) -> str:
    """A due time that desk.js counts down, in Beijing time."""
    if not due:
        return ""
    local = timezone.localtime(due)
    return format_html('<span class="countdown" data-due="{}">{}</span>', date_format(local, "c"),
                       date_format(local, "Y-m-d H:i"))
