import django.db.models.deletion
from django.db import migrations, models


def versions_for_existing(apps, schema_editor):
    """Every migration there is gets its version row (new ones get it when created)."""
    Migration = apps.get_model("migration", "Migration")
    MigrationVersion = apps.get_model("migration", "MigrationVersion")
    MigrationVersion.objects.bulk_create(
        MigrationVersion(migration_id=pk) for pk in Migration.objects.values_list("pk", flat=True)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("migration", "0023_certificate_credentials"),
    ]

    operations = [
        migrations.CreateModel(
            name="MigrationVersion",
            fields=[
                (
                    "migration",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="migration.migration",
                    ),
                ),
                ("version", models.BigIntegerField(default=1)),
            ],
        ),
        migrations.RunPython(versions_for_existing, migrations.RunPython.noop),
    ]
