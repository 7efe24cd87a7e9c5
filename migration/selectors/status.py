"""The status feed and the jobs page: a fixed number of queries whatever the number of uploads and jobs."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models.fields.json import KeyTransform

from ..engine import TABLES
from ..models import (
    ExportUpload,
    ImportVerification,
    Migration,
    TransformJob,
    UploadKind,
)
from .latest import newest_per_table
from .uploads import PARTED_KINDS, parts_of


@dataclass
class JobRow:
    table: str
    label: str
    latest: object | None
    history: list


def job_rows(migration: Migration) -> list[JobRow]:

    jobs = TransformJob.objects.filter(migration=migration).select_related("created_by", "source", "reexport")
    by_table: dict[str, list] = defaultdict(list)
    for job in jobs.order_by("-created_at", "-id"):
        by_table[job.table].append(job)
    return [
        JobRow(key, info.export_name, (by_table[key] or [None])[0], by_table[key][:20])
        for key, info in TABLES.items()
        if info.transforms
    ]


@dataclass
class StatusUploads:
    parts: dict[tuple[str, str], list[ExportUpload]]  # (kind, table) -> parts in use, as export_parts()
    latest: list[ExportUpload]  # every other kind's newest version per table, as latest_uploads()


def status_uploads(migration: Migration) -> StatusUploads:
    """Every upload of the migration in one query, without the inspection JSON (its row count as
    `row_count`): the export's parts in use and each other slot's newest version."""
    uploads = (
        ExportUpload.objects.filter(migration=migration)
        .select_related("uploaded_by")
        .defer("inspection")
        .annotate(row_count=KeyTransform("rows", "inspection"))
        .order_by("kind", "table", "-version")
    )
    parted: dict[tuple[str, str], list[ExportUpload]] = defaultdict(list)
    latest: dict[tuple[str, str], ExportUpload] = {}
    for upload in uploads:
        if upload.kind in PARTED_KINDS:
            parted[(upload.kind, upload.table)].append(upload)
        else:
            latest.setdefault((upload.kind, upload.table), upload)
    kinds = {kind: n for n, kind in enumerate(UploadKind.values)}

    def order(key: tuple[str, str]) -> tuple[int, str]:
        return kinds[key[0]], key[1]

    parts = {key: parts_of(parted[key]) for key in sorted(parted, key=order)}
    return StatusUploads(
        parts={key: found for key, found in parts.items() if found},
        latest=[latest[key] for key in sorted(latest, key=order)],
    )


STATUS_JOB_FIELDS = (
    "id", "table", "state", "rows_done", "rows_total", "progress", "phase", "message",
    "cancel_requested", "created_at", "started_at", "finished_at",
)  # fmt: skip


def status_jobs(migration: Migration) -> list[TransformJob]:
    """Each table's newest job, in the order the tables run; only the fields the feed shows."""
    jobs = newest_per_table(TransformJob.objects.filter(migration=migration).only(*STATUS_JOB_FIELDS))
    order = {key: n for n, key in enumerate(TABLES)}
    return sorted(jobs, key=lambda job: order.get(job.table, len(order)))


def status_verifications(migration: Migration) -> list[ImportVerification]:
    """Each table's newest verification, in one query."""
    found = newest_per_table(
        ImportVerification.objects.filter(migration=migration).only(
            "id", "table", "state", "message", "created_at"
        )
    )
    return sorted(found, key=lambda check: check.table)
