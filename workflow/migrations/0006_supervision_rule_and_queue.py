from django.db import migrations
from django.db.models import F


def forwards(apps, schema_editor):
    from workflow.national_rules import seed_rules

    seed_rules(apps.get_model("workflow", "RuleProfile"), apps.get_model("workflow", "DeadlineRule"))
    # Deadlines opened before the sweep queue existed: the first step not yet taken
    # (the updates run from the last step back, so the earliest untaken one wins).
    Deadline = apps.get_model("workflow", "Deadline")
    running = Deadline.objects.filter(met_at__isnull=True, paused_at__isnull=True)
    for time_field, mark_field in (("escalate_at", "escalated_at"), ("due_at", "breached_at"), ("warn_at", "warned_at")):
        running.filter(**{f"{mark_field}__isnull": True}).update(next_action_at=F(time_field))


class Migration(migrations.Migration):
    dependencies = [("workflow", "0005_sweep_queue_and_supervision")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
