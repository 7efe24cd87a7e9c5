"""Step 9, after initial sync: each table's F&O entities with their reconciliations and triages."""

from collections import defaultdict
from dataclasses import dataclass, field

from .. import runbook
from ..models import (
    Migration,
    SyncCheck,
    SyncCheckKind,
    TransformJob,
)
from .latest import latest_results

# --- step 9: after initial sync ---------------------------------------------------------------


@dataclass
class SyncSlot:
    """One F&O entity of a table at step 9: its reconciliations, newest first."""

    table: str
    label: str
    entity: str
    filter_text: str
    checks: list = field(default_factory=list)

    @property
    def latest(self) -> SyncCheck | None:
        return self.checks[0] if self.checks else None


@dataclass
class SyncRow:
    table: str
    label: str
    job: TransformJob | None
    slots: list[SyncSlot]
    triages: list = field(default_factory=list)

    @property
    def triage(self) -> SyncCheck | None:
        return self.triages[0] if self.triages else None


def sync_rows(migration: Migration) -> list[SyncRow]:
    """Step 9's tables in the order their maps sync, each with its entities' checks and triages."""
    from ..engine import RECONCILE_SPECS

    checks: dict[tuple, list] = defaultdict(list)
    rows = SyncCheck.objects.filter(migration=migration).select_related("created_by", "job")
    for check in rows.prefetch_related("uploads"):
        checks[(check.kind, check.table, check.entity)].append(check)
    jobs = {job.table: job for job in latest_results(migration)}
    out = []
    for table, label in runbook.TRANSFORM_TABLES:
        slots = [
            SyncSlot(
                table,
                label,
                spec.entity,
                spec.filter_text,
                checks[(SyncCheckKind.RECONCILE, table, spec.entity)][:10],
            )
            for spec in RECONCILE_SPECS[table]
        ]
        out.append(
            SyncRow(table, label, jobs.get(table), slots, checks[(SyncCheckKind.TRIAGE, table, "")][:10])
        )
    return out
