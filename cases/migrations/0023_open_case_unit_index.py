from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0022_case_updated_at'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('stage', 'closed'), _negated=True), fields=['responsible_unit'], name='case_open_unit'),
        ),
    ]
