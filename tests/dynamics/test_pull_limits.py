"""What holds for uploads holds for pulls: the migration's quota and the user's pace; a pull shows
its progress (rows, rows per second, time left) while it reads; and a pulled table has no
100,000-row limit: only Sales' export stops there, so only an export is flagged for it."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from migration import engine, gate, quota
from migration.connections.pulls import PullError, pull_file, pull_progress, pull_run, pull_start
from migration.models import ExportUpload, JobState, Pull, PullState
from migration.services import job_worker, jobs
from migration.services.uploads import upload_create, upload_inspect

pytestmark = pytest.mark.django_db


def pulled(connection, actor, **run) -> Pull:
    pull = pull_start(connection=connection, table="order", actor=actor)
    pull_run(pull_id=pull.id, **run)
    return Pull.objects.get(pk=pull.pk)


def test_a_pull_that_would_pass_the_quota_is_read_but_not_stored(connected, manager, settings, monkeypatch):
    connection, export = connected
    settings.P2C_MIGRATION_QUOTA_GB = 1
    monkeypatch.setattr(quota, "GB", export.stat().st_size // 2)  # less than the table's file
    pull = pulled(connection, manager)
    assert pull.state == PullState.FAILED and pull.upload is None
    assert pull.message.startswith("Read, but not stored: This migration's uploads take")
    assert "would pass it" in pull.message and "P2C_MIGRATION_QUOTA_GB" in pull.message
    assert not ExportUpload.objects.exists() and not pull_file(pull).exists()


def test_no_pull_starts_once_the_quota_is_used_up(
    connected, manager, migration, settings, monkeypatch, client_for
):
    connection, export = connected
    upload_create(migration=migration, table="order", kind="export", actor=manager,
                  upload=SimpleUploadedFile("order.csv", export.read_bytes()))  # fmt: skip
    settings.P2C_MIGRATION_QUOTA_GB = 1
    monkeypatch.setattr(quota, "GB", export.stat().st_size - 1)  # past full
    with pytest.raises(PullError, match=r"Not pulled: This migration's uploads take .* would pass it"):
        pull_start(connection=connection, table="order", actor=manager)
    response = client_for("consultant").post(
        f"/migrations/{migration.id}/connections/pulls/", {"table": "order"}, follow=True
    )
    assert "Not pulled: This migration&#x27;s uploads take" in response.text
    assert not Pull.objects.exists()


def test_a_pull_keeps_to_the_users_pace_and_counts_in_it(connected, manager, migration, settings):
    connection, _ = connected
    settings.P2C_UPLOADS_PER_MINUTE = 1
    pull = pulled(connection, manager)
    assert pull.state == PullState.DONE
    # The stored pull is one of the user's files of this minute: the next is refused, pulled or uploaded.
    with pytest.raises(PullError, match="You uploaded 1 file\\(s\\) in the last minute; 1 more would pass"):
        pull_start(connection=connection, table="order", actor=manager)
    assert quota.upload_refusal(migration=migration, actor=manager, sizes=[10]).startswith("You uploaded 1")


def test_a_pull_shows_rows_rate_and_time_left_while_it_reads(connected, manager, client_for, migration):
    connection, _ = connected
    seen = {}

    def on_page(page):
        if page.number == 4:
            pull = Pull.objects.get()
            seen["progress"] = pull_progress(pull, pull.started_at + timedelta(seconds=2))
            seen["feed"] = (
                client_for("viewer").get(f"/migrations/{migration.id}/connections/status.json").json()
            )
            seen["page"] = client_for("viewer").get(f"/migrations/{migration.id}/connections/").text

    pull = pulled(connection, manager, page_size=10, on_page=on_page)
    assert pull.rows_expected == 120  # Dataverse's count of the table (RetrieveTotalRecordCount)
    assert seen["progress"].rows == 40
    assert seen["progress"].rows_per_second == 20  # 40 rows in 2 s
    assert seen["progress"].seconds_left == 4  # 80 rows to go at 20 a second
    [shown] = seen["feed"]["pulls"]
    assert shown["state"] == "running" and shown["rows"] == 40 and shown["rows_per_second"] > 0
    assert shown["seconds_left"] is not None
    assert "40 of about 120" in seen["page"] and 'data-pull-state="running"' in seen["page"]
    done = pull_progress(pull, pull.finished_at)
    assert done.rows == 120 and done.seconds_left is None


def _orders(sales, count):
    """The sample's 120 orders repeated under new GUIDs up to `count` records."""
    table = sales.tables["salesorders"]
    sample = table.rows[:120]
    table.rows = [
        sample[n % 120] | {table.key: str(uuid.UUID(int=n + 1)), "ordernumber": f"ORD-{n:06}"}
        for n in range(count)
    ]


@pytest.mark.slow
def test_a_pulled_table_has_no_100000_row_limit(connected, manager, sales):
    connection, _ = connected
    _orders(sales, 100_001)
    pull = pulled(connection, manager)  # 5,000 a page, as Dataverse gives at most
    assert (pull.state, pull.rows, pull.pages) == (PullState.DONE, 100_001, 21)
    upload_inspect(upload_id=pull.upload_id)
    upload = ExportUpload.objects.get(pk=pull.upload_id)
    assert upload.state == "ready" and upload.inspection["rows"] == 100_001 and not upload.limit_reached


def limit_reasons(migration, part) -> list:
    return [r for r in gate._part_reasons(migration, "Order", "order", [part]) if "100,000" in r.text]


def export_limit_issues(migration, manager) -> int:
    job = jobs.job_start(migration=migration, table="order", actor=manager)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    return job.summary["issue_counts"].get("export_limit_reached", 0)


@pytest.mark.slow
def test_exactly_100000_rows_are_flagged_when_exported_never_when_pulled(
    connected, manager, migration, sales
):
    # An export of exactly 100,000 rows was probably cut off at Sales' limit; a pull was not.
    connection, _ = connected
    _orders(sales, 100_000)
    pull = pulled(connection, manager)
    upload_inspect(upload_id=pull.upload_id)
    pulled_part = ExportUpload.objects.get(pk=pull.upload_id)
    assert pulled_part.inspection["rows"] == 100_000
    assert not pulled_part.limit_reached and not limit_reasons(migration, pulled_part)
    assert export_limit_issues(migration, manager) == 0  # the job over the pulled part alone

    exported = upload_create(
        migration=migration, table="order", kind="export", actor=manager,
        upload=SimpleUploadedFile("order.csv", pulled_part.file.read()),
    )  # fmt: skip
    upload_inspect(upload_id=exported.id)
    exported = ExportUpload.objects.get(pk=exported.pk)
    assert exported.limit_unconfirmed and limit_reasons(migration, exported)  # asked to confirm
    # The cross-file check, as the service runs it over the two parts: only the export is cut off.
    result = engine.check_exports(
        {"order": [pulled_part.file.path, exported.file.path]}, expect_all=False,
        read_whole=[pulled_part.file.path],
    )  # fmt: skip
    [limit] = [f for f in result.findings if f.code == "export_limit_reached"]
    assert limit.examples == [Path(exported.file.path).name]
    assert export_limit_issues(migration, manager) == 1  # both parts: the exported one only
