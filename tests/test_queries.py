"""Each main page's queries, with one and with many uploads and jobs: a page whose count grows
with the data (an N+1) fails here. status.json also stays within its four queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from migration import runbook
from migration.engine import TABLES
from migration.models import ExportUpload, JobIssue, JobState, TransformJob, UploadKind, UploadState

from .helpers import AUTH_QUERIES

MANY = 50


def add_uploads_and_jobs(migration, user, count: int) -> TransformJob:
    """`count` upload versions of every slot kind and `count` finished jobs per table; the last job."""
    tables = [key for key, info in TABLES.items() if info.transforms]
    start = migration.uploads.count()
    uploads = [
        ExportUpload(
            migration=migration,
            table=table,
            kind=kind,
            version=start + n + 1,
            file=f"x/{kind}-{table}-{n}.csv",
            original_name=f"{table}.csv",
            size=10,
            sha256="0" * 64,
            uploaded_by=user,
            state=UploadState.READY,
            inspection={"rows": 3, "issue_counts": {}},
            part=1,
        )
        for n in range(count)
        for kind in (UploadKind.EXPORT, UploadKind.REEXPORT, UploadKind.VERIFICATION)
        for table in tables
    ]
    ExportUpload.objects.bulk_create(uploads)
    source = ExportUpload.objects.filter(migration=migration, kind=UploadKind.EXPORT).first()
    now = timezone.now()
    jobs = TransformJob.objects.bulk_create(
        TransformJob(
            migration=migration,
            table=table,
            state=JobState.SUCCEEDED,
            source=source,
            created_by=user,
            started_at=now,
            finished_at=now,
            progress=1,
            rows_done=3,
            rows_total=3,
            summary={"rows_in": 3, "rows_out": 3, "issue_counts": {"bad_date": 1}, "counts": {"Company": 3}},
        )
        for _ in range(count)
        for table in tables
    )
    job = jobs[-1]
    JobIssue.objects.bulk_create(
        JobIssue(job=job, row=n + 1, severity="warning", code="bad_date", message="m") for n in range(count)
    )
    return job


def pages(migration, job) -> dict[str, str]:
    m = {"migration_id": migration.id}
    upload = migration.uploads.order_by("-id").first()
    steps = {
        f"step {step.number}": reverse("runbook", kwargs={**m, "step": step.slug}) for step in runbook.STEPS
    }
    return {
        "dashboard": reverse("dashboard"),
        "migration": reverse("migration_detail", kwargs=m),
        **steps,
        "job (its results)": reverse("job_detail", kwargs={**m, "job_id": job.id}),
        "job, last page": reverse("job_detail", kwargs={**m, "job_id": job.id}) + "?page=last",
        "job, next page": reverse("job_detail", kwargs={**m, "job_id": job.id}) + "?page=2&after=1.0",
        "upload": reverse("upload_detail", kwargs={**m, "upload_id": upload.id}),
        "activity": reverse("activity_log", kwargs=m),
        "members": reverse("members", kwargs=m),
        "evidence pack": reverse("evidence_pack", kwargs=m),
        "status.json": reverse("status_json", kwargs=m),
    }


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.fixture
def counted(client_for, migration, consultant):
    """Each page's queries with one upload and job per slot, then with MANY."""
    client = client_for("consultant")
    job = add_uploads_and_jobs(migration, consultant, 1)
    one = {name: queries_of(client, url) for name, url in pages(migration, job).items()}
    job = add_uploads_and_jobs(migration, consultant, MANY)
    many = {name: queries_of(client, url) for name, url in pages(migration, job).items()}
    return one, many


def test_it_runs_as_many_queries_per_page_with_many_uploads_and_jobs(counted):
    one, many = counted
    assert many == one


def test_it_reads_step_8_in_a_bounded_number_of_queries(counted):
    # The import route reads every table's re-export, verification, import job and check at once
    # (it once read them table by table: 34 queries); each table's card adds its step-2 export and
    # step 9's checks, and every table's newest result is one query (it was one a table: 29 in all);
    # the newest environment check (its write-back readiness) is one more; the write-back panel's
    # Sales connection one (its jobs and write-backs two more with one); the rest is the page's
    # own reads.
    _, many = counted
    assert many["step 8"] - AUTH_QUERIES <= 24


def test_it_answers_status_json_in_four_queries(counted):
    _, many = counted
    assert many["status.json"] - AUTH_QUERIES <= 4


def test_it_answers_an_unchanged_status_with_304(client_for, migration, consultant):
    client = client_for("consultant")
    url = reverse("status_json", kwargs={"migration_id": migration.id})
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"]
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    add_uploads_and_jobs(migration, consultant, 1)
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 200
