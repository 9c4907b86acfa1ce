from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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


def operation_html(case_id: int, transition: Any, back: str) -> str:
    """An operation offered on a row of a list, its form fetched into a frame when opened
    (desk.operation_frames); `back` is the query that brings the person back here."""
    case_id = int(case_id)
    before_frame, before_form, before_case, end = _operation_parts(
        transition.slug, str(transition.label), back, _("Open the case to do this"))
    # The row's own parts (ids, and paths made of them) need no escaping.
    return mark_safe(f"{before_frame}{frame_id(case_id, transition.slug)}{before_form}"
                     f"{operation_form_path(case_id, transition.slug)}{before_case}{case_path(case_id)}{end}")


@lru_cache(maxsize=256)
def _operation_parts(slug: str, label: str, back: str, open_case: str) -> tuple[str, str, str, str]:
    """What an operation's HTML has around its row's ids, escaped once for all the rows
    that offer it: a meeting offers 700 operations, and format_html escaping each part
    of each was a tenth of the page."""
    return (f'<details data-operation="{escape(slug)}"><summary>{escape(label)}</summary>\n  <turbo-frame id="',
            '" loading="lazy" src="', f'?{escape(back)}">\n    <a href="',
            f'">{escape(open_case)}</a></turbo-frame></details>')


def back_here(context: Any) -> str:
    return urlencode({"next": context["request"].get_full_path()})


@register.simple_tag(takes_context=True)
def lazy_operation(context: Any, case_id: int, transition: Any) -> str:
    """One operation of a row (the board's supervision order), as operation_html."""
    return operation_html(case_id, transition, back_here(context))


# The meeting's case rows: 300 over a township, each with its marks and up to three
# decisions, written here in one pass rather than by the template engine per cell (the
# rows were half the page's time over a million cases).
MARKS = {"overdue": ("card red", gettext_lazy("overdue")), "major": ("card red", gettext_lazy("major")),
         "escalated": ("stage-badge", gettext_lazy("escalated")), "new": ("stage-badge", gettext_lazy("new"))}


@register.simple_tag(takes_context=True)
def meeting_rows(context: Any, rows: list[tuple[Any, list[Any]]]) -> str:
    """The rows of a village's cases on the meeting page: (screening.meeting.MeetingCase,
    the decisions the machine offers on it)."""
    back = back_here(context)
    return format_html_join("\n", '<tr data-case="{}"><td class="number"><a href="{}">{}</a></td>'
                            '<td class="title">{}</td>\n  <td class="marks">{}</td>\n'
                            '  <td class="operations">{}</td></tr>', (
                                (item.id, case_path(item.id), item.number, item.title,
                                 format_html_join("", '<span class="{}">{}</span> ',
                                                  (MARKS[s] for s in item.sections if s in MARKS)),
                                 format_html_join("", "{}", ((operation_html(item.id, t, back),) for t in decisions)))
                                for item, decisions in rows))


@register.simple_tag
def heat_rows(rows: list[tuple[Any, list[tuple[int, str, str, str]]]]) -> str:
    """The dashboard's heat table, a row per village (desk.dashboard.heat_cells), written in
    one pass: a county's 1,800 cells through the template engine were a third of the page."""
    # Plain strings rather than format_html per cell, which escaped every part (twice a
    # cell) and was a tenth of the county's page: a count is a number, the colours are
    # written from numbers (desk.dashboard.heat_colours), and only the link is escaped.
    def cell(n: int, link: str, background: str, text: str) -> str:
        content = f'<a href="{escape(link)}">{int(n)}</a>' if n else "<span>0</span>"
        return f'<td class="cell" style="background: {background}; color: {text}">{content}</td>'

    return format_html_join("", '<tr data-village="{}"><td class="heat-village">{}</td>\n      {}</tr>', (
        (village.pk, village.name, mark_safe("".join(cell(*c) for c in cells))) for village, cells in rows))


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
