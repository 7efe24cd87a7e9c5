"""Celery tasks: each takes an id and calls one service.

All are idempotent (guarded state changes, fixed output names), so
`acks_late` redelivery after a worker crash is safe. Only a lost database
connection is worth an automatic retry; a bad file is a recorded failure.
"""

from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init, worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from .services import imports, job_worker, jobs, sync, uploads
from .storage import local_copies_clean

TRANSIENT = (OperationalError, InterfaceError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 5, "max_retries": 5}


@shared_task(acks_late=True, **RETRY)
def inspect_upload(upload_id: int) -> None:
    uploads.upload_inspect(upload_id=upload_id)


@shared_task(acks_late=True, **RETRY)
def run_cross_check(check_id: int) -> None:
    uploads.cross_check_run(check_id=check_id)


@shared_task(acks_late=True, **RETRY)
def run_verification(check_id: int) -> None:
    imports.verification_run(check_id=check_id)


@shared_task(bind=True, acks_late=True, **RETRY)
def run_transform_job(self, job_id: int) -> None:
    try:
        job_worker.job_run(job_id=job_id, task_id=self.request.id)
    except TRANSIENT:
        raise
    except SoftTimeLimitExceeded:
        minutes = settings.CELERY_TASK_SOFT_TIME_LIMIT // 60
        job_worker.job_stop_on_time_limit(job_id=job_id, minutes=minutes)
    except Exception as error:
        job_worker.job_fail_unexpectedly(job_id=job_id, error=error)
        raise


@shared_task(acks_late=True, **RETRY)
def run_sync_check(check_id: int) -> None:
    try:
        sync.sync_check_run(check_id=check_id)
    except TRANSIENT:
        raise
    except Exception as error:
        sync.sync_check_fail_unexpectedly(check_id=check_id, error=error)
        raise


@shared_task
def sweep_stale_jobs() -> int:
    """Periodic (beat): fail dead workers' jobs, re-send lost messages."""
    uploads.uploads_requeue_stale()
    sync.sync_checks_sweep_stale()
    return jobs.jobs_sweep_stale()


@worker_init.connect
def load_what_jobs_use(**kwargs) -> None:
    """Before the pool forks: its processes inherit arrow and pandas loaded (pyarrow loads pandas
    on its first array, half a second), so no user's first job pays for it."""
    import pyarrow as pa

    pa.array([""])


@worker_ready.connect
def clean_dead_attempts(**kwargs) -> None:
    """A worker starting on this machine removes what killed attempts and killed uploads left in
    its temp folder."""
    try:
        jobs.jobs_tmp_clean()
        uploads.uploads_tmp_clean()
        # No task outlives its hard time limit: a folder older than that belongs to none.
        local_copies_clean(stale_after=timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 300))
    finally:
        connections.close_all()  # never hand the main process's connection to pool children
