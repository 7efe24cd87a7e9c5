"""Step 8's write-back panel, computed here so that step 8's view and templates need only one
include (templates/migration/connections/_writeback.html)."""

from django import template

from ..engine import TABLES
from ..models import ConnectionKind, JobState

register = template.Library()


@register.inclusion_tag("migration/connections/_writeback_panel.html")
def writeback_panel(migration, membership):
    """One query without a Sales connection (the panel then only says to set one), three with."""
    connection = migration.connections.filter(kind=ConnectionKind.SALES).first()
    if connection is None:
        return {"migration": migration, "membership": membership, "connection": None, "rows": []}
    jobs = migration.jobs.filter(state=JobState.SUCCEEDED).only("id", "table").order_by("-finished_at", "-pk")
    plans = migration.write_plans.only("id", "table", "state").order_by("-pk")
    rows = []
    for key, table in TABLES.items():
        if not table.transforms or table.import_position is None:
            continue
        job = next((j for j in jobs if j.table == key), None)
        rows.append({"table": key, "job": job, "plans": [p for p in plans if p.table == key][:3]})
    return {"migration": migration, "membership": membership, "connection": connection, "rows": rows}


@register.filter
def before_of(before: dict, column: str) -> str:
    return before.get(column, "")
