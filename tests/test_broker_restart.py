"""Redis restarted in the middle of a run: no job is lost.

The test runs its own redis-server (no persistence, like production's
cache-style Redis) so it can restart it; the worker, and the code that sends
and sweeps jobs, run as separate processes pointed at it.
"""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from migration.models import JobState, TransformJob, UploadState
from migration.services import jobs

from .helpers import ROOT, big_order_export, finished, process_worker, upload_inspected, wait_for, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def in_django(code: str, redis_url: str) -> None:
    """Run code in a separate process whose Celery broker is the given Redis."""
    script = "import django; django.setup()\nfrom migration.services import jobs\n" + code
    env = {**worker_env(), "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "p2cwizard.settings"}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=120)


def test_it_loses_no_job_when_redis_restarts_during_a_run(migration, consultant, redis_server, tmp_path):
    source = tmp_path / "order.csv"
    big_order_export(source, 60_000)
    upload = upload_inspected(migration, consultant, str(source), table="order")
    assert upload.state == UploadState.READY
    upload_inspected(migration, consultant, "quote.csv")
    # The workbook review copy makes the order job last seconds (a CSV alone takes a fraction of one).
    migration.init_settings.review_xlsx = True
    migration.init_settings.save(update_fields=["review_xlsx"])
    running = jobs.job_start(migration=migration, table="order", actor=consultant)
    waiting = jobs.job_start(migration=migration, table="quote", actor=consultant)
    # Send both to this test's Redis (new task ids; the first messages are never run).
    resend = "from migration.models import TransformJob\n"
    for job in (running, waiting):  # in this order: the quote job waits behind the order job
        resend += f"jobs._enqueue(TransformJob.objects.get(id={job.id}))\n"
    in_django(resend, redis_server.url)

    with process_worker(tmp_path / "worker.log", env={"REDIS_URL": redis_server.url}):
        wait_for(
            lambda: TransformJob.objects.get(id=running.id).rows_done > 0, timeout=180, what="the first job"
        )
        redis_server.stop()  # every queued message is gone with it: no persistence
        time.sleep(1)
        redis_server.start()
        assert (
            wait_for(lambda: finished(running.id), timeout=300, what="the running job") == JobState.SUCCEEDED
        )
        assert TransformJob.objects.get(id=waiting.id).state == JobState.QUEUED  # its message was lost
        later = (timezone.now() + jobs.REQUEUE_AFTER + timedelta(seconds=5)).isoformat()
        in_django(
            f"import datetime\njobs.jobs_sweep_stale(now=datetime.datetime.fromisoformat({later!r}))",
            redis_server.url,
        )
        assert (
            wait_for(lambda: finished(waiting.id), timeout=300, what="the re-sent job") == JobState.SUCCEEDED
        )
