"""Step 9 after initial sync: reconciliation and error triage through the services and the pages.

The task bodies are called directly (the browser test runs them through a real worker).
"""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from migration.models import ExportUpload, JobState, SyncCheck, UploadKind
from migration.services import job_worker, jobs, sync

from .helpers import migration_url, step_9_open, upload_inspected
from .helpers_sync import FNO, LOOKUP, csv_file, output_rows

pytestmark = pytest.mark.django_db


def reconcile(migration, actor, *files, more_parts=False) -> SyncCheck:
    check = sync.sync_check_create(
        migration=migration,
        kind="reconcile",
        table="account",
        files=list(files),
        actor=actor,
        more_parts=more_parts,
    )
    sync.sync_check_run(check_id=check.id)
    check.refresh_from_db()
    return check


def test_it_reconciles_parts_of_an_fno_export_with_the_step8_output(migration, consultant, planted):
    check = reconcile(
        migration,
        consultant,
        csv_file("customers_1.csv", FNO, planted["part1"]),
        csv_file("customers_2.csv", [h.lower() for h in FNO], planted["part2"]),
    )
    assert check.state == JobState.SUCCEEDED, check.message
    assert check.ok is False and check.entity == "Customers V3 (accounts)"
    r = check.result
    assert (
        sorted(row["key"] for row in r["missing"] if row["key"] in planted["missing"]) == planted["missing"]
    )
    assert [row["key"] for row in r["unexpected"]] == ["NOT-OURS-1"]
    assert r["unexpected"][0]["file"] == "customers_2.csv (version 2)"
    assert [(d["key"], d["column"], d["found"]) for d in r["differences"]] == [
        (planted["differing"], "customer_group", "99")
    ]
    usmf = next(c for c in r["companies"] if c["company"] == "USMF")
    assert usmf["unexpected"] == 1 and usmf["differing"] == 1 and usmf["missing"] >= 2
    assert usmf["arrived"] == usmf["expected"] - usmf["missing"]
    assert r["ours"]["by_company"]["USMF"] == r["ours"]["rows"]


def test_it_stores_the_lists_with_their_hashes_and_the_missing_rows_in_our_shape(
    migration, consultant, planted, account_job, client_for
):
    check = reconcile(
        migration, consultant, csv_file("customers.csv", FNO, planted["part1"] + planted["part2"])
    )
    assert set(check.files) == {"missing_rows", "missing", "unexpected", "differences", "assigned"}
    assert all(len(f["sha256"]) == 64 for f in check.files.values())
    client = client_for("viewer")
    response = client.get(
        migration_url("sync_check_download", migration, check_id=check.id, what="missing_rows")
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == list(output_rows(account_job)[0])  # our output's headers, in its order
    assert set(planted["missing"]) <= {row[rows[0].index("Account Number")] for row in rows[1:]}
    assert check.files["missing_rows"]["rows"] == len(rows) - 1


def test_it_checks_again_with_more_parts_of_the_same_export(migration, consultant, planted):
    first = reconcile(migration, consultant, csv_file("p1.csv", FNO, planted["part1"]))
    second = reconcile(migration, consultant, csv_file("p2.csv", FNO, planted["part2"]), more_parts=True)
    assert first.uploads.count() == 1 and second.uploads.count() == 2
    assert second.result["totals"]["missing"] < first.result["totals"]["missing"]
    assert [u.kind for u in second.uploads.all()] == [UploadKind.FNO_EXPORT] * 2


def test_it_needs_the_step8_output_before_reconciling(migration, consultant):
    step_9_open(migration)
    with pytest.raises(sync.SyncError, match="Run the Account job at step 8 first"):
        sync.sync_check_create(
            migration=migration,
            kind="reconcile",
            table="account",
            files=[csv_file("f.csv", FNO, [])],
            actor=consultant,
        )
    assert not ExportUpload.objects.filter(kind=UploadKind.FNO_EXPORT).exists()


def test_step_9_takes_no_file_before_step_8s_sign_off(client_for, migration, consultant):
    """Step 9 opens like step 3: its uploads wait for step 8's sign-off (or an early opening)."""
    upload_inspected(migration, consultant, "account.csv")
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    job_worker.job_run(job_id=job.id)
    with pytest.raises(sync.SyncError, match="Step 9 opens once a project manager signs off step 8"):
        sync.sync_check_create(
            migration=migration,
            kind="triage",
            table="account",
            files=[csv_file("e.csv", ["Message"], [])],
            actor=consultant,
        )
    client = client_for("consultant")
    page = client.get(reverse("runbook", args=[migration.id, "enable-maps"])).content.decode()
    assert "Triage Account errors" not in page and "Reconcile Customers" not in page
    assert "This step is locked" in page
    step_9_open(migration)
    page = client.get(reverse("runbook", args=[migration.id, "enable-maps"])).content.decode()
    assert "Triage Account errors" in page and "Reconcile Customers" in page


def test_it_refuses_a_file_that_is_not_an_export(migration, consultant, account_job):
    fake = SimpleUploadedFile("export.xlsx", b"not a workbook at all")
    with pytest.raises(sync.SyncError, match="not an Excel workbook"):
        sync.sync_check_create(
            migration=migration, kind="reconcile", table="account", files=[fake], actor=consultant
        )


def test_it_refuses_an_export_without_the_entitys_key_at_upload_keeping_nothing(
    migration, consultant, account_job
):
    with pytest.raises(
        sync.SyncError, match=r"wrong.csv: 'wrong.csv' has no key column \(accepted: 'CUSTOMERACCOUNT'\)"
    ):
        reconcile(migration, consultant, csv_file("wrong.csv", ["NAME", "CITY"], [["a", "b"]]))
    assert (
        not SyncCheck.objects.exists()
        and not ExportUpload.objects.filter(kind=UploadKind.FNO_EXPORT).exists()
    )


def test_it_runs_a_check_once_even_when_its_message_comes_twice(migration, consultant, planted):
    check = reconcile(migration, consultant, csv_file("c.csv", FNO, planted["part1"]))
    finished = check.finished_at
    sync.sync_check_run(check_id=check.id)
    check.refresh_from_db()
    assert check.finished_at == finished


def test_it_triages_errors_by_cause_and_company_and_ties_them_to_our_rows(migration, consultant, account_job):
    key = next(r["Account Number"] for r in output_rows(account_job) if r["Account Number"])
    errors = csv_file(
        "errors.csv",
        ["Record key", "Error message", "Company"],
        [[key, LOOKUP, "usmf"], ["ZZ-1", "Something nobody has seen before", "DEMF"]],
    )
    check = sync.sync_check_create(
        migration=migration, kind="triage", table="account", files=[errors], actor=consultant
    )
    sync.sync_check_run(check_id=check.id)
    check.refresh_from_db()
    assert check.state == JobState.SUCCEEDED, check.message
    causes = {c["cause"]: c for c in check.result["causes"]}
    assert set(causes) == {"lookup_not_found", "unknown"}
    assert causes["lookup_not_found"]["link"].startswith("https://learn.microsoft.com/")
    assert {(c["cause"], c["company"], c["errors"]) for c in check.result["counts"]} == {
        ("lookup_not_found", "USMF", 1),
        ("unknown", "DEMF", 1),
    }
    tied = next(e for e in check.result["errors"] if e["key"] == key)
    assert tied["our_row"] and tied["our_file"].endswith(f"(output of job #{account_job.id})")
    assert check.files["errors"]["rows"] == 2


def test_the_step9_page_shows_each_entity_and_the_latest_results(migration, consultant, planted, client_for):
    reconcile(migration, consultant, csv_file("customers.csv", FNO, planted["part1"] + planted["part2"]))
    page = client_for("consultant").get(reverse("runbook", args=[migration.id, "enable-maps"]))
    html = page.content.decode()
    for entity in ("Customers V3 (accounts)", "Customers V3 (contacts)", "Contact persons (CDS Contacts V2)"):
        assert entity in html
    assert "Reconciliation #" in html and "Missing in F&amp;O" in html
    assert 'src="/static/js/sync.js"' in html


def test_the_upload_view_queues_a_check_and_viewers_cannot_upload(migration, planted, client_for):
    url = migration_url("sync_upload", migration, kind="reconcile", table="account")

    def files():
        return {"file": [csv_file("a.csv", FNO, planted["part1"]), csv_file("b.csv", FNO, planted["part2"])]}

    assert client_for("viewer").post(url, files()).status_code == 403
    client = client_for("consultant")
    response = client.post(url, {**files(), "entity": "Customers V3 (accounts)"})
    assert response.status_code == 302 and response.url.endswith("#sync-account")
    check = SyncCheck.objects.get()
    assert check.state == JobState.QUEUED and check.uploads.count() == 2


def test_the_detail_page_lists_the_differences_for_members_only(migration, consultant, planted, client_for):
    check = reconcile(migration, consultant, csv_file("c.csv", FNO, planted["part1"] + planted["part2"]))
    url = migration_url("sync_check_detail", migration, check_id=check.id)
    assert client_for("outsider").get(url).status_code == 404
    html = client_for("viewer").get(url).content.decode()
    assert planted["differing"] in html and "NOT-OURS-1" in html


def test_the_sweep_fails_a_check_whose_worker_died(migration, consultant, planted, settings):
    from datetime import timedelta

    from django.utils import timezone

    check = sync.sync_check_create(
        migration=migration,
        kind="reconcile",
        table="account",
        files=[csv_file("c.csv", FNO, [])],
        actor=consultant,
    )
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    SyncCheck.objects.filter(id=check.id).update(state=JobState.RUNNING, started_at=long_ago)
    assert sync.sync_checks_sweep_stale() == 1
    check.refresh_from_db()
    assert check.state == JobState.FAILED
