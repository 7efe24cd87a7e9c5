"""Existing migrations get issue 20's runbook: linking the environments (the dual-write connection)
and the health check after it move from step 4 to step 5, where the article creates the connection;
the items the article does not ask for say "our addition". Ticks, history and blockers stay. The
titles are frozen here as they were when written."""

from django.db import migrations

OURS = "our addition"
TITLES = {
    "install-prerequisites": f"System requirements and permissions checked ({OURS})",
    "install-core": f"Dual-write core solution installed ({OURS})",
    "install-orchestration": f"Dual-write application orchestration solutions installed ({OURS})",
    "sales-backup": f"Backup of the Sales environment taken (Power Platform admin center): label or date ({OURS})",
    "uninstall-di-projects": f"Data Integrator P2C projects stopped and removed ({OURS})",
}
TO_STEP_5 = {
    "install-link": ("Dual-write connection created: Finance and Operations linked to Dataverse", 0),
    "install-health-check": (f"Dual-write health check passed ({OURS})", 10_000),
}


def forwards(apps, schema_editor):
    Item = apps.get_model("migration", "ChecklistItem")
    for key, title in TITLES.items():
        Item.objects.filter(key=key).update(title=title)
    for key, (title, position) in TO_STEP_5.items():
        Item.objects.filter(key=key).update(step=5, title=title, position=position)


class Migration(migrations.Migration):
    dependencies = [("migration", "0016_jobissue_job_no_own_index")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
