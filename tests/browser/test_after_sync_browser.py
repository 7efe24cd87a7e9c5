"""Step 9 in Chromium with a real Celery worker: an F&O export (two parts) and an initial sync's
errors are uploaded, reconciled and triaged; then the evidence pack is opened and its workbook
downloaded."""

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from migration.models import JobState
from migration.pack.workbook import SHEETS
from migration.services import job_worker, jobs
from tests.browser.helpers import write_csv
from tests.helpers import step_9_open, thread_worker, upload_inspected
from tests.helpers_sync import FNO, LOOKUP, output_rows

pytestmark = pytest.mark.browser

CHECKED = 60_000  # ms: one solo worker reads both parts and our output


@pytest.fixture
def synced(consultant_on_migration, tmp_path, transactional_db):
    """A finished account job, and what F&O holds after the sync: all but one account, in two parts."""
    consultant, migration = consultant_on_migration
    step_9_open(migration)
    upload_inspected(migration, consultant, "account.csv")
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    everything = output_rows(job)
    rows = [r for r in everything if r["Account Number"]]
    # Rows without an Account Number can never arrive; one more account did not.
    missing = len(everything) - len(rows) + 1
    fno = [
        [r["Account Number"], "usmf", r["Party Number"], r["Customer Group Id"], "Organization"]
        for r in rows[1:]
    ]
    parts = [
        write_csv(tmp_path / "CustomersV3_part1.csv", FNO, fno[:100]),
        write_csv(tmp_path / "CustomersV3_part2.csv", FNO, fno[100:]),
    ]
    errors = write_csv(
        tmp_path / "initial-sync-errors.csv",
        ["Record key", "Error message", "Company"],
        [[rows[0]["Account Number"], LOOKUP, "USMF"], ["ZZ-9", "A message nobody has seen", "USMF"]],
    )
    return consultant, migration, parts, errors, missing


def test_it_reconciles_triages_and_downloads_the_evidence_pack(
    page: Page, sign_in, live_server, synced, tmp_path
):
    consultant, migration, parts, errors, missing = synced
    with thread_worker():
        sign_in(consultant, f"/migrations/{migration.id}/steps/enable-maps/")
        account = page.locator("#sync-account")
        account.get_by_label(re.compile(r"^F&O export of Customers V3 \(accounts\)")).set_input_files(parts)
        account.get_by_role("button", name="Reconcile Customers V3 (accounts)").click()
        expect(page.get_by_role("status").first).to_contain_text("Uploaded 2 file(s) for Account")

        # The page shows itself anew when the worker has finished.
        slot = page.locator('[data-sync-slot="account:0"]')
        expect(slot.locator('[data-role="state"]')).to_have_text("Succeeded", timeout=CHECKED)
        expect(slot.get_by_role("row", name=re.compile("^USMF"))).to_contain_text(str(missing))
        expect(slot).to_contain_text(f"missing {missing}, unexpected 0, differing 0")

        errors_slot = page.locator('[data-sync-slot="account:errors"]')
        errors_slot.get_by_label("Initial-sync errors of Account").set_input_files(errors)
        errors_slot.get_by_role("button", name="Triage Account errors").click()
        errors_slot = page.locator('[data-sync-slot="account:errors"]')
        expect(errors_slot.locator('[data-role="state"]')).to_have_text("Succeeded", timeout=CHECKED)
        expect(errors_slot).to_contain_text("A lookup not found")
        expect(errors_slot).to_contain_text("Not documented by Microsoft")

    page.get_by_role("link", name="Go-live evidence pack").first.click()
    expect(page.get_by_role("heading", name=f"Go-live evidence pack: {migration.name}")).to_be_visible()
    expect(page.get_by_role("img", name="Rows per table and company through the stages")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the workbook (.xlsx)").click()
    download = download_info.value
    assert re.fullmatch(r"contoso-cutover_evidence-pack_[\d_-]+\.xlsx", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    wb = load_workbook(path)
    assert wb.sheetnames == list(SHEETS)
    recon = next(wb["Reconciliation"].iter_rows(min_row=2, max_row=2, values_only=True))
    assert recon[1:4] == ("account", "Customers V3 (accounts)", "USMF") and recon[6] == missing
