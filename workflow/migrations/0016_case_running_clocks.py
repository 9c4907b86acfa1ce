from django.db import migrations


def install(apps, schema_editor):
    # The columns of the cases already there from their clocks, then the triggers that
    # keep them (in this order: setting them fires no trigger).
    from workflow import running

    running.recount(schema_editor.connection.alias)
    running.install(schema_editor.connection.alias)


def remove(apps, schema_editor):
    from workflow import running

    running.remove(schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0015_completion_clock_index'),
        ('cases', '0024_case_running_clocks'),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
