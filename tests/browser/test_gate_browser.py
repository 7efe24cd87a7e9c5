"""Issue 20, stop 1: the last tables marked "not used" make the cross-file check run by itself.

A real Celery worker inspects the uploads and runs the check behind the live server (run it on
PostgreSQL + Redis too: DATABASE_URL and REDIS_URL). No file is uploaded twice.
"""

import pytest
from playwright.sync_api import Page, expect

from migration.models import ExportUpload
from migration.services import checklist
from migration.services.migrations import member_add
from tests.browser.helpers import (
    ACCOUNT,
    CONTACT,
    a_migration,
    accounts,
    part_row,
    upload,
    write,
)

pytestmark = pytest.mark.browser

DONE = 60_000  # ms: an inspection or the check, by the worker


@pytest.mark.usefixtures("worker")
def test_marking_the_last_tables_not_used_runs_the_check_and_sign_off_is_accepted(
    page: Page, live_server, sign_in, make_user, tmp_path
):
    mia, carl = make_user("mia"), make_user("carl")
    migration = a_migration(mia)
    member_add(migration=migration, actor=mia, user=carl, role="consultant")
    # Seven tables exported or not used already; quote and invoice are the last two to decide.
    last = ["export-quote", "export-invoice"]
    rows = [
        {"item_id": i.id, "details": {"status": "not_used", "reason": "Not used by this customer"}}
        for i in migration.items.filter(step=2).exclude(key__in=["export-account", "export-contact", *last])
    ]
    checklist.step_save(migration=migration, step=2, actor=mia, rows=rows)

    sign_in(carl, f"/migrations/{migration.id}/steps/exports/")
    upload(page, "account", "Upload Account", write(tmp_path / "account.csv", ACCOUNT, accounts(0, 3)))
    expect(part_row(page, "account", 1).locator('[data-role="state"]')).to_have_text("Ready", timeout=DONE)
    upload(
        page,
        "contact",
        "Upload Contact",
        write(tmp_path / "contact.csv", CONTACT, [["c1", "Ann", "Account 0", "CON-1", "Yes"]]),
    )
    expect(part_row(page, "contact", 1).locator('[data-role="state"]')).to_have_text("Ready", timeout=DONE)
    check = page.locator("#cross-check")
    expect(check.locator('[data-role="check-waits"]')).to_contain_text("Quote has no export")

    for key in last:
        row = page.locator(f"#item-{key}")
        row.get_by_label("Export").select_option("not_used")
        row.get_by_label("Why not used").fill("The customer never quotes or invoices in Sales")
    # Step 3 waits for the sign-off, so the button only saves.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#item-export-invoice .badge")).to_have_text("Done")
    expect(page.locator("#cross-check [data-role='check-state']")).to_have_text("Ready", timeout=DONE)
    page.get_by_role("button", name="Sign out (carl)").click()

    sign_in(mia, f"/migrations/{migration.id}/steps/exports/")
    page.get_by_role("button", name="Sign off step 2").click()
    expect(page.get_by_text("Step 2 signed off.")).to_be_visible()
    assert ExportUpload.objects.filter(migration=migration).count() == 2  # nothing uploaded again
