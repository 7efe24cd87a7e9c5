"""Issue 9 in Chromium: pages update in place (typed text survives a finished job or inspection),
phone widths, and the steps' states and the dashboard following what happened."""

import re

import pytest
from playwright.sync_api import Page, expect

from migration.selectors import transformable_tables
from migration.services import job_worker, jobs
from tests.helpers import SAMPLES, upload_inspected

pytestmark = pytest.mark.browser

DONE = 60_000  # ms: a solo worker inspecting or running one table


def note_box(page: Page):
    return page.get_by_role("textbox", name="Note")


def test_typed_text_survives_a_job_finishing_on_step_8(page: Page, live_server, worker, sign_in,
                                                      consultant_on_migration):  # fmt: skip
    consultant, migration = consultant_on_migration
    upload_inspected(migration, consultant, "order.csv")
    sign_in(consultant, f"/migrations/{migration.id}/steps/initialize/")
    page.evaluate("window.stillTheSamePage = true")
    note_box(page).fill("Half typed, while the order job runs")
    row = page.locator('[data-live-row="init-account"]')
    row.get_by_label("Blocked by").fill("Waiting for the re-export")

    jobs.job_start(migration=migration, table="order", actor=consultant)
    job_row = page.locator('tr[data-job-table="order"]')
    expect(job_row.locator('[data-role="state"]')).to_have_text("Succeeded", timeout=DONE)
    # The finished job's links arrived in place: its Results link (in the Order card's job stage,
    # folded once done) and the step's state.
    page.locator("#order-job > summary").click()
    expect(job_row.get_by_role("link", name="Results")).to_be_visible()
    expect(page.get_by_role("navigation", name="Runbook steps")).to_contain_text("In progress")
    expect(note_box(page)).to_have_value("Half typed, while the order job runs")
    expect(row.get_by_label("Blocked by")).to_have_value("Waiting for the re-export")
    assert page.evaluate("window.stillTheSamePage") is True


def test_typed_reason_survives_an_inspection_and_the_save_keeps_the_upload(
    page: Page, live_server, worker, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    sign_in(consultant, f"/migrations/{migration.id}/steps/exports/")
    page.evaluate("window.stillTheSamePage = true")
    products = page.locator('[data-live-row="export-products"]')
    products.get_by_label("Export").select_option(label="Not used")
    products.get_by_label("Why not used").fill("The customer sells services only")

    account = page.locator('[data-slot="export:account"]')
    account.get_by_label(re.compile(r"^Upload Account \(")).set_input_files(SAMPLES / "account.csv")
    account.get_by_role("button", name="Upload", exact=True).click()
    expect(account.locator('[data-role="state"]').first).to_have_text("Ready", timeout=DONE)
    # The upload ticked the account row in place; the typed reason is still there.
    expect(page.locator('[data-live-row="export-account"] legend')).to_contain_text("Done")
    expect(products.get_by_label("Why not used")).to_have_value("The customer sells services only")
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("button", name="Save", exact=True).click()
    waits = "Step 3 waits for a project manager (mia) to sign off step 2"
    expect(page.get_by_text(waits).first).to_be_visible()
    assert migration.items.get(key="export-account").done  # the save did not undo the upload's tick
    assert migration.items.get(key="export-products").done


def test_step_state_and_dashboard_follow_the_jobs(page: Page, live_server, sign_in, consultant_on_migration):
    consultant, migration = consultant_on_migration
    for table in transformable_tables():
        upload_inspected(migration, consultant, f"{table}.csv")
        job_worker.job_run(job_id=jobs.job_start(migration=migration, table=table, actor=consultant).id)
    sign_in(consultant, "/")
    row = page.get_by_role("row", name=re.compile("Contoso cutover"))
    expect(row.get_by_role("link", name="8. Initialize the exported tables")).to_be_visible()
    row.get_by_role("link", name="8. Initialize the exported tables").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("In progress")
    nav = page.get_by_role("navigation", name="Runbook steps")
    expect(nav.get_by_role("link", name=re.compile(r"^8 Initialize"))).to_contain_text("In progress")


def test_a_phone_sees_the_current_step_the_actions_and_a_short_top_bar(
    page: Page, live_server, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    upload_inspected(migration, consultant, "order.csv")
    job_worker.job_run(job_id=jobs.job_start(migration=migration, table="order", actor=consultant).id)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(consultant, f"/migrations/{migration.id}/steps/initialize/")

    current = page.locator(".steps li.current")
    strip = page.locator(".steps ol")
    box, frame = current.bounding_box(), strip.bounding_box()
    assert box["x"] >= frame["x"] - 1 and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1

    bar = page.locator("header.topbar").bounding_box()
    line = page.get_by_role("link", name="P2C Wizard").bounding_box()
    assert bar["height"] < 2.5 * line["height"] + 16, bar

    page.locator("#order-job > summary").click()  # done (a review copy): folded
    wrap = page.get_by_role("region", name="Job of Order (scrolls sideways)")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")  # it scrolls, and shows it
    assert "gradient" in wrap.evaluate("el => getComputedStyle(el).backgroundImage")
    run = page.locator('tr[data-job-table="order"] td.actions')
    action = run.bounding_box()
    assert action["x"] >= 0 and action["x"] + action["width"] <= 390 + 1, action
    # Scrolled down to it (the table itself not scrolled sideways), the row's actions are on screen.
    page.evaluate("y => window.scrollTo(0, window.scrollY + y)", action["y"] - 200)
    assert wrap.evaluate("el => el.scrollLeft") == 0
    expect(run.get_by_role("link", name="Results")).to_be_in_viewport()
