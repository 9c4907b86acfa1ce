"""Cases taken over (接办) or sent back (交办) before those operations recorded when a case
was taken up for handling: accepted_at from the first such event, so the counts of 调处
(workflow.counts) include them."""

from django.db import migrations
from django.db.models import Exists, OuterRef, Subquery

TAKING_UP = ["take_over", "send_back"]


def backfill(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    first = CaseEvent.objects.filter(case=OuterRef("pk"), kind__in=TAKING_UP).order_by("at", "pk")
    Case.objects.filter(accepted_at__isnull=True).filter(Exists(first)).update(
        accepted_at=Subquery(first.values("at")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0011_case_reported_at"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
