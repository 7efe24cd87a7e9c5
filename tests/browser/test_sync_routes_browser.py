"""Browser test (issue 20's second stop): Order in two parts, initialized through a re-export in two
parts, verified at step 8, then reconciled and triaged at step 9 against the import files, with a
real Celery worker."""

import re

import pytest
from playwright.sync_api import Page, expect

from migration.models import UploadKind
from tests.browser.helpers import write_csv
from tests.helpers import thread_worker
from tests.helpers_sync import ERROR, ORDER_FNO, after_import, meant_rows, order_job

pytestmark = pytest.mark.browser

DONE = 60_000  # ms: one solo worker inspects, verifies, reconciles and triages


@pytest.fixture
def order_imported(consultant_on_migration, tmp_path, transactional_db):
    """Order's step-2 export in two parts, its re-export in two parts, the job that filled them."""
    consultant, migration = consultant_on_migration
    (tmp_path / "in").mkdir()
    job = order_job(migration, consultant, tmp_path / "in", reexport=True)
    assert len(job.summary["import_files"]) == 2
    return consultant, migration, job


def test_order_in_parts_through_the_reexport_route_reconciles_and_triages_against_its_import_files(
    page: Page, live_server, sign_in, order_imported, tmp_path
):
    consultant, migration, job = order_imported
    rows = meant_rows(job)
    exported = after_import(job, tmp_path, 120)  # what Sales holds after the import, in two parts
    fno = write_csv(
        tmp_path / "SalesOrderHeadersV2.csv",
        ORDER_FNO,
        [[r["Sales Order Number"], str(r["Company"]).lower(), r["Language"] or "", ""] for r in rows[1:]],
    )
    errors = write_csv(tmp_path / "errors.csv", ["Key", "Message"], [[rows[0]["Sales Order Number"], ERROR]])
    with thread_worker():
        sign_in(consultant, f"/migrations/{migration.id}/steps/initialize/")
        check = page.locator('[data-slot="verification:order"]')
        check.get_by_label(re.compile(r"^Upload Order verification export \(")).set_input_files(exported[0])
        check.get_by_role("button", name="Upload", exact=True).click()
        more = page.locator('[data-slot="verification:order"]')
        more.get_by_label(re.compile(r"^Add a part to Order verification export \(")).set_input_files(
            exported[1]
        )
        more.get_by_role("button", name="Upload", exact=True).click()
        row = page.locator('tr[data-verify-table="order"]')
        expect(row.locator('[data-role="verify-state"]')).to_have_text("Verified", timeout=DONE)
        expect(row).to_contain_text("300 match")
        assert migration.uploads.filter(kind=UploadKind.VERIFICATION).count() == 2

        page.goto(f"{live_server.url}/migrations/{migration.id}/steps/enable-maps/")
        order = page.locator("#sync-order")
        order.get_by_label(re.compile(r"^F&O export of Sales order headers V2")).set_input_files(fno)
        order.get_by_role("button", name="Reconcile Sales order headers V2").click()
        slot = page.locator('[data-sync-slot="order:0"]')
        expect(slot.locator('[data-role="state"]')).to_have_text("Succeeded", timeout=DONE)
        expect(slot).to_contain_text("expected 300, arrived 299, missing 1, unexpected 0")
        compared = slot.locator('[data-role="compared-files"]')
        expect(compared).to_contain_text(f"_import1.xlsx (import file of job #{job.id})")
        expect(compared).to_contain_text(f"_import2.xlsx (import file of job #{job.id})")

        errors_slot = page.locator('[data-sync-slot="order:errors"]')
        errors_slot.get_by_label("Initial-sync errors of Order").set_input_files(errors)
        errors_slot.get_by_role("button", name="Triage Order errors").click()
        errors_slot = page.locator('[data-sync-slot="order:errors"]')
        expect(errors_slot.locator('[data-role="state"]')).to_have_text("Succeeded", timeout=DONE)
        expect(errors_slot).to_contain_text("1 error(s) in 1 cause(s); 1 tied to our output")
        expect(errors_slot.locator('[data-role="compared-files"]')).to_contain_text("_import1.xlsx")
