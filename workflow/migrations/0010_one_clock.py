"""Return clocks share the case deadlines' abstract clock; their alerts are held to once per step by the database too."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0009_one_clock_for_petition_registration'),
    ]

    operations = [
        migrations.AlterField(
            model_name='returndeadline',
            name='provisional',
            field=models.BooleanField(default=False, help_text="Computed on plain weekends: the year's holidays are not entered.", verbose_name='provisional'),
        ),
    ]
