"""A petition's registration and its notice of acceptance are one duty (信访工作条例 第二十二、
二十三条: within 15 日 of receipt) and keep one clock, `registration`. The second clock,
opened at the same moment, is stopped on the cases that still run it, and its national
rule goes where no clock refers to it."""

from django.db import migrations
from django.db.models.functions import Now

OLD_BASIS = "信访工作条例 第二十二条"
NEW_BASIS = "信访工作条例 第二十二条、第二十三条"


def one_clock(apps, schema_editor):
    Deadline = apps.get_model("workflow", "Deadline")
    DeadlineRule = apps.get_model("workflow", "DeadlineRule")
    Deadline.objects.filter(kind="acceptance_notice", met_at__isnull=True).update(met_at=Now(), next_action_at=None)
    DeadlineRule.objects.filter(profile__code="national", kind="registration", legal_basis=OLD_BASIS).update(
        legal_basis=NEW_BASIS)
    DeadlineRule.objects.filter(kind="acceptance_notice").exclude(
        pk__in=Deadline.objects.filter(kind="acceptance_notice").values("rule_id")).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("workflow", "0008_screening_rule_and_assessment_scheme"),
    ]

    operations = [
        migrations.RunPython(one_clock, migrations.RunPython.noop),
    ]
