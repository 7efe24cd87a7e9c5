"""Jobs against dying workers: attempts capped, heartbeats from a thread, temporary files per attempt."""

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from migration import engine
from migration.models import JobState, TransformJob
from migration.services import job_worker, jobs

from .helpers import upload_inspected, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(migration, consultant):
    upload_inspected(migration, consultant, "order.csv")
    return jobs.job_start(migration=migration, table="order", actor=consultant)


def as_if_its_worker_died(job: TransformJob, attempts: int) -> None:
    """What the database shows when the broker redelivers a job whose worker was killed."""
    TransformJob.objects.filter(id=job.id).update(state=JobState.RUNNING, attempts=attempts)


def test_it_counts_an_attempt_when_a_worker_claims_the_job(job):
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 1)


def test_it_runs_a_job_redelivered_after_its_worker_died_twice(job):
    as_if_its_worker_died(job, attempts=2)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 3)


def test_it_fails_a_job_whose_worker_died_three_times(job, monkeypatch):
    monkeypatch.setattr(job_worker, "_transform", lambda *a: pytest.fail("a fourth attempt must not run"))
    as_if_its_worker_died(job, attempts=3)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "The worker died 3 times running this job (out of memory?)" in job.message


def test_it_fails_a_job_whose_worker_is_gone_within_two_minutes(job):
    now = timezone.now()
    TransformJob.objects.filter(id=job.id).update(
        state=JobState.RUNNING, heartbeat_at=now - jobs.STALE_AFTER - timedelta(seconds=1)
    )
    assert jobs.STALE_AFTER + timedelta(minutes=1) <= timedelta(minutes=2)  # beat sweeps every minute
    assert jobs.jobs_sweep_stale(now) == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "Retry it" in job.message


def test_it_keeps_a_job_whose_heartbeat_is_recent(job):
    now = timezone.now()
    beat = now - timedelta(seconds=job_worker.HEARTBEAT_EVERY * 3)
    TransformJob.objects.filter(id=job.id).update(state=JobState.RUNNING, heartbeat_at=beat)
    assert jobs.jobs_sweep_stale(now) == 0


@pytest.mark.django_db(transaction=True)
def test_it_writes_heartbeats_from_a_thread_while_one_step_takes_long(migration, consultant, monkeypatch):
    monkeypatch.setattr(jobs, "_enqueue", lambda job: None)  # no broker here: the test runs the job
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    monkeypatch.setattr(job_worker, "HEARTBEAT_EVERY", 0.05)

    def one_long_step(job, folder, progress):  # no progress callback, as a slow read or write
        claimed = TransformJob.objects.get(id=job.id).heartbeat_at
        wait_for(lambda: TransformJob.objects.get(id=job.id).heartbeat_at > claimed, 30, "a heartbeat")
        raise engine.EngineError("stopped by the test")

    monkeypatch.setattr(job_worker, "_transform", one_long_step)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.state, job.message) == (JobState.FAILED, "stopped by the test")


# --- temporary files ---------------------------------------------------------------


def test_it_keeps_every_temporary_file_of_a_job_in_its_attempt_folder(
    job, job_tmp_dir, tmp_path, monkeypatch
):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    made = []
    mkstemp = tempfile.mkstemp

    def recording_mkstemp(*args, **kwargs):  # xlsxwriter's constant-memory row files
        fd, name = mkstemp(*args, **kwargs)
        made.append(Path(name).parent)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", recording_mkstemp)
    seen = []
    transform = engine.transform_file

    def watching(table, main, output, *args, **kwargs):
        seen.append(output.parent)
        return transform(table, main, output, *args, **kwargs)

    monkeypatch.setattr(engine, "transform_file", watching)
    # The xlsx review copy asked for: xlsxwriter writes it, with its row files.
    TransformJob.objects.filter(id=job.id).update(run_settings={**job.run_settings, "review_xlsx": True})
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    attempt = job_tmp_dir / "jobs" / str(job.id) / "1"
    assert set(seen) == {attempt}
    assert made and set(made) == {attempt}  # xlsxwriter's own temporary files included
    assert list(system_tmp.iterdir()) == []
    assert not (job_tmp_dir / "jobs" / str(job.id)).exists()


def test_it_removes_a_dead_attempts_folder_when_the_job_is_redelivered(job, job_tmp_dir):
    leftover = job_tmp_dir / "jobs" / str(job.id) / "1"
    leftover.mkdir(parents=True)
    (leftover / "output.xlsx").write_bytes(b"half written")
    as_if_its_worker_died(job, attempts=1)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.attempts == 2
    assert not leftover.exists()


def test_it_removes_a_failed_jobs_folder_when_it_is_retried(job, job_tmp_dir, consultant):
    leftover = job_tmp_dir / "jobs" / str(job.id) / "2"
    leftover.mkdir(parents=True)
    TransformJob.objects.filter(id=job.id).update(state=JobState.FAILED)
    job.refresh_from_db()
    jobs.job_retry(job=job, actor=consultant)
    assert not leftover.parent.exists()


def test_it_cleans_dead_attempts_when_a_worker_starts(job, job_tmp_dir, migration, consultant):
    from celery.signals import worker_ready

    from migration import tasks  # noqa: F401  (connects the handler, as the worker's autodiscovery does)

    TransformJob.objects.filter(id=job.id).update(state=JobState.FAILED)
    dead = job_tmp_dir / "jobs" / str(job.id) / "1"
    upload_inspected(migration, consultant, "account.csv")
    running = jobs.job_start(migration=migration, table="account", actor=consultant)
    TransformJob.objects.filter(id=running.id).update(state=JobState.RUNNING)
    alive = job_tmp_dir / "jobs" / str(running.id) / "1"
    for folder in (dead, alive):
        folder.mkdir(parents=True)
        (folder / "part").write_bytes(b"x")
    worker_ready.send(sender=None)
    assert not dead.parent.exists()
    assert (alive / "part").exists()  # another worker of this machine may be running it
