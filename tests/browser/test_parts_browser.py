"""Real-size exports in Chromium: a table in three parts, and the step-2 gate, reason by reason.

A real Celery worker inspects the uploads behind the live server; the page reloads
itself when an inspection or the cross-file check finishes.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from migration.engine.rules import report as engine_report
from migration.services import checklist
from migration.services.migrations import member_add
from tests.browser.helpers import ACCOUNT, CONTACT, a_migration, accounts, part_row, slot, upload, write

pytestmark = pytest.mark.browser

INSPECTED = 60_000  # ms


def test_upload_a_table_as_three_parts_replace_one_and_see_the_totals(
    page: Page, live_server, worker, sign_in, make_user, tmp_path
):
    mia = make_user("mia")
    migration = a_migration(mia)
    sign_in(mia, f"/migrations/{migration.id}/steps/exports/")

    upload(page, "account", "Upload Account", write(tmp_path / "account_1.csv", ACCOUNT, accounts(0, 3)))
    expect(part_row(page, "account", 1).locator('[data-role="state"]')).to_have_text(
        "Ready", timeout=INSPECTED
    )
    upload(
        page, "account", "Add a part to Account", write(tmp_path / "account_2.csv", ACCOUNT, accounts(3, 2))
    )
    expect(part_row(page, "account", 2).locator('[data-role="state"]')).to_have_text(
        "Ready", timeout=INSPECTED
    )
    # The slot is redrawn once the part is inspected: choose the next file only in the redrawn one.
    expect(slot(page, "account").locator('[data-role="total"]')).to_have_text("5 rows", timeout=INSPECTED)
    upload(
        page, "account", "Add a part to Account", write(tmp_path / "account_3.csv", ACCOUNT, accounts(5, 4))
    )
    expect(part_row(page, "account", 3).locator('[data-role="state"]')).to_have_text(
        "Ready", timeout=INSPECTED
    )
    account = slot(page, "account")
    expect(account.locator("tfoot")).to_contain_text("3 parts, total")
    expect(account.locator('[data-role="total"]')).to_have_text("9 rows")

    second = part_row(page, "account", 2)
    second.get_by_label("Replace part 2 of Account").set_input_files(
        str(write(tmp_path / "account_2_again.csv", ACCOUNT, accounts(3, 5)))
    )
    second.get_by_role("button", name="Replace", exact=True).click()
    expect(part_row(page, "account", 2)).to_contain_text("account_2_again.csv", timeout=INSPECTED)
    expect(part_row(page, "account", 2).locator('[data-role="state"]')).to_have_text(
        "Ready", timeout=INSPECTED
    )
    expect(part_row(page, "account", 2).locator('[data-role="rows"]')).to_have_text("5 rows")
    expect(account.locator('[data-role="total"]')).to_have_text("12 rows")
    account.get_by_text("Earlier versions (1)").click()
    expect(account.get_by_role("link", name="account_2.csv, version 2")).to_be_visible()


def test_a_pm_sign_off_is_refused_for_each_reason_and_accepted_once_fixed(
    page: Page, live_server, worker, sign_in, make_user, tmp_path, monkeypatch
):
    # Parts of 2 rows stand for parts of 100,000: same flag, far smaller files.
    monkeypatch.setattr(engine_report, "EXPORT_LIMIT_ROWS", 2)
    mia, carl = make_user("mia"), make_user("carl")
    migration = a_migration(mia)
    member_add(migration=migration, actor=mia, user=carl, role="consultant")
    rows = [
        {"item_id": i.id, "details": {"status": "not_used", "reason": "Not used by this customer"}}
        for i in migration.items.filter(step=2).exclude(key__in=["export-account", "export-contact"])
    ]
    checklist.step_save(migration=migration, step=2, actor=mia, rows=rows)
    sign_in(mia, f"/migrations/{migration.id}/steps/exports/")
    gate = page.get_by_role("region", name="Before step 2 can be signed off")

    def refused(*fragments):
        page.get_by_role("button", name="Sign off step 2").click()
        expect(page.get_by_text(re.compile(r"Step 2 cannot be signed off yet: \d+ reason"))).to_be_visible()
        for fragment in fragments:
            expect(gate.get_by_role("link", name=re.compile(re.escape(fragment)))).to_be_visible()

    refused("Account has no export", "Contact has no export")

    # The same account number twice (a cross-file error), in a part of exactly the limit.
    upload(
        page, "account", "Upload Account", write(tmp_path / "account.csv", ACCOUNT, accounts(0, 2, "ACC-1"))
    )
    upload(
        page, "contact", "Upload Contact", write(tmp_path / "contact.csv", CONTACT[:3], [["c1", "Ann", "X"]])
    )
    expect(part_row(page, "contact", 1).locator('[data-role="state"]')).to_have_text(
        "Problems found", timeout=INSPECTED
    )
    expect(part_row(page, "account", 1).locator('[data-role="state"]')).to_have_text(
        re.compile("Ready|Problems found"), timeout=INSPECTED
    )
    refused(
        "probably cut off at Sales' export limit",
        "lacks the P2C column(s) Contact Number, Is Active Customer",
    )

    # Fix the contact export, confirm the account count.
    contact = part_row(page, "contact", 1)
    contact.get_by_label("Replace part 1 of Contact").set_input_files(
        str(write(tmp_path / "contact_full.csv", CONTACT, [["c1", "Ann", "Account 0", "CON-1", "Yes"]]))
    )
    contact.get_by_role("button", name="Replace", exact=True).click()
    expect(part_row(page, "contact", 1).locator('[data-role="state"]')).to_have_text(
        "Ready", timeout=INSPECTED
    )
    part_row(page, "account", 1).get_by_label("Why the count of account.csv is real").fill(
        "Sales shows 2 accounts"
    )
    part_row(page, "account", 1).get_by_role("button", name="Confirm the count").click()
    expect(page.get_by_text("Confirmed the 100,000 rows of account.csv.")).to_be_visible()

    # The cross-file check (tables in use only) finds the duplicate number: acknowledged with a reason.
    check = page.locator("#cross-check")
    expect(check.locator("li.finding-error")).to_contain_text(
        "appear more than once within a company", timeout=INSPECTED
    )
    refused("Cross-file check error not acknowledged")
    check.get_by_label("Why this error can be accepted").first.fill("Finance and Operations merges them")
    check.get_by_role("button", name="Acknowledge").first.click()
    expect(page.get_by_text("Cross-file check error acknowledged.")).to_be_visible()
    expect(gate).to_have_count(0)

    page.get_by_role("button", name="Sign off step 2").click()
    expect(page.get_by_text("Step 2 signed off.")).to_be_visible()
