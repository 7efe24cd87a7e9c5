"""Browser test: a re-export through fill in place, the import pack download and verification."""

import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from migration.models import UploadKind
from tests.helpers import upload_inspected

pytestmark = pytest.mark.browser

REEXPORT = Path(__file__).resolve().parents[1] / "samples" / "reexport" / "order.xlsx"
DONE = 60_000  # ms: one solo worker inspects, fills and verifies


def test_a_reexport_is_filled_packed_and_verified(
    page: Page, live_server, worker, sign_in, consultant_on_migration, tmp_path
):
    consultant, migration = consultant_on_migration
    upload_inspected(migration, consultant, "order.xlsx")  # the step-2 export
    sign_in(consultant, f"/migrations/{migration.id}/steps/initialize/")
    route = page.locator("#import-order")
    expect(route.locator('[data-role="view-columns"]')).to_contain_text("Sales Order Number")

    reexport = page.locator('[data-slot="reexport:order"]')
    reexport.get_by_label(re.compile(r"^Upload Order re-export \(")).set_input_files(REEXPORT)
    reexport.get_by_role("button", name="Upload", exact=True).click()
    expect(reexport.locator('[data-role="state"]')).to_have_text("Ready", timeout=DONE)
    expect(page.locator("#import-order [data-role='reexport-age']")).to_contain_text("newest Modified On")

    page.get_by_role("button", name="Run Order", exact=True).click()
    expect(page.locator('tr[data-job-table="order"] [data-role="state"]')).to_have_text(
        "Succeeded", timeout=DONE
    )
    expect(route.locator('[data-role="import-files"]')).to_contain_text("_order_")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the import pack (zip)").click()
    download = download_info.value
    assert re.fullmatch(r"contoso-cutover_import-pack_\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert [f["table"] for f in manifest["files"]] == ["order"]
        imported = tmp_path / manifest["files"][0]["file"]
        imported.write_bytes(archive.read(f"5_order/{imported.name}"))
        assert "MANIFEST.txt" in archive.namelist()
    expect(page.get_by_text(re.compile(r"Order: .*_import\.xlsx imported"))).to_be_visible()

    # What Sales exports after a clean import holds exactly what the import file holds.
    check = page.locator('[data-slot="verification:order"]')
    check.get_by_label(re.compile(r"^Upload Order verification export \(")).set_input_files(imported)
    check.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator('tr[data-verify-table="order"]')
    expect(row.locator('[data-role="verify-state"]')).to_have_text("Verified", timeout=DONE)
    expect(row).to_contain_text("285 match")
    # The verification ticks the table's checklist row in the same commit, and the page, drawn
    # from one moment of the database, shows both.
    expect(page.locator("#item-init-order .badge.state-done")).to_have_text("Done")
    assert migration.uploads.filter(kind=UploadKind.VERIFICATION).count() == 1
