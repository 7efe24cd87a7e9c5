"""Step 8 jobs: task bodies called directly, their pages, downloads and the status feed.

The worker tests run the same tasks through Celery.
"""

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from migration import selectors
from migration.engine.files.reading import ISSUES_COLUMN
from migration.models import JobState, TransformJob, UploadState
from migration.services import job_results, job_worker, jobs

from .helpers import SAMPLES, run, upload_inspected, upload_sample, write_reexport

pytestmark = pytest.mark.django_db


def read_csv(field) -> list[list[str]]:
    with field.open("rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))


def read_issues_file(field) -> list[list]:
    assert field.name.endswith("_issues.xlsx")
    with field.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
        return [[cell.value or "" for cell in row] for row in sheet.iter_rows()]


def test_it_needs_the_export_before_a_job(migration, consultant):
    with pytest.raises(jobs.JobError, match="Upload the Quote export at step 2 first"):
        jobs.job_start(migration=migration, table="quote", actor=consultant)


def test_it_explains_why_invoices_have_no_job(migration, consultant):
    upload_inspected(migration, consultant, "invoice.csv")
    with pytest.raises(jobs.JobError, match="initial sync fills it"):
        jobs.job_start(migration=migration, table="invoice", actor=consultant)


def test_it_transforms_an_export_into_csv_report_and_issues_file(migration, consultant):
    upload_inspected(migration, consultant, "account.csv")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    rows = read_csv(job.output_csv)
    header = rows[0]
    for target in ("Company", "Relationship Type", "Customer Group Id", "Party Number"):
        assert header.count(target) == 1
    assert len(rows) == 301
    assert {row[header.index("Company")] for row in rows[1:]} == {"USMF"}
    assert not job.output_xlsx  # a CSV export's whole-table workbook only on request
    issues = read_issues_file(job.issues_file)
    # The source's shape, and a last column saying what is wrong in each row.
    assert issues[0] == [*read_csv(migration.uploads.get().file)[0], ISSUES_COLUMN]
    assert len(issues) - 1 == len({i.row for i in job.issues.all()})
    first = job.issues.order_by("row").first()
    assert first.message in issues[1][-1] and issues[1][-1].startswith(first.severity.capitalize())
    assert (
        job.issues.filter(code="missing_account_number").count()
        == job.summary["issue_counts"]["missing_account_number"]
    )
    assert job.summary["counts"]["Company"] == 300
    assert "usmf" not in job.output_csv.name and "contoso-cutover_account_" in job.output_csv.name


def ask_for_the_xlsx_review_copy(migration) -> None:
    migration.init_settings.review_xlsx = True
    migration.init_settings.save(update_fields=["review_xlsx"])


def test_it_writes_the_xlsx_review_copy_of_a_csv_export_when_the_settings_ask(migration, consultant):
    ask_for_the_xlsx_review_copy(migration)
    upload_inspected(migration, consultant, "account.csv")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    workbook = load_workbook(job.output_xlsx.open("rb"), read_only=True)
    assert workbook.active.max_row == 301 and job.run_settings["review_xlsx"] is True


def test_it_writes_the_xlsx_review_copy_of_a_workbook_export(migration, consultant):
    upload_inspected(migration, consultant, "order.xlsx")
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.output_xlsx.name.endswith("_review-copy.xlsx") and job.output_csv


def test_it_reads_each_input_once(migration, consultant, monkeypatch):
    from migration.engine.files import reading

    passes = []
    batches = reading.CsvSource.batches
    monkeypatch.setattr(
        reading.CsvSource, "batches", lambda self, *a, **k: passes.append(self.path) or batches(self, *a, **k)
    )
    ask_for_the_xlsx_review_copy(migration)
    upload_inspected(migration, consultant, "order.csv")
    passes.clear()
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert job.state == JobState.SUCCEEDED and job.output_xlsx and job.output_csv
    # the review pass, and the issues file's rows read again without the rules
    assert len(passes) == 2


def test_it_serves_the_issues_file_as_xlsx_of_text_cells_whatever_the_source(migration, consultant):
    upload_inspected(migration, consultant, "order.xlsx")  # dates and numbers as typed cells
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    with job.issues_file.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
        cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None]
    assert cells and {cell.data_type for cell in cells} == {"s"}


def test_it_writes_formula_like_cells_of_a_csv_as_text_in_the_issues_file(migration, consultant, tmp_path):
    with open(SAMPLES / "order.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("Name")] = '=HYPERLINK("http://evil.example","x")'
    source = tmp_path / "order.csv"
    with open(source, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    upload_inspected(migration, consultant, str(source), table="order")
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    with job.issues_file.open("rb") as handle:
        data = handle.read()
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert read_issues_file(job.issues_file)[1][rows[0].index("Name")] == rows[1][rows[0].index("Name")]


def test_it_keeps_the_settings_and_input_hash_of_each_run(migration, consultant, manager):
    upload = upload_inspected(migration, consultant, "order.csv")
    settings = migration.init_settings
    settings.language = "de"
    settings.save()
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    assert job.run_settings["language"] == "de"
    assert job.input_sha256 == {"source": upload.sha256, "parts": [upload.sha256]}


def test_it_gives_byte_identical_output_when_a_job_runs_again(migration, consultant):
    upload_inspected(migration, consultant, "quote.xlsx")
    job = run(jobs.job_start(migration=migration, table="quote", actor=consultant))
    first = {
        name: hashlib.sha256(getattr(job, name).read()).hexdigest() for name in ("output_csv", "output_xlsx")
    }
    issues = job.issues.count()
    # As after a worker crash: the broker redelivers a job the database still shows running.
    TransformJob.objects.filter(id=job.id).update(state=JobState.RUNNING)
    job = run(job)
    again = {
        name: hashlib.sha256(getattr(job, name).read()).hexdigest() for name in ("output_csv", "output_xlsx")
    }
    assert again == first
    assert job.issues.count() == issues


def test_it_never_runs_a_finished_job_again(migration, consultant):
    upload_inspected(migration, consultant, "order.csv")
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    finished_at = job.finished_at
    assert run(job).finished_at == finished_at


def test_it_refuses_a_second_job_for_a_table_while_one_is_queued(migration, consultant):
    upload_inspected(migration, consultant, "contact.csv")
    jobs.job_start(migration=migration, table="contact", actor=consultant)
    with pytest.raises(jobs.JobError, match="already queued or running"):
        jobs.job_start(migration=migration, table="contact", actor=consultant)


def test_it_refuses_a_retry_while_another_job_of_its_table_is_active(migration, consultant):
    upload_inspected(migration, consultant, "contact.csv")
    first = jobs.job_start(migration=migration, table="contact", actor=consultant)
    jobs.job_cancel(job=first, actor=consultant)
    jobs.job_start(migration=migration, table="contact", actor=consultant)
    first.refresh_from_db()
    with pytest.raises(jobs.JobError, match="already queued or running"):
        jobs.job_retry(job=first, actor=consultant)
    assert TransformJob.objects.filter(table="contact").count() == 2


def test_it_keeps_one_active_job_per_table_in_the_database(migration, consultant):
    upload_inspected(migration, consultant, "contact.csv")
    job = jobs.job_start(migration=migration, table="contact", actor=consultant)
    job.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        job.save()


def test_it_records_a_bad_file_as_a_failure_with_its_reason(migration, consultant):
    upload_inspected(migration, consultant, "contact.csv", table="account")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    assert job.state == JobState.FAILED
    assert "required column 'Account Number' is missing" in job.message
    assert not job.output_csv


def test_it_retries_a_failed_job_with_the_same_inputs(migration, consultant):
    upload_inspected(migration, consultant, "contact.csv", table="account")
    failed = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    retry = jobs.job_retry(job=failed, actor=consultant)
    assert retry.id != failed.id and retry.state == JobState.QUEUED
    assert (retry.source_id, retry.run_settings) == (failed.source_id, failed.run_settings)
    assert TransformJob.objects.filter(table="account").count() == 2  # history kept


def test_it_cancels_a_queued_job(migration, consultant):
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    jobs.job_cancel(job=job, actor=consultant)
    job = run(job)
    assert job.state == JobState.CANCELLED and not job.output_csv


def test_it_stops_a_running_job_when_cancelled(migration, consultant, monkeypatch):
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    monkeypatch.setattr(job_worker, "PROGRESS_EVERY", timedelta(0))
    TransformJob.objects.filter(id=job.id).update(state=JobState.RUNNING)
    original = job_worker._ProgressWriter.__call__

    def cancel_during_run(self, rows_done, rows_total):
        TransformJob.objects.filter(id=self.job_id).update(cancel_requested=True)
        original(self, rows_done, rows_total)

    monkeypatch.setattr(job_worker._ProgressWriter, "__call__", cancel_during_run)
    job = run(job)
    assert job.state == JobState.CANCELLED
    assert not job.output_csv


def test_it_fails_jobs_whose_worker_stopped_reporting(migration, consultant):
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    stale = timezone.now() - jobs.STALE_AFTER - timedelta(minutes=1)
    TransformJob.objects.filter(id=job.id).update(state=JobState.RUNNING, heartbeat_at=stale)
    assert jobs.jobs_sweep_stale() == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "Retry it" in job.message


def test_it_fills_a_reexport_from_the_step_2_export(migration, consultant, tmp_path):
    upload_inspected(migration, consultant, "contact.csv")
    reexport = write_reexport("contact.csv", tmp_path / "contact.csv")
    upload_inspected(migration, consultant, str(reexport), kind="reexport")
    job = run(jobs.job_start(migration=migration, table="contact", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    assert job.reexport is not None
    assert job.summary["merge"] is not None and job.summary["filled_in_place"]
    assert job.import_file.name.endswith(f"_job{job.id}_import.csv")
    assert [p["file"] for p in job.import_parts] == [job.import_file.name.rsplit("/", 1)[-1]]


def test_it_serves_job_files_to_members_only(client_for, migration, consultant):
    upload_inspected(migration, consultant, "order.csv")
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    url = reverse("job_download", kwargs={"migration_id": migration.id, "job_id": job.id, "what": "csv"})
    response = client_for("viewer").get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="contoso-cutover_order_')
    client_for("anonymous").logout()
    assert client_for("outsider").get(url).status_code == 404


def test_it_says_how_many_formula_like_cells_a_csv_output_holds_and_where_they_are_text(
    client_for, migration, consultant
):
    upload_inspected(migration, consultant, "account.csv")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    url = reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    page = client_for("viewer").get(url).content.decode()
    warning = page.split('id="csv-formula-warning">', 1)[1].split("</p>", 1)[0]
    assert "issues file" in warning and "/xlsx/" not in page


def test_it_says_how_many_formula_like_cells_a_csv_output_holds_and_offers_the_xlsx(
    client_for, migration, consultant
):
    ask_for_the_xlsx_review_copy(migration)
    upload_inspected(migration, consultant, "account.csv")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    formula_cells = job.summary["issue_counts"]["formula_like_text"]
    assert formula_cells
    url = reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    page = client_for("viewer").get(url).content.decode()
    xlsx = reverse("job_download", kwargs={"migration_id": migration.id, "job_id": job.id, "what": "xlsx"})
    warning = page.split('id="csv-formula-warning">', 1)[1].split("</p>", 1)[0]
    assert f"holds {formula_cells} cells that start like a formula" in warning and xlsx in warning


def test_it_shows_no_formula_warning_for_a_csv_without_such_cells(client_for, migration, consultant):
    upload_inspected(migration, consultant, "order.csv")
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert "formula_like_text" not in job.summary["issue_counts"]
    url = reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    assert "csv-formula-warning" not in client_for("viewer").get(url).content.decode()


def test_it_zips_every_finished_table(client_for, migration, consultant):
    for name in ("account.csv", "order.csv"):
        upload_inspected(migration, consultant, name)
    for table in ("account", "order"):
        run(jobs.job_start(migration=migration, table=table, actor=consultant))
    response = client_for("viewer").get(reverse("results_zip", kwargs={"migration_id": migration.id}))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert len(names) == 8  # per table: the CSV review copy, the report, the issue list and the issues file
    assert archive.testzip() is None  # every entry's CRC checks out
    order = TransformJob.objects.get(table="order")
    assert archive.read(order.issues_file.name.rsplit("/", 1)[-1]) == order.issues_file.read()
    assert any(
        n.endswith("_account_" + timezone.now().strftime("%Y-%m-%d") + "_review-copy.csv") for n in names
    )


def test_it_filters_issues_on_the_results_page(client_for, migration, consultant):
    upload_inspected(migration, consultant, "account.csv")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    url = reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    page = client_for("viewer").get(url + "?code=formula_like_text").content.decode()
    expected = job.issues.filter(code="formula_like_text").count()
    assert f"{expected} issues." in page
    assert "missing_account_number</code></td>" not in page


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("outsider", 404)])
def test_it_lets_only_workers_start_jobs(client_for, migration, consultant, role, expected):
    upload_sample(migration, consultant, "order.csv")
    url = reverse("job_start", kwargs={"migration_id": migration.id, "table": "order"})
    assert client_for(role).post(url).status_code == expected
    assert not TransformJob.objects.exists()


def test_it_moves_files_only_through_the_storage_api(settings, migration, consultant):
    # A storage with no local paths, as S3 would be: uploads, inspection and jobs must still work.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    upload = upload_inspected(migration, consultant, "order.csv")
    assert upload.state == UploadState.READY, upload.state_message
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    assert read_csv(job.output_csv)[0][-1] == "Order Type"
    assert not any(Path(settings.MEDIA_ROOT).rglob("*"))  # nothing went through a local folder


def test_it_keeps_step_2_only_rows_out_of_the_issues_file_of_a_reexport(migration, consultant, tmp_path):
    reexport = write_reexport("contact.csv", tmp_path / "contact.csv", rows=50)
    with open(reexport, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    upload_inspected(migration, consultant, "contact.csv")
    upload_inspected(migration, consultant, str(reexport), table="contact", kind="reexport")
    job = run(jobs.job_start(migration=migration, table="contact", actor=consultant))
    assert job.issues.filter(code="merge_only_in_step2").count() == 250
    issue_rows = read_issues_file(job.issues_file)[1:]
    own_issues = set(job.issues.exclude(code="merge_only_in_step2").values_list("row", flat=True))
    assert len(issue_rows) == len(own_issues)
    assert all(row in rows[1:51] for row in issue_rows)


def test_it_sweeps_stale_jobs_on_a_schedule(migration, consultant, settings):
    from migration.tasks import sweep_stale_jobs

    assert settings.CELERY_BEAT_SCHEDULE["sweep-stale-jobs"]["task"] == sweep_stale_jobs.name
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    long_ago = timezone.now() - jobs.STALE_AFTER - timedelta(minutes=1)
    TransformJob.objects.filter(id=job.id).update(state=JobState.RUNNING, heartbeat_at=long_ago)
    assert sweep_stale_jobs() == 1
    assert job_state_of(job) == JobState.FAILED


def job_state_of(job) -> str:
    job.refresh_from_db()
    return job.state


def test_it_polls_the_status_without_sweeping(client_for, migration, consultant):
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    long_ago = timezone.now() - jobs.STALE_AFTER - timedelta(minutes=1)
    TransformJob.objects.filter(id=job.id).update(state=JobState.RUNNING, heartbeat_at=long_ago)
    url = reverse("status_json", kwargs={"migration_id": migration.id})
    response = client_for("viewer").get(url)
    assert response.status_code == 200
    assert job_state_of(job) == JobState.RUNNING  # beat's sweep fails it, not a poll


def test_it_polls_the_status_in_as_many_queries_whatever_the_uploads(
    client_for, migration, consultant, manager
):
    client = client_for("viewer")
    url = reverse("status_json", kwargs={"migration_id": migration.id})
    upload_sample(migration, consultant, "account.csv")
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for name in ("contact.csv", "order.csv", "quote.csv"):
        upload_sample(migration, manager, name)
    with CaptureQueriesContext(connection) as four:
        client.get(url)
    assert len(four) == len(one)


def test_it_keeps_every_issue_in_the_list_and_the_first_of_each_code_in_the_report(
    client_for, migration, consultant, monkeypatch
):
    monkeypatch.setattr(job_worker, "REPORT_ISSUES_PER_CODE", 1)
    upload_inspected(migration, consultant, "account.csv")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    total = sum(job.summary["issue_counts"].values())
    report = json.loads(job.report_json.read())
    assert report["issues_truncated"] and len(report["issues"]) == len(job.summary["issue_counts"])
    listed = list(csv.DictReader(io.StringIO(job.issue_list.read().decode("utf-8-sig"))))
    assert len(listed) == total == job.issues.count()
    assert job.issues_file.name.endswith("_issues.xlsx")  # people open it: never a CSV
    url = reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    last = client_for("viewer").get(url + "?page=last").context["page"]
    expected = list(job.issues.order_by("row", "id"))[(last.num_pages - 1) * 100 :]
    assert last.count == total and list(last.object_list) == expected


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "0 s"), (3, "3 s"), (59, "59 s"), (125, "2 min 5 s"), (3840, "1 h 4 min")],
)
def test_it_says_how_long_a_job_ran_as_people_say_it(seconds, said):
    from migration.templatetags.job_tags import duration_text

    assert duration_text(seconds) == said


def test_it_shows_a_short_job_s_seconds_not_zero_minutes(client_for, migration, consultant):
    upload_inspected(migration, consultant, "contact.csv")
    job = jobs.job_start(migration=migration, table="contact", actor=consultant)
    job_worker.job_run(job_id=job.id)
    started = timezone.now() - timedelta(seconds=7)
    TransformJob.objects.filter(id=job.id).update(
        started_at=started, finished_at=started + timedelta(seconds=7)
    )
    page = client_for("viewer").get(reverse("runbook", args=[migration.id, "initialize"])).content.decode()
    row = page[page.index('data-job-table="contact"') :]
    row = row[: row.index("</tr>")]
    assert '<td data-role="elapsed">7 s</td>' in row
    detail = client_for("viewer").get(reverse("job_detail", args=[migration.id, job.id])).content.decode()
    assert "(7 s; 1 attempt)" in detail


def test_it_reports_rows_per_second_and_time_left_of_a_running_job(client_for, migration, consultant):
    upload_inspected(migration, consultant, "contact.csv")
    job = jobs.job_start(migration=migration, table="contact", actor=consultant)
    TransformJob.objects.filter(id=job.id).update(
        state=JobState.RUNNING,
        started_at=timezone.now() - timedelta(seconds=10),
        rows_done=1000,
        progress=0.25,
        phase="Writing the review copy",
    )
    feed = client_for("viewer").get(reverse("status_json", args=[migration.id])).json()
    running = next(j for j in feed["jobs"] if j["id"] == job.id)
    assert running["phase"] == "Writing the review copy"
    assert running["percent"] == 25
    assert 90 <= running["rows_per_second"] <= 100
    assert 29 <= running["seconds_left"] <= 31


def test_it_analyses_the_issues_table_once_a_big_copy_commits_on_postgresql(
    migration, consultant, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(job_results, "ANALYZE_AFTER_ISSUES", 1)
    analysed = []
    monkeypatch.setattr(job_results, "_analyze", analysed.append)
    upload_inspected(migration, consultant, "account.csv")
    with django_capture_on_commit_callbacks(execute=True):
        job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    assert job.issues.exists()
    # PostgreSQL plans from statistics that a bulk COPY leaves stale; SQLite's planner needs none.
    assert analysed == (['"migration_jobissue"'] if connection.vendor == "postgresql" else [])


@pytest.mark.django_db(transaction=True)
def test_a_page_of_issues_asked_by_number_after_a_big_copy_shows_its_own_issues(
    migration, consultant, monkeypatch
):
    """Outside the job's transaction PostgreSQL also marks the copied rows visible to all (VACUUM),
    so that skipping to a page by number reads the index alone, not a table row per skipped issue."""
    monkeypatch.setattr(job_results, "ANALYZE_AFTER_ISSUES", 1)
    monkeypatch.setattr(selectors.issues, "ISSUES_PER_PAGE", 2)
    upload_inspected(migration, consultant, "order.csv", table="order")
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    every = list(job.issues.order_by("row", "id").values_list("id", flat=True))
    assert len(every) >= 6
    for number in (2, len(every) // 2 // 2 + 1):  # near the start, and in the middle
        page = selectors.job_issue_page(job, selectors.IssueQuery(page=str(number)))
        assert [issue.id for issue in page.object_list] == every[(number - 1) * 2 : number * 2]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT relallvisible FROM pg_class WHERE relname = 'migration_jobissue'")
            assert cursor.fetchone()[0] > 0  # VACUUM ran: ANALYZE alone marks no page all-visible


def test_it_stores_every_issue_as_the_report_says_it_awkward_text_included(migration, consultant, tmp_path):
    """Issues go to the database in bulk (COPY on PostgreSQL): quotes, commas, line breaks and
    non-Latin text arrive as the report has them, cut to the columns' widths."""
    with open(SAMPLES / "order.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    name = rows[0].index("Name")
    awkward = ['=SUM(1,2) "quoted"', "+a\r\nb, c", "@株式会社", "-" + "x" * 600]
    for row, text in zip(rows[1:], awkward, strict=False):
        row[name] = text
    source = tmp_path / "order.csv"
    with open(source, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    upload_inspected(migration, consultant, str(source), table="order")
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    stored = list(
        job.issues.order_by("id").values_list("row", "guid", "column", "severity", "code", "message")
    )
    listed = [
        (int(i["row"]), i["guid"], i["column"], i["severity"], i["code"], i["message"][:500])
        for i in csv.DictReader(io.StringIO(job.issue_list.read().decode("utf-8-sig")))
    ]
    report = json.loads(job.report_json.read())  # its first issues, written one dict at a time
    said = [
        (i["row"], i.get("guid") or "", i["column"], i["severity"], i["code"], i["message"][:500])
        for i in report["issues"]
    ]
    assert stored == listed and len(stored) == sum(report["issue_counts"].values())
    assert said and all(issue in stored for issue in said)
    formula = [m for *_, code, m in stored if code == "formula_like_text"]
    assert (
        len(formula) == 4 and any('"quoted"' in m for m in formula) and any("株式会社" in m for m in formula)
    )
    assert any("\r\n" in m or "\\r\\n" in m for m in formula)


HOSTILE_HEADER = "=cmd|' /C calc'!A0"


def test_it_writes_the_issue_list_for_people_and_counts_every_formula_cell_it_writes(
    client_for, migration, consultant, tmp_path
):
    """The export's own header and values that start like formulas are text in the issue list;
    the job page counts the review CSV's formula-like cells, copies included."""
    src = tmp_path / "account.csv"
    headers = ["(Do Not Modify) Account", "Account Name", "Account Number", HOSTILE_HEADER]
    rows = [
        ["8b17e0df-4648-07d4-fe18-4b2a690b4981", "Contoso", "=1+2", '=HYPERLINK("http://x")'],
        ["8b17e0df-4648-07d4-fe18-4b2a690b4982", "@SUM(A1)", "C-2", "\t=1"],
    ]
    with open(src, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([headers, *rows])
    upload_inspected(migration, consultant, str(src))
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    listed = list(csv.reader(io.StringIO(job.issue_list.read().decode("utf-8-sig"))))
    cells = [cell for row in listed for cell in row]
    assert f"'{HOSTILE_HEADER}" in cells
    assert not [c for c in cells if c[:1] in ("=", "@", "\t", "+", "-")]
    written = read_csv(job.output_csv)
    starts = [c for row in written[1:] for c in row if c[:1] in ("=", "@", "\t")]
    assert len(starts) == 5  # four read, and the account number copied as party number
    page = client_for("viewer").get(
        reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    )
    assert "This CSV holds 5 cells that start like a formula" in page.text
