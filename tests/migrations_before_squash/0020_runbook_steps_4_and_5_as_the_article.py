"""Existing migrations get issue 20's runbook: linking the environments (the dual-write connection)
and the health check after it move from step 4 to step 5, where the article creates the connection,
the link first and the health check after the legal entities. Ticks, history and blockers stay."""

from django.db import migrations

TO_STEP_5 = {"install-link": 0, "install-health-check": 10_000}  # key: position


def forwards(apps, schema_editor):
    Item = apps.get_model("migration", "ChecklistItem")
    for key, position in TO_STEP_5.items():
        Item.objects.filter(key=key).update(step=5, position=position)


class Migration(migrations.Migration):
    dependencies = [("migration", "0019_microsoft_account")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
