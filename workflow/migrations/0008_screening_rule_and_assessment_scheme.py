from django.db import migrations


def forwards(apps, schema_editor):
    from workflow.national_rules import seed_assessment, seed_rules

    seed_rules(apps.get_model("workflow", "RuleProfile"), apps.get_model("workflow", "DeadlineRule"))
    seed_assessment(apps.get_model("workflow", "AssessmentScheme"), apps.get_model("workflow", "AssessmentItem"))


class Migration(migrations.Migration):
    dependencies = [("workflow", "0007_return_deadlines_and_assessment")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
