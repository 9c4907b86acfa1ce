from django.db import migrations


def forwards(apps, schema_editor):
    from workflow.national_rules import seed_rules

    seed_rules(apps.get_model("workflow", "RuleProfile"), apps.get_model("workflow", "DeadlineRule"))


class Migration(migrations.Migration):
    dependencies = [("workflow", "0002_official_calendar")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
