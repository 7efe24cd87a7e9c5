"""The import route (step 8): what to add to each view, the re-exports, the files each job read."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from .. import runbook
from ..engine import IMPORT_ORDER, TABLES
from ..models import (
    ExportUpload,
    ImportVerification,
    JobState,
    Migration,
    TransformJob,
    UploadKind,
)
from .latest import newest_per_table
from .uploads import UploadSlot, upload_slots_by_kind


def _import_jobs(migration: Migration) -> QuerySet[TransformJob]:
    """Successful jobs that filled a re-export: what is meant to be imported."""
    done = TransformJob.objects.filter(migration=migration, state=JobState.SUCCEEDED)
    return done.exclude(import_file="")


def latest_import_job(migration: Migration, table: str) -> TransformJob | None:
    """The table's newest successful job that filled a re-export: what is meant to be imported."""
    return _import_jobs(migration).filter(table=table).order_by("-created_at", "-id").first()


def latest_import_jobs(migration: Migration) -> dict[str, TransformJob]:
    """Table -> its latest_import_job(), every table in one query."""
    return {job.table: job for job in newest_per_table(_import_jobs(migration))}


@dataclass
class ImportRow:
    """One table of the import route: what to add to the view, its re-export, its files, its proof."""

    table: str
    label: str
    columns: list[str]
    reexport: UploadSlot
    verification: UploadSlot
    job: TransformJob | None = None
    check: ImportVerification | None = None
    exported_at: datetime | None = None
    stale: bool = False
    verified: bool = False
    written_back: int | None = None  # the write-back whose read-back ticked the row (issue 24)

    @property
    def parts(self) -> list[dict]:
        return self.job.import_parts if self.job else []

    @property
    def superseded(self) -> bool:
        """The newest verification checked an earlier job's import file: a rerun made a new one."""
        return self.check is not None and self.job is not None and self.check.job_id != self.job.id


def view_columns(table: str) -> list[str]:
    """dual-write's columns the table's view in Sales must show, by display name, once each."""
    return list(dict.fromkeys(t.col.display for t in TABLES[table].targets))


def _exported_at(uploads: list[ExportUpload]) -> datetime | None:
    """When the re-export was taken: the newest Modified On of its parts."""
    found = [(u.inspection or {}).get("modified_on_newest") for u in uploads]
    newest = [datetime.fromisoformat(n) for n in found if n]
    return max(newest) if newest else None


def import_rows(migration: Migration, max_age, now: datetime | None = None) -> list[ImportRow]:
    """The six imported tables in import order, in four queries whatever their uploads and jobs."""
    now = now or timezone.now()
    slots = upload_slots_by_kind(migration, (UploadKind.REEXPORT, UploadKind.VERIFICATION))
    reexports = {s.table: s for s in slots[UploadKind.REEXPORT]}
    checks = {s.table: s for s in slots[UploadKind.VERIFICATION]}
    done = dict(migration.items.filter(key__startswith="init-", done=True).values_list("key", "details"))
    jobs = latest_import_jobs(migration)
    verifications = {
        v.table: v for v in newest_per_table(ImportVerification.objects.filter(migration=migration))
    }
    rows = []
    for table, label in runbook.TRANSFORM_TABLES:
        row = ImportRow(table, label, view_columns(table), reexports[table], checks[table])
        row.job = jobs.get(table)
        row.check = verifications.get(table)
        row.exported_at = _exported_at(row.reexport.parts)
        row.stale = row.exported_at is not None and now - row.exported_at > max_age
        row.verified = f"init-{table}" in done
        row.written_back = (done.get(f"init-{table}") or {}).get("writeback_id")
        rows.append(row)
    return rows


def import_rows_fresh_until(rows: list[ImportRow], max_age) -> datetime | None:
    """When the next of these re-exports turns stale (None: none will), as `import_rows` says."""
    return min((row.exported_at + max_age for row in rows if row.exported_at and not row.stale), default=None)


def unverified_tables(migration: Migration) -> list[str]:
    """Step 8's tables whose import is neither verified by an export nor ticked by a manager."""
    open_items = migration.items.filter(step=runbook.INITIALIZE_STEP, key__startswith="init-", done=False)
    return list(open_items.order_by("position").values_list("title", flat=True))


def import_pack_jobs(migration: Migration) -> list[TransformJob]:
    """Each imported table's latest import job, in import order."""
    jobs = latest_import_jobs(migration)
    return [jobs[table] for table in IMPORT_ORDER if table in jobs]


@dataclass(frozen=True)
class JobInput:
    role: str  # "step-2 export", "re-export", "header export"
    part: int
    count: int  # parts of that role
    upload: ExportUpload

    @property
    def label(self) -> str:
        of = f" part {self.part}" if self.count > 1 else ""
        return f"{self.role}{of}: {self.upload.original_name} version {self.upload.version}"


def _job_input_ids(job: TransformJob) -> list[tuple[str, list[int]]]:
    run = job.run_settings or {}
    return [
        ("step-2 export", list(job.parts or [job.source_id])),
        ("re-export", list(run.get("reexport_parts") or ([job.reexport_id] if job.reexport_id else []))),
        ("header export", list(run.get("header_parts") or [])),
    ]


def job_inputs(jobs: list[TransformJob]) -> dict[int, list[JobInput]]:
    """Every file each job read, part by part (not only its first part), in one query."""
    wanted = {job.id: _job_input_ids(job) for job in jobs}
    ids = {i for roles in wanted.values() for _, listed in roles for i in listed}
    found = ExportUpload.objects.in_bulk(ids)
    return {
        job_id: [
            JobInput(role, n, len(listed), found[i])
            for role, listed in roles
            for n, i in enumerate(listed, start=1)
            if i in found
        ]
        for job_id, roles in wanted.items()
    }
