"""Seed the official holiday calendar for 2004-2026 from the `chinesecalendar` package
(docs/workflow.md: Deadlines: working days follow the State Council's notices, 调休 included)."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from workflow.holidays import seed_official_calendar


def seed(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    seed_official_calendar(
        2004,
        2026,
        day_model=apps.get_model("workflow", "CalendarDay"),
        year_model=apps.get_model("workflow", "CalendarYear"),
        using=schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
