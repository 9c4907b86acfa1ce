"""What keeps the house in order: the stage is written only by the transition service,
the audit trail only grows, and viewflow's Commercial-only modules are never loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cases.models import AppendOnlyError, Case, CaseEvent, StageWriteError
from tests.conftest import report

pytestmark = pytest.mark.django_db


def test_saving_a_changed_stage_outside_the_service_fails_and_changes_nothing(cast):
    case = report(cast)
    case.stage = Case.Stage.CLOSED
    with pytest.raises(StageWriteError):
        case.save()
    assert Case.objects.get(pk=case.pk).stage == "reported"


def test_queryset_writes_of_the_stage_fail(cast):
    case = report(cast)
    with pytest.raises(StageWriteError):
        Case.objects.filter(pk=case.pk).update(stage="closed")
    case.stage = "closed"
    with pytest.raises(StageWriteError):
        Case.objects.bulk_update([case], ["stage"])
    assert Case.objects.get(pk=case.pk).stage == "reported"


def test_other_fields_save_normally(cast):
    case = report(cast)
    case.title = "更正后的标题"
    case.save()
    assert Case.objects.get(pk=case.pk).title == "更正后的标题"


def test_case_events_cannot_be_edited_or_deleted(cast):
    event = CaseEvent.objects.get(case=report(cast))
    event.kind = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        CaseEvent.objects.filter(pk=event.pk).update(kind="forged")
    with pytest.raises(AppendOnlyError):
        CaseEvent.objects.all().delete()
    assert CaseEvent.objects.get(pk=event.pk).kind == "report"


def test_no_commercial_only_viewflow_module_is_loaded():
    # A fresh interpreter loading the whole project: settings, every app, the admin and
    # the URLs. viewflow's fsm viewset/admin/chart/views carry a Commercial-only licence.
    code = (
        "import django, sys; django.setup();"
        "import config.urls, workflow.services, workflow.flow;"
        "from django.contrib import admin; admin.autodiscover();"
        "from workflow.fsm import COMMERCIAL_MODULES;"
        "loaded = [m for m in COMMERCIAL_MODULES if m in sys.modules];"
        "assert 'viewflow.fsm.base' in sys.modules;"
        "print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_moving_a_unit_re_roots_its_subtree_and_refuses_a_cycle(cast):
    from django.core.exceptions import ValidationError

    from cases.models import OrgUnit

    cast.xiling.parent = cast.taoyuan  # 西岭村 moves to 桃源镇
    cast.xiling.save()
    assert OrgUnit.objects.get(pk=cast.xiling.pk).path == f"{cast.taoyuan.path}{cast.xiling.pk}/"
    cast.taoyuan.parent = cast.liulin  # and 桃源镇, with 南山村 and 西岭村, under 柳林镇
    cast.taoyuan.save()
    assert OrgUnit.objects.get(pk=cast.nanshan.pk).path == f"{cast.liulin.path}{cast.taoyuan.pk}/{cast.nanshan.pk}/"
    assert OrgUnit.objects.get(pk=cast.xiling.pk).path.startswith(f"{cast.liulin.path}{cast.taoyuan.pk}/")
    cast.liulin.parent = cast.nanshan
    with pytest.raises(ValidationError):
        cast.liulin.save()
    cast.liulin.refresh_from_db()
    assert cast.liulin.parent == cast.county
