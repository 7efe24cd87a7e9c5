"""Step 9's uploads: error logs in every form (pasted text too), a company per uploaded file, files
that are no export or no error log refused at once, and two columns of one name refused at every
upload point of the wizard (step 2, re-exports, verification exports, F&O exports)."""

import csv
import io
import shutil
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from migration.models import (
    ExportUpload,
    InitializationSettings,
    JobState,
    Migration,
    SyncCheck,
    UploadKind,
    UploadState,
)
from migration.services import job_worker, jobs, sync, uploads

from .engine.helpers_triage import DOCUMENTED, VERSION
from .helpers import migration_url, step_9_open, upload_inspected, upload_sample
from .helpers_sync import FNO, csv_file, output_rows

pytestmark = pytest.mark.django_db

REEXPORT = Path(__file__).resolve().parent / "samples" / "reexport" / "order.xlsx"
LOCATION = next(m for _, m, c in DOCUMENTED if c == "location_key")
DUPLICATED = r"(?i)two columns are named '{name}': column {first} \({a}\) and column {second} \({b}\)"


def run_latest() -> SyncCheck:
    check = SyncCheck.objects.latest("id")
    sync.sync_check_run(check_id=check.id)
    check.refresh_from_db()
    return check


def test_error_details_pasted_from_the_portal_are_triaged(client_for, migration, account_job):
    client = client_for("consultant")
    url = migration_url("sync_upload", migration, kind="triage", table="account")
    response = client.post(url, {"pasted": f"{VERSION}\n\n{LOCATION}\n"}, follow=True)
    assert "error triage" in response.content.decode().lower()
    check = run_latest()
    assert check.state == JobState.SUCCEEDED, check.message
    assert [c["cause"] for c in check.result["causes"]] == ["location_key", "solution_version"]
    assert check.uploads.get().original_name == "pasted-error-details.txt"
    assert check.result["columns_used"]["pasted-error-details.txt (version 1)"]["form"] == "text"


def test_a_text_file_of_error_details_is_triaged(migration, consultant, account_job):
    upload = SimpleUploadedFile("details.txt", f"{VERSION}\r\n".encode("utf-16"), "text/plain")
    sync.sync_check_create(
        migration=migration, kind="triage", table="account", files=[upload], actor=consultant
    )
    assert run_latest().result["causes"][0]["cause"] == "solution_version"


def test_a_file_that_is_no_error_log_is_refused_at_upload_saying_what_was_expected(
    client_for, migration, account_job
):
    client = client_for("consultant")
    url = migration_url("sync_upload", migration, kind="triage", table="account")
    orders = csv_file("orders.csv", ["Sales Order Number", "Company"], [["SO-1", "USMF"]])
    page = client.post(url, {"file": orders}, follow=True).content.decode()
    assert "orders.csv: &#x27;orders.csv&#x27; is not an error log we can read" in page
    assert "a &#x27;Message&#x27; column" in page
    assert (
        not SyncCheck.objects.exists()
        and not ExportUpload.objects.filter(kind=UploadKind.SYNC_ERRORS).exists()
    )


def test_step9_files_have_their_own_size_limit(settings, migration, consultant, account_job):
    settings.P2C_SYNC_UPLOAD_MB = 1
    big = SimpleUploadedFile("errors.txt", (VERSION + "\n").encode() * 12_000, "text/plain")
    with pytest.raises(sync.SyncError, match=r"step 9's limit is 1 MB \(P2C_SYNC_UPLOAD_MB\)"):
        sync.sync_check_create(
            migration=migration, kind="triage", table="account", files=[big], actor=consultant
        )


def test_each_company_file_without_dataareaid_takes_the_company_given_with_it(
    migration, consultant, account_job
):
    rows = [r for r in output_rows(account_job) if r["Account Number"]]
    per_company = {}
    for code in ("USMF", "DEMF"):
        mine = [
            [r["Account Number"], r["Party Number"], r["Customer Group Id"], "Organization"]
            for r in rows
            if r["Company"] == code
        ]
        per_company[code] = csv_file(
            f"customers_{code.lower()}.csv",
            ["CUSTOMERACCOUNT", "PARTYNUMBER", "CUSTOMERGROUPID", "PARTYTYPE"],
            mine,
        )
    assert all(len(f) for f in per_company.values())
    sync.sync_check_create(
        migration=migration,
        kind="reconcile",
        table="account",
        files=[per_company["USMF"]],
        actor=consultant,
        company="USMF",
    )
    sync.sync_check_create(
        migration=migration,
        kind="reconcile",
        table="account",
        files=[per_company["DEMF"]],
        actor=consultant,
        company="demf",
        more_parts=True,
    )
    check = run_latest()
    assert check.state == JobState.SUCCEEDED, check.message
    assert check.uploads.count() == 2
    assert "company" not in {d["column"] for d in check.result["differences"]}
    assert {c["company"] for c in check.result["companies"]} <= {"USMF", "DEMF"}
    assert check.result["totals"]["unexpected"] == 0


def test_a_company_that_is_no_legal_entity_of_the_migration_is_refused(migration, consultant, account_job):
    upload = csv_file("c.csv", FNO, [["A", "usmf", "", "10", "Organization"]])
    with pytest.raises(sync.SyncError, match="GBSI is not a legal entity of this migration: choose one of"):
        sync.sync_check_create(
            migration=migration,
            kind="reconcile",
            table="account",
            files=[upload],
            actor=consultant,
            company="GBSI",
        )


# --- two columns of one name, at every upload point --------------------------------------------


def _csv_bytes(headers, rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([headers, *rows])
    return out.getvalue().encode("utf-8")


def test_a_step2_export_with_two_columns_of_one_name_is_refused(migration, consultant):
    upload = SimpleUploadedFile(
        "account.csv", _csv_bytes(["Account Name", "Account Number", "account name"], [["a", "1", "b"]])
    )
    with pytest.raises(
        uploads.UploadError, match=DUPLICATED.format(name="account name", first=1, a="A", second=3, b="C")
    ):
        uploads.upload_create(
            migration=migration, table="account", kind=UploadKind.EXPORT, upload=upload, actor=consultant
        )


@pytest.mark.parametrize("kind", [UploadKind.EXPORT, UploadKind.REEXPORT, UploadKind.VERIFICATION])
def test_a_workbook_with_two_columns_of_one_name_fails_its_inspection_naming_both(
    migration, consultant, tmp_path, kind
):
    path = tmp_path / "order.xlsx"
    shutil.copy(REEXPORT, path)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    last = sheet.max_column + 1
    sheet.cell(1, last, "Sales Order Number")
    first = next(c.column for c in sheet[1] if c.value == "Sales Order Number")
    book.save(path)
    upload = upload_sample(migration, consultant, str(path), table="order", kind=kind)
    uploads.upload_inspect(upload_id=upload.id)
    upload.refresh_from_db()
    assert upload.state == UploadState.FAILED
    letters = openpyxl.utils.get_column_letter
    assert f"column {first} ({letters(first)}) and column {last} ({letters(last)})" in upload.state_message


def test_an_fno_export_with_two_columns_of_one_name_is_refused_at_upload(migration, consultant, account_job):
    upload = csv_file("c.csv", ["CUSTOMERACCOUNT", "DATAAREAID", "DATAAREAID"], [["A", "usmf", "demf"]])
    with pytest.raises(
        sync.SyncError, match=DUPLICATED.format(name="DATAAREAID", first=2, a="B", second=3, b="C")
    ):
        sync.sync_check_create(
            migration=migration, kind="reconcile", table="account", files=[upload], actor=consultant
        )


@pytest.fixture
def customized_job(migration, consultant, tmp_path):
    """Account numbers customized: party numbers from F&O's customer list, which lacks most of our
    accounts, so step 8 leaves their Party Number empty for F&O to assign."""
    step_9_open(migration)
    InitializationSettings.objects.update_or_create(
        migration=migration, defaults={"account_numbers_customized": True}
    )
    fresh = Migration.objects.get(pk=migration.pk)  # not the fixture's cached settings
    upload_inspected(migration, consultant, "account.csv")
    listed = tmp_path / "customers.csv"
    listed.write_text("CUSTOMERACCOUNT,PARTYNUMBER\nNOT-OURS-1,000001\n", encoding="utf-8")
    upload_inspected(migration, consultant, str(listed), table="account", kind=UploadKind.PARTY_NUMBERS)
    job = jobs.job_start(migration=fresh, table="account", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    return job


def test_party_numbers_fo_assigned_show_as_assigned_not_differences(
    client_for, migration, consultant, customized_job
):
    rows = [r for r in output_rows(customized_job) if r["Account Number"]]
    assert rows and not any(r["Party Number"] for r in rows)
    fno = [
        [r["Account Number"], r["Company"].lower(), f"FO-{i:06d}", r["Customer Group Id"], "Organization"]
        for i, r in enumerate(rows)
    ]
    sync.sync_check_create(
        migration=migration,
        kind="reconcile",
        table="account",
        files=[csv_file("c.csv", FNO, fno)],
        actor=consultant,
    )
    check = run_latest()
    assert check.state == JobState.SUCCEEDED, check.message
    assert "party_number" not in {d["column"] for d in check.result["differences"]}
    keys = {r["Account Number"] for r in rows}
    assert check.result["totals"]["assigned"] == len(keys) - check.result["duplicate_keys"]["ours"]
    page = (
        client_for("viewer")
        .get(migration_url("sync_check_detail", migration, check_id=check.id))
        .content.decode()
    )
    assert "Assigned by Finance and Operations" in page and rows[0]["Account Number"] in page
    step = client_for("viewer").get(migration_url("runbook", migration, step="enable-maps")).content.decode()
    assert "where ours is empty, F&amp;O's value counts as assigned, not a difference" in step


def test_error_details_pasted_count_against_the_users_pace(client_for, migration, account_job, settings):
    """Pasted text is stored as a file: it is an upload like any other, not a way round the pace."""
    settings.P2C_UPLOADS_PER_MINUTE = ExportUpload.objects.count() + 1  # the job's export, then one paste
    client = client_for("consultant")
    url = migration_url("sync_upload", migration, kind="triage", table="account")
    client.post(url, {"pasted": VERSION}, follow=True)
    refused = client.post(url, {"pasted": LOCATION}, follow=True).content.decode()
    assert "Wait a minute and upload again" in refused
    assert SyncCheck.objects.filter(migration=migration).count() == 1
