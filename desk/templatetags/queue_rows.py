"""The case lists' rows, the forms' fields and the menu, written in one pass in Python rather
than by the template engine a cell at a time: on the queue (25 rows, a filter of fourteen
fields, a menu of ten entries) their templates were two fifths of the page's time (issue 16, the
page floor). Each writes what its template wrote, to the character
(tests/desk/test_queue_rows.py)."""

from __future__ import annotations

from html import escape as html_escape
from typing import Any

from django import template
from django.template.defaultfilters import capfirst
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.safestring import mark_safe
from viewflow.urls import current_viewset_reverse

from cases.models import Case
from desk.links import case_path
from desk.templatetags.desk import case_card, person

register = template.Library()


def esc(value: Any) -> str:
    """A value as the template engine writes it (render_value_in_context): made a string,
    then escaped unless safe; without conditional_escape's lazy wrapper, a cost per cell."""
    if not isinstance(value, str):
        value = str(value)
    return value.__html__() if hasattr(value, "__html__") else html_escape(value)


def labels(field: str) -> dict[Any, str]:
    """A field's choice labels in the language of the request, read once per list."""
    return {value: str(label) for value, label in Case._meta.get_field(field).flatchoices}


def countdown_html(due: Any) -> str:
    """desk's {% countdown %} (a due time desk.js counts down, in Beijing time), its two
    dates written directly: through the date formatter they were most of the rows' time."""
    if not due:
        return ""
    local = timezone.localtime(due)
    return (f'<span class="countdown" data-due="{local.isoformat()}">'
            f'{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}</span>')


@register.simple_tag
def case_rows(cases: Any, select: Any = None) -> str:
    """The rows of desk/includes/case_rows.html: number and link, title with the major-risk
    mark, stage, village, assignee, card and countdown; with a tick box for bulk
    assignment when `select`. Empty when there are no cases (the template says so)."""
    stages, risks = labels("stage"), labels("risk")
    parts = []
    for case in cases:
        pk = esc(case.pk)
        number = esc(case.number)
        tick = (f'<td class="select"><input type="checkbox" name="case" value="{pk}" form="bulk-assign"'
                f' aria-label="{number}"></td>') if select else ""
        major = (f' <span class="card red">{esc(risks.get(case.risk, case.risk))}</span>'
                 if case.risk == Case.Risk.MAJOR else "")
        village = case.village.name if case.village_id is not None else ""
        parts.append(
            f'\n    <tr data-case="{pk}">\n      {tick}\n'
            f'      <td class="number"><a class="case-number" href="{esc(case_path(case.pk))}">{number}</a></td>\n'
            f'      <td class="title">{esc(case.title)}{major}</td>\n'
            f'      <td class="stage"><span class="stage-badge">{esc(stages.get(case.stage, case.stage))}</span></td>\n'
            f'      <td class="optional">{esc(village or "—")}</td>\n'
            f'      <td class="optional">{esc(person(case.assignee))}</td>\n'
            f'      <td class="due">{esc(case_card(case))} {countdown_html(case.next_due_at)}</td>\n'
            f'    </tr>\n  ')
    return mark_safe("".join(parts))


def attribute(obj: Any, name: str) -> Any:
    """An attribute as a template variable reads it: missing is empty, a method is called."""
    value = getattr(obj, name, "")
    return value() if callable(value) else value


def length(value: Any) -> int:
    try:
        return len(value)
    except (ValueError, TypeError):
        return 0


@register.simple_tag(takes_context=True)
def form_field(context: Any, field: Any) -> str:
    """One field as desk/includes/field.html wrote it: its label, widget, length counter,
    help and errors; `wide` in the context widens it, as a textarea's rows do."""
    widget = field.field.widget
    input_type = getattr(widget, "input_type", "")
    checkbox = input_type == "checkbox"
    errors = field.errors
    classes = "field" + (" has-error" if errors else "") + (" checkbox" if checkbox else "")
    if context.get("wide") or widget.attrs.get("rows"):
        classes += " wide"
    kind_only = attribute(field.field, "kind_only")
    data = f' data-kind-only="{esc(kind_only)}"' if kind_only else ""
    label_for = esc(field.id_for_label)
    label = esc(capfirst(field.label))
    if checkbox:
        body = f'\n    {esc(field)} <label for="{label_for}">{label}</label>\n  '
    else:
        required = " *" if field.field.required else ""
        body = f'\n    <label for="{label_for}">{label}{required}</label>\n    {esc(field)}\n  '
    max_length = getattr(field.field, "max_length", None)
    counter = ""
    if isinstance(max_length, int) and max_length >= 100 and input_type != "hidden":
        counter = (f'<div class="help counter" data-counter-for="{label_for}" data-max="{esc(max_length)}">'
                   f'{length(field.value() or "")} / {esc(max_length)}</div>')
    help_text = f'<div class="help">{esc(field.help_text)}</div>' if field.help_text else ""
    shown_errors = esc(errors) if errors else ""
    return mark_safe(f'<div class="{classes}"{data}>\n  {body}\n  {counter}\n  {help_text}\n  {shown_errors}\n</div>\n')


@register.simple_tag
def person_options(people: Any) -> str:
    """The options of the queue's bulk assignment: each person by name, with the username
    that tells two of the same name apart."""
    return mark_safe("".join(f'<option value="{esc(user.pk)}">{esc(person(user))}（{esc(user.username)}）</option>'
                             for user in people))


MENU_ITEM = (
    '\n        \n          <a class="mdc-list-item mdc-list-item--with-one-line mdc-list-item--with-leading-icon'
    ' vf-page__menu-list-item" href="{url}" {turbo}>\n'
    '            <span class="mdc-list-item__start">{icon}</span>\n'
    '            <span class="mdc-list-item__content">{title}</span>\n'
    '          </a>\n        \n      ')


def viewset_path(request: Any, viewset: Any) -> str:
    """A viewset's index as viewflow's {% current_viewset_reverse viewset 'index' %} gives
    it; empty when it has none."""
    try:
        return current_viewset_reverse(request, viewset, "index")
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def app_menu(context: Any) -> str:
    """The menu of an application under the site as viewflow/includes/app_menu.html writes
    it: an entry for each viewset the user may open (its has_view_permission, desk.site),
    with its icon."""
    app, request = context.get("app"), context.request
    title = f'<h3 class="vf-page__menu-subheader mdc-list-group__subheader">{esc(app.title)}</h3>' if app.title else ""
    entries = []
    for viewset in app.menu_items():
        if not viewset.has_view_permission(request.user):
            entries.append("")
            continue
        url = viewset_path(request, viewset)
        entries.append(MENU_ITEM.format(
            url=esc(url), turbo=' data-turbo="false"' if app.turbo_disabled or viewset.turbo_disabled else "",
            icon=esc(viewset.icon) if viewset.icon else '<i class="material-icons">view_carousel</i>',
            title=esc(viewset.title)) if url else "\n        \n      ")
    return mark_safe('\n<vf-page-menu-navigation class="mdc-list">\n  <div class="mdc-list-group">\n    '
                     f'{title}\n    \n      \n      {"".join(entries)}\n    \n  </div>\n'
                     '  <div class="mdc-list-divider"></div>\n</vf-page-menu-navigation>\n')
