"""Uploads and jobs through a real Celery worker, on the broker the settings choose.

The embedded default uses kombu's filesystem transport; CI's second run sets
REDIS_URL and PostgreSQL. A worker runs in a thread of the test process, or as
a separate process when the test must kill it.
"""

import hashlib
import os
import signal
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from migration.models import ExportUpload, JobState, TransformJob, UploadState
from migration.services import job_worker, jobs
from p2cwizard.celery import app

from .helpers import (
    SAMPLES,
    big_order_export,
    finished,
    job_state,
    pool_children,
    process_worker,
    thread_worker,
    upload_sample,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def upload_state(upload_id):
    return ExportUpload.objects.get(id=upload_id).state


def test_it_inspects_and_transforms_through_a_worker(migration, consultant):
    with thread_worker():
        upload = upload_sample(migration, consultant, "order_products.csv")
        wait_for(lambda: upload_state(upload.id) == UploadState.READY, what="the inspection")
        job = jobs.job_start(migration=migration, table="order_products", actor=consultant)
        assert wait_for(lambda: finished(job.id), what="the job") == JobState.SUCCEEDED
    job.refresh_from_db()
    assert job.rows_done == job.rows_total == 600 or job.rows_total == job.summary["rows_in"]
    assert job.output_csv and job.report_json and job.issues_file and job.progress == 1.0


def test_it_reports_a_refused_file_as_failed_with_its_reason(migration, consultant, tmp_path):
    bogus = tmp_path / "account.csv"
    bogus.write_bytes(b"Name;Value\r\n" + b"\r\n" * 3)
    with thread_worker():
        upload = upload_sample(migration, consultant, str(bogus), table="account")
        state = wait_for(
            lambda: upload_state(upload.id) not in ("queued", "inspecting") and upload_state(upload.id)
        )
    upload.refresh_from_db()
    assert state in (UploadState.FAILED, UploadState.PROBLEMS)
    assert "Account Number" in upload.state_message


def sha(field) -> str:
    with field.open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def big_order_job(migration, consultant, tmp_path):
    """A queued order job over an export big enough to kill a worker in the middle of it."""
    source = tmp_path / "order.csv"
    big_order_export(source, 60_000)
    with thread_worker():
        upload = upload_sample(migration, consultant, str(source), table="order")
        wait_for(lambda: upload_state(upload.id) == UploadState.READY, timeout=300, what="the inspection")
    # The workbook review copy makes the run last seconds (a CSV alone takes a fraction of one).
    migration.init_settings.review_xlsx = True
    migration.init_settings.save(update_fields=["review_xlsx"])
    return jobs.job_start(migration=migration, table="order", actor=consultant)


def wait_until_running(job):
    wait_for(lambda: TransformJob.objects.get(id=job.id).rows_done > 0, timeout=180, what="the job to start")


def clean_run_sha(migration, consultant) -> str:
    """The output of the same input and settings from a run nobody disturbed."""
    clean = jobs.job_start(migration=migration, table="order", actor=consultant)
    job_worker.job_run(job_id=clean.id)
    clean.refresh_from_db()
    return sha(clean.output_csv)


def test_it_redelivers_a_job_whose_worker_process_was_killed(big_order_job, migration, consultant, tmp_path):
    job = big_order_job
    with process_worker(tmp_path / "worker.log") as worker:
        wait_until_running(job)
        for pid in pool_children(worker):
            os.kill(pid, signal.SIGKILL)
        outcome = wait_for(lambda: finished(job.id), timeout=300, what="the redelivered job")
    job.refresh_from_db()
    assert outcome == JobState.SUCCEEDED, job.message
    assert job.attempts == 2
    assert sha(job.output_csv) == clean_run_sha(migration, consultant)


def test_it_fails_a_job_whose_whole_worker_died_and_retries_it(
    big_order_job, migration, consultant, tmp_path
):
    job = big_order_job
    with process_worker(tmp_path / "worker.log") as worker:
        wait_until_running(job)
        for pid in [*pool_children(worker), worker.pid]:
            os.kill(pid, signal.SIGKILL)
        worker.wait()
    assert job_state(job.id) == JobState.RUNNING
    # Later, no heartbeat has come: the sweep that status polling runs gives the job up.
    jobs.jobs_sweep_stale(now=timezone.now() + jobs.STALE_AFTER + timedelta(seconds=1))
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "Retry it" in job.message
    retry = jobs.job_retry(job=job, actor=consultant)
    with thread_worker():
        assert wait_for(lambda: finished(retry.id), timeout=300, what="the retry") == JobState.SUCCEEDED
    retry.refresh_from_db()
    assert sha(retry.output_csv) == clean_run_sha(migration, consultant)


def test_it_sends_again_a_job_whose_message_the_broker_lost(migration, consultant):
    upload = upload_sample(migration, consultant, "quote.csv")
    with thread_worker():
        wait_for(lambda: upload_state(upload.id) == UploadState.READY, what="the inspection")
    job = jobs.job_start(migration=migration, table="quote", actor=consultant)
    app.control.purge()  # what a Redis restart without persistence does to queued messages
    assert job_state(job.id) == JobState.QUEUED
    jobs.jobs_sweep_stale(now=timezone.now() + jobs.REQUEUE_AFTER + timedelta(seconds=1))
    with thread_worker():
        assert wait_for(lambda: finished(job.id), what="the re-sent job") == JobState.SUCCEEDED


def test_it_ignores_a_stale_message_for_a_job_sent_again(migration, consultant):
    upload = upload_sample(migration, consultant, "quote.csv")
    with thread_worker():
        wait_for(lambda: upload_state(upload.id) == UploadState.READY, what="the inspection")
        job = jobs.job_start(migration=migration, table="quote", actor=consultant)
        assert wait_for(lambda: finished(job.id), what="the job") == JobState.SUCCEEDED
    job.refresh_from_db()
    TransformJob.objects.filter(id=job.id).update(state=JobState.QUEUED)
    job_worker.job_run(job_id=job.id, task_id="a-message-that-was-replaced")
    assert job_state(job.id) == JobState.QUEUED


def in_parallel(*calls):
    """Run the calls at the same moment in threads, each with its own database connection."""
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_it_keeps_both_of_two_simultaneous_uploads_to_one_slot(migration, consultant, manager):
    in_parallel(
        lambda: upload_sample(migration, consultant, "order.csv"),
        lambda: upload_sample(migration, manager, "order.xlsx", table="order"),
    )
    stored = ExportUpload.objects.filter(table="order").order_by("version")
    assert [u.version for u in stored] == [1, 2]
    for upload in stored:
        expected = (SAMPLES / upload.original_name).read_bytes()
        assert upload.file.read() == expected and upload.sha256 == hashlib.sha256(expected).hexdigest()


def test_it_runs_two_consultants_jobs_at_once_without_mixing_outputs(migration, consultant, manager):
    with thread_worker():
        first, second = (
            upload_sample(migration, consultant, "order.csv"),
            upload_sample(migration, manager, "quote.csv"),
        )
        for upload in (first, second):
            wait_for(lambda u=upload: upload_state(u.id) == UploadState.READY, what="the inspections")
        in_parallel(
            lambda: jobs.job_start(migration=migration, table="order", actor=consultant),
            lambda: jobs.job_start(migration=migration, table="quote", actor=manager),
        )
        started = list(TransformJob.objects.filter(migration=migration))
        for job in started:
            assert wait_for(lambda j=job: finished(j.id), what="both jobs") == JobState.SUCCEEDED
    by_table = {job.table: job for job in TransformJob.objects.filter(migration=migration)}
    assert by_table["order"].output_csv.name != by_table["quote"].output_csv.name
    assert "Sales Order Number" in by_table["order"].output_csv.read().decode("utf-8-sig").splitlines()[0]
    assert "Quote Number" in by_table["quote"].output_csv.read().decode("utf-8-sig").splitlines()[0]
