"""Step 2 uploads and step 8 jobs in Chromium, with a real Celery worker behind the live server.

The page reloads itself whenever an inspection or a job finishes, so every wait
here is an `expect` on a locator, which Playwright re-resolves after a reload.
"""

import csv
import io
import re
import zipfile
from collections import defaultdict

import pytest
from playwright.sync_api import Page, expect

from migration import runbook
from migration.models import ExportUpload
from migration.selectors import transformable_tables
from tests.helpers import SAMPLES, thread_worker

pytestmark = pytest.mark.browser

# A mix of both formats Sales exports.
XLSX_TABLES = {"contact", "order_products", "invoice", "quote"}
INSPECTED = 60_000  # ms: nine inspections by one solo worker
JOBS_DONE = 60_000  # ms: six jobs, each written as CSV and xlsx


def slot(page: Page, table: str, kind: str = "export"):
    return page.locator(f'[data-slot="{kind}:{table}"]')


def state_of(container):
    return container.locator('[data-role="state"]')


def file_input(container, label: str):
    """A slot's file input, by its label: "Upload Account (...)" or "Upload a new version of ..."."""
    return container.get_by_label(re.compile(rf"^Upload {re.escape(label)} \("))


def send(container) -> None:
    container.get_by_role("button", name="Upload", exact=True).click()


def sample(table: str):
    return SAMPLES / f"{table}.{'xlsx' if table in XLSX_TABLES else 'csv'}"


def csv_rows(path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def upload_every_export(page: Page) -> None:
    # Choose every file first, then send them: the page defers its reload while
    # a file waits to be sent or is on its way, so none of them is lost.
    for table, label in runbook.EXPORT_TABLES:
        file_input(slot(page, table), label).set_input_files(sample(table))
    for table, _label in runbook.EXPORT_TABLES:
        send(slot(page, table))


def results_by_table(archive: zipfile.ZipFile) -> dict[str, set[str]]:
    name = re.compile(
        r"^contoso-cutover_(?P<table>[a-z_]+)_\d{4}-\d{2}-\d{2}"
        r"(?P<kind>_review-copy\.csv|_review-copy\.xlsx|_report\.json|_issue-list\.csv|_issues\.(?:csv|xlsx))$"
    )
    found: dict[str, set[str]] = defaultdict(set)
    for entry in archive.namelist():
        match = name.match(entry)
        assert match, f"unexpected file in the zip: {entry}"
        kind = match["kind"]
        found[match["table"]].add("issues" if kind.startswith("_issues") else kind)
    return found


def test_upload_the_exports_run_all_jobs_and_download_the_zip(
    page: Page, live_server, worker, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    sign_in(consultant, f"/migrations/{migration.id}/steps/exports/")
    expect(page.get_by_role("heading", level=2, name="Upload the exports")).to_be_visible()

    upload_every_export(page)
    for table, _label in runbook.EXPORT_TABLES:
        expect(state_of(slot(page, table))).to_have_text("Ready", timeout=INSPECTED)
    expect(slot(page, "account").locator('[data-role="rows"]')).to_have_text(
        f"{csv_rows(sample('account'))} rows"
    )
    expect(slot(page, "order_products")).to_contain_text("order_products.xlsx")

    page.goto(f"{live_server.url}/migrations/{migration.id}/steps/initialize/")
    page.get_by_role("button", name="Run all jobs").click()
    expect(page.get_by_text("Queued 6 job(s).")).to_be_visible()
    tables = transformable_tables()
    assert len(tables) == 6
    for table in tables:
        row = page.locator(f'tr[data-job-table="{table}"]')
        expect(state_of(row)).to_have_text("Succeeded", timeout=JOBS_DONE)
    for table in tables:  # each job done (a review copy; no re-export yet): folded in its card
        stage = page.locator(f"#{table}-job")
        # Wait for the live redraw that folds it (while the job ran it was the next action, open):
        # a click before that would close it.
        expect(stage).not_to_have_attribute("open", "")
        stage.locator("> summary").click()
        row = page.locator(f'tr[data-job-table="{table}"]')
        expect(row.get_by_role("progressbar")).to_have_js_property("value", 100)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all results and review copies (zip)").click()
    download = download_info.value
    assert re.fullmatch(r"contoso-cutover_initialized_\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as archive:
        found = results_by_table(archive)
        assert set(found) == set(tables)
        for table in tables:
            # A whole-table xlsx review copy only of a workbook export (a CSV's only on request).
            xlsx = {"_review-copy.xlsx"} if table in XLSX_TABLES else set()
            expected = {"_review-copy.csv", "_report.json", "_issue-list.csv", "issues"} | xlsx
            assert found[table] == expected, table
        account_csv = next(
            n for n in archive.namelist() if re.search(r"_account_[\d-]+_review-copy\.csv$", n)
        )
        header = next(csv.reader(io.TextIOWrapper(archive.open(account_csv), encoding="utf-8-sig")))
    assert "Company" in header


def test_a_finished_inspection_keeps_a_file_chosen_in_another_slot(
    page: Page, live_server, transactional_db, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    sign_in(consultant, f"/migrations/{migration.id}/steps/exports/")
    account, contact = slot(page, "account"), slot(page, "contact")
    file_input(account, "Account").set_input_files(SAMPLES / "account.csv")
    send(account)
    expect(state_of(account)).to_have_text("Queued")
    file_input(contact, "Contact").set_input_files(SAMPLES / "contact.csv")

    with thread_worker():
        # The page sees the inspection finish but must not reload yet: it would drop the chosen file.
        expect(state_of(account)).to_have_text("Ready", timeout=INSPECTED)
        send(contact)
        expect(state_of(contact)).to_have_text("Ready", timeout=INSPECTED)
    expect(contact.locator('[data-role="rows"]')).to_have_text(f"{csv_rows(SAMPLES / 'contact.csv')} rows")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


def test_a_file_that_is_not_an_export_is_refused_in_its_slot(
    page: Page, live_server, sign_in, consultant_on_migration, media_root
):
    consultant, migration = consultant_on_migration
    sign_in(consultant, f"/migrations/{migration.id}/steps/exports/")
    # Survives only if the page is not reloaded.
    page.evaluate("window.stillTheSamePage = true")

    account = slot(page, "account")
    png = {"name": "account.csv", "mimeType": "text/csv", "buffer": PNG}
    file_input(account, "Account").set_input_files(png)
    send(account)
    expect(account.get_by_role("alert")).to_have_text(
        re.compile(r"^account\.csv is named \.csv but holds a binary file")
    )

    contact = slot(page, "contact")
    text = {"name": "contact.xlsx", "mimeType": "application/octet-stream", "buffer": b"Full Name\r\nAda\r\n"}
    file_input(contact, "Contact").set_input_files(text)
    send(contact)
    expect(contact.get_by_role("alert")).to_have_text(
        re.compile(r"^contact\.xlsx is named \.xlsx but is not an Excel workbook")
    )

    expect(state_of(account)).to_have_text("Empty")
    expect(state_of(contact)).to_have_text("Empty")
    assert page.evaluate("window.stillTheSamePage") is True
    assert not ExportUpload.objects.filter(migration=migration).exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []
