"""The database migrations, squashed: 0001 to 0020 are one migration with `replaces`, so that a
database made by them upgrades and a new one gets the same schema.

tests/migrations_before_squash holds those migrations as main had them, to make such a database."""

import json
import subprocess
import sys
from importlib import import_module

from django.conf import settings

SQUASHED = "0001_squashed_0020_runbook_steps_4_and_5_as_the_article"

# Migrates a new SQLite database (DATABASE_URL) with MIGRATION_MODULES as argv[1] says, then with
# the app's own migrations, and prints what it then holds.
UPGRADE = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.contrib.auth.models import Group

if sys.argv[1] == "before-squash":
    settings.MIGRATION_MODULES = {"migration": "tests.migrations_before_squash"}
    call_command("migrate", verbosity=0)
    settings.MIGRATION_MODULES = {}
call_command("migrate", verbosity=0)
call_command("makemigrations", "migration", check=True, dry_run=True, verbosity=0)
tables = sorted(t for t in connection.introspection.table_names() if t.startswith("migration_"))
with connection.cursor() as cursor:
    schema = {
        t: sorted(
            (c.name, c.data_type if hasattr(c, "data_type") else str(c.type_code), bool(c.null_ok))
            for c in connection.introspection.get_table_description(cursor, t)
        )
        for t in tables
    }
    indexes = {t: sorted(connection.introspection.get_constraints(cursor, t)) for t in tables}
applied = sorted(n for a, n in MigrationRecorder(connection).applied_migrations() if a == "migration")
group = Group.objects.get(name="Project managers")
print(json.dumps({
    "applied": applied,
    "schema": schema,
    "indexes": indexes,
    "group": sorted(group.permissions.values_list("codename", flat=True)),
}))
"""


def _migrated(tmp_path, how: str) -> dict:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "p2cwizard.settings",
        "P2C_VAR_DIR": str(tmp_path / how),
        "DATABASE_URL": f"sqlite:///{tmp_path / how}.sqlite3",
    }
    done = subprocess.run(
        [sys.executable, "-c", UPGRADE, how],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_database_made_before_the_squash_upgrades_to_the_schema_a_new_one_gets(tmp_path):
    upgraded = _migrated(tmp_path, "before-squash")
    new = _migrated(tmp_path, "new")
    # Recorded as applied over the 27 it replaces (nothing run again), as it is in a new database.
    replaced = {name for _app, name in import_module(f"migration.migrations.{SQUASHED}").Migration.replaces}
    assert len(replaced) == 27 and replaced | {SQUASHED} <= set(upgraded["applied"])
    assert upgraded["applied"] == new["applied"]
    assert upgraded["schema"] == new["schema"]
    assert upgraded["indexes"] == new["indexes"]
    assert upgraded["group"] == new["group"] == ["add_migration"]
