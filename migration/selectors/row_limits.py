"""Rows per company against initial sync's limits."""

from dataclasses import dataclass

from ..engine import TABLES
from ..engine.step2.check import SYNC_LIMITS
from ..models import (
    CrossCheck,
    TransformJob,
)


@dataclass(frozen=True)
class RowLimit:
    company: str
    table: str
    label: str
    rows: int
    limit: int
    guidance: bool  # the accounts' figure is Microsoft's guidance, not a hard limit

    @property
    def over(self) -> bool:
        return self.rows > self.limit


def job_row_limits(job: TransformJob) -> list[RowLimit]:
    """A job's rows per company (its Company values) against initial sync's limits."""
    rows = job.summary.get("rows_by_company") or {}
    return _limits({company: {job.table: n} for company, n in rows.items()}, SYNC_LIMITS)


def row_limits(check: CrossCheck | None) -> list[RowLimit]:
    """Rows per company and table (tables that are initialized) against initial sync's limits."""
    if check is None or not check.result.get("rows"):
        return []
    return _limits(check.result["rows"], check.result.get("limits") or SYNC_LIMITS)


def _limits(per_company: dict[str, dict[str, int]], limits: dict[str, int]) -> list[RowLimit]:
    out = []
    order = list(TABLES)  # the engine's order of tables, as everywhere in the UI
    for company, tables in sorted(per_company.items()):
        for table, rows in sorted(tables.items(), key=lambda t: order.index(t[0]) if t[0] in order else 99):
            if table not in TABLES or not TABLES[table].transforms:
                continue
            guidance = table == "account"
            limit = limits["accounts_guidance"] if guidance else limits["per_company"]
            out.append(RowLimit(company, table, TABLES[table].export_name, rows, limit, guidance))
    return out
