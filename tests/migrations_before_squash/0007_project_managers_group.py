"""The "Project managers" group: the accounts an administrator lets create migrations."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Project managers"


def add_group(apps, schema_editor):
    # Permissions are normally made after all migrations; this one needs add_migration now.
    config = apps.get_app_config("migration")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(Permission.objects.get(content_type__app_label="migration", codename="add_migration"))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("migration", "0006_active_job_constraint_and_sweep_indexes"),
    ]

    operations = [migrations.RunPython(add_group, remove_group)]
