"""Accounts and their relationship type: which stay out of Finance and Operations."""

from dataclasses import dataclass

from ..models import (
    JobState,
    Migration,
    TransformJob,
    UploadState,
)
from .uploads import export_parts


@dataclass(frozen=True)
class NotSyncing:
    """Accounts whose relationship type is not Customer: they stay out of Finance and Operations."""

    count: int | None  # None: not known before the account job runs (a relationship type rule)
    total: int | None
    by_type: dict
    from_job: bool


@dataclass(frozen=True)
class TypeChange:
    rows: int
    now: str  # as exported ("" when empty)
    becomes: str


def relationship_type_changes(
    migration: Migration, account_parts: list | None = None
) -> list[TypeChange] | None:
    """What the account job will do to the accounts' Relationship Type, from the step-2 export's
    current values and the settings: [] when nothing changes; None when it is not known (no
    export read yet, or a rule that reads another column, decided per account by the job)."""
    if account_parts is None:
        account_parts = export_parts(migration).get("account", [])
    parts = [p for p in account_parts if p.state != UploadState.FAILED]
    if not parts or any("relationship_types_now" not in p.inspection for p in parts):
        return None
    now: dict[str, int] = {}
    for part in parts:
        for value, n in part.inspection["relationship_types_now"].items():
            now[value] = now.get(value, 0) + n
    s = migration.init_settings
    if s.relationship_type_rule_column and s.relationship_type_rule_map:
        if s.relationship_type_rule_column.strip().casefold() != "relationship type":
            return None
        mapping = {k.strip().casefold(): v for k, v in s.relationship_type_rule_map.items()}
        becomes = {v: mapping.get(v.strip().casefold(), s.relationship_type) for v in now}
    else:
        becomes = {v: s.relationship_type for v in now}
    changes = [TypeChange(n, value, becomes[value]) for value, n in now.items() if value != becomes[value]]
    return sorted(changes, key=lambda c: (-c.rows, c.now))


def accounts_not_syncing(migration: Migration, account_parts: list | None = None) -> NotSyncing:
    job = TransformJob.objects.filter(migration=migration, table="account", state=JobState.SUCCEEDED).first()
    if job is not None and job.summary.get("relationship_types") is not None:
        kinds = job.summary["relationship_types"]
        others = {k: n for k, n in kinds.items() if k != "Customer"}
        return NotSyncing(sum(others.values()), job.summary.get("rows_in"), others, True)
    s = migration.init_settings
    parts = export_parts(migration).get("account", []) if account_parts is None else account_parts
    rows = [p.inspection.get("rows") for p in parts]
    total = sum(rows) if rows and None not in rows else None
    if s.relationship_type_rule_column:
        return NotSyncing(None, total, {}, False)
    if s.relationship_type == "Customer":
        return NotSyncing(0, total, {}, False)
    return NotSyncing(total, total, {s.relationship_type: total} if total else {}, False)
