# The open cases' index for lists and queues over a million cases (issue 7: tests/bench/queue.py).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0007_case_documents"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("stage", "closed"), _negated=True),
                fields=["stage", "responsible_unit", "village", "accused_unit", "id"],
                name="case_open_reach",
            ),
        ),
    ]
