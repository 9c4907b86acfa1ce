"""The queue page's pieces written in Python (desk/templatetags/queue_rows.py, the input
widgets of desk/queue.py) write what the templates they replace wrote, to the character:
each is compared with the old template, kept here as it was, or with the one it stands in
for (viewflow's menu, Django's widgets, desk's countdown)."""

# The old templates are kept as they were, long lines and all.
# ruff: noqa: E501

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.template import engines
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import translation

from cases.models import Case, OrgUnit
from desk.queue import WRITTEN, QueueFilter
from desk.site import desk, site
from desk.templatetags.desk import countdown
from desk.templatetags.queue_rows import countdown_html
from tests.conftest import local

# desk/includes/case_rows.html's rows before they were written by {% case_rows %}.
OLD_ROWS = """{% load i18n desk %}{% for case in cases %}
    <tr data-case="{{ case.pk }}">
      {% if select %}<td class="select"><input type="checkbox" name="case" value="{{ case.pk }}" form="bulk-assign" aria-label="{{ case.number }}"></td>{% endif %}
      <td class="number"><a class="case-number" href="{% case_url case.pk %}">{{ case.number }}</a></td>
      <td class="title">{{ case.title }}{% if case.risk == 'major' %} <span class="card red">{{ case.get_risk_display }}</span>{% endif %}</td>
      <td class="stage"><span class="stage-badge">{{ case.get_stage_display }}</span></td>
      <td class="optional">{{ case.village.name|default:"—" }}</td>
      <td class="optional">{{ case.assignee|person }}</td>
      <td class="due">{% case_card case %} {% countdown case.next_due_at %}</td>
    </tr>
  {% empty %}
    <tr><td colspan="7" class="muted">{% trans "No cases." %}</td></tr>
  {% endfor %}"""
NEW_ROWS = """{% load i18n queue_rows %}{% case_rows cases select as rows %}{% if rows %}{{ rows }}{% else %}
    <tr><td colspan="7" class="muted">{% trans "No cases." %}</td></tr>
  {% endif %}"""

# desk/includes/field.html before it was written by {% form_field %}.
OLD_FIELD = """<div class="field{% if field.errors %} has-error{% endif %}{% if field.field.widget.input_type == 'checkbox' %} checkbox{% endif %}{% if wide or field.field.widget.attrs.rows %} wide{% endif %}"{% if field.field.kind_only %} data-kind-only="{{ field.field.kind_only }}"{% endif %}>
  {% if field.field.widget.input_type == 'checkbox' %}
    {{ field }} <label for="{{ field.id_for_label }}">{{ field.label|capfirst }}</label>
  {% else %}
    <label for="{{ field.id_for_label }}">{{ field.label|capfirst }}{% if field.field.required %} *{% endif %}</label>
    {{ field }}
  {% endif %}
  {% if field.field.max_length >= 100 and field.field.widget.input_type != 'hidden' %}<div class="help counter" data-counter-for="{{ field.id_for_label }}" data-max="{{ field.field.max_length }}">{{ field.value|default:""|length }} / {{ field.field.max_length }}</div>{% endif %}
  {% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}
  {% if field.errors %}{{ field.errors }}{% endif %}
</div>
"""

# The queue's bulk assignment options before {% person_options %}.
OLD_OPTIONS = """{% load desk %}{% for person in assignees %}<option value="{{ person.pk }}">{{ person|person }}（{{ person.username }}）</option>{% endfor %}"""

NOW = local(2026, 6, 15, 10, 0)


def render(text: str, request: Any = None, **context: Any) -> str:
    return engines["django"].from_string(text).render(context, request)


def listed(pk: int, **fields: Any) -> Case:
    """A case as the listing reads it, with its cards and nearest deadline."""
    overdue, warned, due = fields.pop("overdue", False), fields.pop("warned", False), fields.pop("due", None)
    case = Case(pk=pk, number=f"LL-2026-{pk:04d}", **fields)
    case.overdue, case.warned, case.next_due_at = overdue, warned, due
    return case


@pytest.fixture
def rows() -> list[Case]:
    village = OrgUnit(pk=7, name="东湾村", level=OrgUnit.Level.VILLAGE)
    named = get_user_model()(pk=3, username="mia", first_name="调解员", last_name="米")
    bare = get_user_model()(pk=4, username="nobody")
    return [
        # A red card, a major case, a title to escape, a named assignee.
        listed(1, title='土地<纠纷> & "边界"', risk=Case.Risk.MAJOR, stage=Case.Stage.MEDIATING, village=village,
               assignee=named, overdue=True, warned=True, due=NOW - timedelta(hours=5)),
        # A yellow card, an assignee known by username only.
        listed(2, title="邻里纠纷", risk=Case.Risk.GENERAL, stage=Case.Stage.INVESTIGATING, village=village,
               assignee=bare, warned=True, due=NOW + timedelta(days=1, minutes=7)),
        # No deadline, no assignee, no village.
        listed(3, title="信访事项", risk=Case.Risk.SIGNIFICANT, stage=Case.Stage.ESCALATED),
        # A stored code no label names.
        listed(4, title="旧案", risk="unknown", stage="unknown", due=local(2026, 1, 1, 0, 0)),
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("select", [True, False])
def test_the_rows_are_written_as_the_template_wrote_them(rows: list[Case], language: str, select: bool) -> None:
    with translation.override(language):
        old, new = (render(text, cases=rows, select=select) for text in (OLD_ROWS, NEW_ROWS))
    assert new == old
    assert ('form="bulk-assign"' in new) is select
    assert "土地&lt;纠纷&gt; &amp; &quot;边界&quot;" in new and "—" in new


def test_no_rows_say_so_as_before() -> None:
    old, new = (render(text, cases=[], select=True) for text in (OLD_ROWS, NEW_ROWS))
    assert new == old and "muted" in new


@pytest.mark.parametrize("due", [None, NOW, local(2026, 12, 31, 23, 59), NOW + timedelta(seconds=59, microseconds=5)])
def test_the_countdown_is_desk_s(due: Any) -> None:
    assert countdown_html(due) == countdown(due)


class Everything(forms.Form):
    """One field of each sort field.html distinguishes."""

    name = forms.CharField(label="name", max_length=20, help_text="as <b>written</b>")
    note = forms.CharField(label="note", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    summary = forms.CharField(label="summary", max_length=200, required=False)
    agreed = forms.BooleanField(label="agreed", required=False)
    when = forms.DateField(label="when", required=False)
    kind = forms.ChoiceField(label="kind", choices=Case.Kind.choices)
    secret = forms.CharField(required=False, widget=forms.HiddenInput, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].kind_only = Case.Kind.PETITION


@pytest.mark.parametrize("data", [None, {"name": "", "note": "长" * 10, "summary": "x" * 30, "agreed": "on",
                                         "when": "not a date", "kind": "nonsense"}])
@pytest.mark.parametrize("wide", [False, True])
def test_each_field_is_written_as_field_html_wrote_it(data: Any, wide: bool) -> None:
    form = Everything(data)
    form.is_valid()
    for field in [*form.visible_fields(), *form.hidden_fields()]:
        old = render(OLD_FIELD, field=field, wide=wide)
        assert render("{% include 'desk/includes/field.html' %}", field=field, wide=wide) == old, field.name
        assert render("{% load queue_rows %}{% form_field field %}", field=field, wide=wide) == old, field.name


@pytest.mark.django_db
def test_the_queue_filter_s_inputs_are_django_s(cast: Any) -> None:
    """Inputs written by WrittenInput against Django's own widget templates, with values,
    without, and in error."""
    for data in ({}, {"overdue": "on", "due_within": "3", "reported": "2026-05", "ids": "1,2"},
                 {"due_within": "-1", "reported": 'x"<'}):
        form = QueueFilter(data, user=cast.carl)
        form.is_valid()
        for name, field in form.fields.items():
            kind = next((base for base, written in WRITTEN.items() if type(field.widget) is written), None)
            if kind is None:
                continue
            written = str(form[name])
            field.widget.__class__ = kind
            assert written == str(form[name]), name
            field.widget.__class__ = WRITTEN[kind]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["carl", "olga", "mia", "nina"])
def test_the_menu_is_viewflow_s(cast: Any, who: str) -> None:
    """For people who see different entries: viewflow's template asks the same questions
    (desk.site) and writes the same markup."""
    request = RequestFactory().get(reverse("desk:queue:index"))
    request.user = getattr(cast, who)
    request.resolver_match = resolve(request.path)
    context = {"app": desk, "site": site}
    old = render("{% include 'viewflow/includes/app_menu.html' %}", request, **context)
    request.user = get_user_model().objects.get(pk=request.user.pk)  # its own answers, not the ones kept above
    assert render("{% load queue_rows %}{% app_menu %}", request, **context) == old
    assert reverse("desk:queue:index") in old


@pytest.mark.django_db
def test_the_bulk_assignment_options_are_as_before(cast: Any) -> None:
    cast.mia.first_name = "<米>"
    people = [cast.mia, cast.olga]
    assert render("{% load queue_rows %}{% person_options people %}", people=people) == render(
        OLD_OPTIONS, assignees=people)
