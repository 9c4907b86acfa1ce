from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from desk.links import case_path, operation_form_path
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


@register.simple_tag
def case_url(case_id: int) -> str:
    """The case page's path, as {% url 'desk:case:detail' id %} gives it, for lists of
    hundreds of rows (desk.links)."""
    return case_path(case_id)


@register.simple_tag(takes_context=True)
def lazy_operation(context: Any, case_id: int, transition: Any) -> str:
    """An operation offered on a row of a list, its form fetched into a frame when opened
    (desk.operation_frames); once per row and operation on the meeting and the board, so
    written here rather than as an included template."""
    back = urlencode({"next": context["request"].get_full_path()})
    return format_html(
        '<details data-operation="{}"><summary>{}</summary>\n'
        '  <turbo-frame id="{}" loading="lazy" src="{}?{}">\n'
        '    <a href="{}">{}</a></turbo-frame></details>',
        transition.slug, transition.label, frame_id(case_id, transition.slug),
        operation_form_path(case_id, transition.slug), back, case_path(case_id), _("Open the case to do this"))


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
