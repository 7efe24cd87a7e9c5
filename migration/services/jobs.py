"""Step 8's jobs, their lifecycle: started over the uploaded exports, retried, cancelled, swept
when their worker died. The worker's run is job_worker.py; storing what it made, job_results.py."""

import logging
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import engine, runbook, selectors
from ..models import ExportUpload, JobState, Migration, TransformJob, UploadKind
from ..run_settings import settings_snapshot
from .activity import activity_record
from .job_worker import job_tmp_remove, jobs_tmp_root
from .queue import enqueue_on_commit
from .uploads import USABLE

logger = logging.getLogger(__name__)

# A running job whose worker has not reported for this long is presumed dead; with the
# sweep every minute, a dead worker's job is failed within two minutes. A native call
# that holds the interpreter over a minute (calamine opening a huge workbook) would
# also pause the heartbeat thread: that job is failed too, its late result discarded
# by the guarded updates, and a retry runs it again.
STALE_AFTER = timedelta(minutes=1)
# A job still queued after this long is sent again.
REQUEUE_AFTER = timedelta(minutes=5)


class JobError(Exception):
    """A job that cannot start now; the message says what to do."""


def _usable(upload: ExportUpload | None) -> ExportUpload | None:
    return upload if upload is not None and upload.state in USABLE else None


def _usable_parts(migration: Migration, table: str, kind: str = UploadKind.EXPORT) -> list[ExportUpload]:
    """The step-2 export's parts (or the re-export's: kind), all inspected and readable; else []."""
    parts = selectors.export_parts(migration, kind).get(table, [])
    return parts if parts and all(p.state in USABLE for p in parts) else []


def _inputs(migration: Migration, table: str, run_settings: dict) -> dict:
    info = engine.TABLES[table]
    parts = _usable_parts(migration, table)
    if not parts:
        raise JobError(
            f"Upload the {info.export_name} export at step 2 first (every part, and wait until each "
            "shows Ready)."
        )
    source = parts[0]
    party_numbers = None
    if table == "account" and run_settings["account_numbers_customized"]:
        party_numbers = _usable(selectors.latest_uploads(migration, UploadKind.PARTY_NUMBERS).get("account"))
        if party_numbers is None:
            raise JobError(
                "Account numbers are customized: upload the Finance and Operations customer list "
                "(Customers V3 export) on this page first."
            )
    # The import route: the re-export (every part of it) filled in place from the step-2 export.
    reexports = _usable_parts(migration, table, UploadKind.REEXPORT)
    return {
        "source": source,
        "reexport": reexports[0] if reexports else None,
        "party_numbers": party_numbers,
        "parts": parts,
        "reexports": reexports,
    }


def _header_parts(migration: Migration, table: str) -> list[ExportUpload]:
    """Lines take their header's company: the order (quote) export's parts, when uploaded."""
    header = engine.TABLES[table].checked.header
    return _usable_parts(migration, header[0]) if header else []


def job_start(*, migration: Migration, table: str, actor) -> TransformJob:
    if table not in engine.TABLES:
        raise JobError(f"Unknown table {table}.")
    if not engine.TABLES[table].transforms:
        raise JobError(f"{engine.TABLES[table].export_name}: {engine.TABLES[table].why_not}.")
    run_settings = settings_snapshot(migration)
    inputs = _inputs(migration, table, run_settings)
    parts = inputs.pop("parts")
    reexports = inputs.pop("reexports")
    headers = _header_parts(migration, table)
    if headers:
        run_settings["header_parts"] = [u.id for u in headers]
    if len(reexports) > 1:
        run_settings["reexport_parts"] = [u.id for u in reexports]
    hashes = {k: u.sha256 for k, u in inputs.items() if u is not None}
    hashes["parts"] = [u.sha256 for u in parts]
    if len(reexports) > 1:
        hashes["reexport_parts"] = [u.sha256 for u in reexports]
    with transaction.atomic():
        job = _create_job(
            migration=migration,
            table=table,
            run_settings=run_settings,
            input_sha256=hashes,
            parts=[u.id for u in parts],
            created_by=actor,
            **inputs,
        )
        activity_record(
            migration=migration,
            actor=actor,
            verb="job",
            description=f"Started the {table} job #{job.id}",
            step=runbook.INITIALIZE_STEP,
        )
        _enqueue(job)
    return job


def _create_job(**fields) -> TransformJob:
    """A new queued job; the database refuses a second active job for a table (one_active_job_per_table)."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            return TransformJob.objects.create(**fields)
    except IntegrityError:
        name = engine.TABLES[fields["table"]].export_name
        raise JobError(f"A {name} job is already queued or running.") from None


def _enqueue(job: TransformJob) -> None:
    task_id = str(uuid.uuid4())
    TransformJob.objects.filter(id=job.id).update(task_id=task_id, enqueued_at=timezone.now())
    enqueue_on_commit("run_transform_job", job.id, task_id=task_id)


def job_start_all(*, migration: Migration, actor) -> tuple[list[TransformJob], list[str]]:
    started, problems = [], []
    for table in selectors.transformable_tables():
        try:
            started.append(job_start(migration=migration, table=table, actor=actor))
        except JobError as error:
            problems.append(str(error))
    return started, problems


def job_retry(*, job: TransformJob, actor) -> TransformJob:
    """A new run with the failed job's inputs and settings; the failed one stays in the history."""
    if job.is_active:
        raise JobError("This job is still queued or running.")
    with transaction.atomic():
        retry = _create_job(
            migration=job.migration,
            table=job.table,
            run_settings=job.run_settings,
            source=job.source,
            reexport=job.reexport,
            party_numbers=job.party_numbers,
            input_sha256=job.input_sha256,
            parts=job.parts,
            created_by=actor,
        )
        activity_record(
            migration=job.migration,
            actor=actor,
            verb="job",
            description=f"Retried the {job.table} job #{job.id} as #{retry.id}",
            step=runbook.INITIALIZE_STEP,
        )
        _enqueue(retry)
    job_tmp_remove(job.id)  # what its dead attempts left on this machine
    return retry


def job_cancel(*, job: TransformJob, actor) -> None:
    now = timezone.now()
    queued = TransformJob.objects.filter(id=job.id, state=JobState.QUEUED)
    if not queued.update(state=JobState.CANCELLED, finished_at=now, message="Cancelled before it started."):
        # Running: the worker notices the request at its next progress report.
        TransformJob.objects.filter(id=job.id, state=JobState.RUNNING).update(cancel_requested=True)
    activity_record(
        migration=job.migration,
        actor=actor,
        verb="job",
        description=f"Cancelled the {job.table} job #{job.id}",
        step=runbook.INITIALIZE_STEP,
    )


def jobs_sweep_stale(now=None) -> int:
    """Fail running jobs whose worker stopped reporting, so none stays 'running' forever."""
    now = now or timezone.now()
    failed = TransformJob.objects.filter(state=JobState.RUNNING, heartbeat_at__lt=now - STALE_AFTER).update(
        state=JobState.FAILED,
        finished_at=now,
        message="The worker stopped while running this job (restarted or out of memory). Retry it.",
    )
    # After failing the silent ones: a job re-sent now and claimed at once is not silent.
    _requeue_lost(now)
    jobs_tmp_clean()
    return failed


def jobs_tmp_clean() -> int:
    """Remove the temporary folders of jobs no worker runs any more (dead attempts); how many."""
    root = jobs_tmp_root()
    if not root.is_dir():
        return 0
    ids = {int(p.name) for p in root.iterdir() if p.name.isdigit()}
    active = TransformJob.objects.filter(id__in=ids, state__in=TransformJob.ACTIVE).values_list(
        "id", flat=True
    )
    dead = ids - set(active)
    for job_id in dead:
        job_tmp_remove(job_id)
    return len(dead)


def _requeue_lost(now) -> None:
    """Send queued jobs again whose message the broker may have lost (Redis restarted, say).

    The new message gets a new task id, so if the first one still arrives it is ignored.
    """
    lost = TransformJob.objects.filter(state=JobState.QUEUED, enqueued_at__lt=now - REQUEUE_AFTER)
    for job in lost:
        with transaction.atomic():
            _enqueue(job)
