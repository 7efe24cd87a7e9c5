"""The newest of each table: every "latest per table" read, one way (a window in one query)."""

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from ..engine import TABLES
from ..models import (
    CrossCheck,
    ExportUpload,
    ImportVerification,
    JobState,
    Migration,
    SyncCheck,
    TransformJob,
    UploadKind,
)


def newest_per_table(
    queryset: QuerySet, *, per: tuple[str, ...] = ("table",), by: tuple[str, ...] = ("created_at", "id")
) -> QuerySet:
    """Each table's newest row (the greatest `by`: created_at, then id), in one query: a window, not
    a scan in Python. `per` names the slot when it is more than the table."""
    return queryset.annotate(
        newest=Window(RowNumber(), partition_by=[F(f) for f in per], order_by=[F(f).desc() for f in by])
    ).filter(newest=1)


def latest_cross_check(migration: Migration) -> CrossCheck | None:
    return migration.cross_checks.first()


def latest_uploads(migration: Migration, kind: str = UploadKind.EXPORT) -> dict[str, ExportUpload]:
    """The newest version of each slot of a kind."""
    uploads = ExportUpload.objects.filter(migration=migration, kind=kind).select_related("uploaded_by")
    return {u.table: u for u in sorted(newest_per_table(uploads, by=("version",)), key=lambda u: u.table)}


def transformable_tables() -> list[str]:
    return [key for key, info in TABLES.items() if info.transforms]


def latest_results(migration: Migration) -> list[TransformJob]:
    """Each table's newest successful job, in the order the jobs run."""
    done = TransformJob.objects.filter(migration=migration, state=JobState.SUCCEEDED)
    newest = {job.table: job for job in newest_per_table(done)}  # every table in one query
    return [newest[table] for table in transformable_tables() if table in newest]


def latest_verifications(migration: Migration) -> list[ImportVerification]:
    """Each table's newest verification, in one query."""
    found = newest_per_table(ImportVerification.objects.filter(migration=migration))
    return sorted(found, key=lambda check: check.table)


def latest_sync_checks(migration: Migration) -> list[SyncCheck]:
    """The newest finished check of each slot (reconciliation per entity, triage per table)."""
    done = SyncCheck.objects.filter(migration=migration, state=JobState.SUCCEEDED).prefetch_related("uploads")
    slots = newest_per_table(done.select_related("created_by", "job"), per=("kind", "table", "entity"))
    return list(slots)  # newest first, as the model orders


def latest_result(migration: Migration, table: str) -> TransformJob | None:
    """The table's newest successful step-8 job: what step 9 compares with."""
    return TransformJob.objects.filter(migration=migration, table=table, state=JobState.SUCCEEDED).first()
