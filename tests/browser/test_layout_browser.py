"""Page structure as a team meets it (issue 20): steps 8 and 9 as one card per table at a laptop's
1366 px and a phone's 390 px, a refused save, and where a save returns to.

With P2C_SCREENSHOTS=<folder> (`make screenshots`) the step 8 and 9 tests also save the README's
full-page screenshots there."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from migration.services import checklist
from tests.browser.demo import finish_step8, sync_accounts
from tests.helpers import SAMPLES, upload_inspected

pytestmark = pytest.mark.browser

LAPTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
ROUTE = ["Step-2 export", "Re-export", "Job", "Import files", "Verification", "Reconciliation and triage"]


@pytest.fixture
def finished(consultant_on_migration, tmp_path):
    """Six tables through step 8's import route; the account reconciled and triaged at step 9."""
    consultant, migration = consultant_on_migration
    finish_step8(migration, consultant, tmp_path)
    sync_accounts(migration, consultant, tmp_path)
    return consultant, migration


def step(migration, slug: str) -> str:
    return f"/migrations/{migration.id}/steps/{slug}/"


def height(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def screenshot(page: Page, name: str, screens: int | None = None) -> None:
    """The whole page, or its first `screens` screens (step 9's six reconciliation cards are long)."""
    if folder := os.environ.get("P2C_SCREENSHOTS"):
        view = page.viewport_size
        clip = (
            {"x": 0, "y": 0, "width": view["width"], "height": screens * view["height"]} if screens else None
        )
        page.screenshot(path=Path(folder) / f"{name}.png", full_page=True, clip=clip)


def inside(box: dict, frame: dict) -> bool:
    return box["x"] >= frame["x"] - 1 and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1


def test_step_8_with_six_tables_finished_fits_in_about_three_screens(page: Page, sign_in, finished):
    consultant, migration = finished
    page.set_viewport_size(LAPTOP)
    sign_in(consultant, step(migration, "initialize"))
    cards = page.locator("article.table-route")
    expect(cards).to_have_count(6)
    for card in cards.all():
        # Each finished table is its route on one folded line, every step-8 stage ticked.
        route = card.locator("details.stages-fold > summary")
        expect(route).to_contain_text(
            "Step-2 export ✓ → Re-export ✓ → Job ✓ → Import files ✓ → Verification ✓"
        )
        expect(card.locator("details.stage[open]")).to_have_count(0)
    expect(page.locator("#import-contact .next-action")).to_contain_text("Next, at step 9")
    expect(page.get_by_text("12 finished items")).to_be_visible()  # the checklist, folded
    assert height(page) <= 3.5 * LAPTOP["height"], height(page)  # it was 15,499 px
    screenshot(page, "step8-1366")
    page.set_viewport_size(PHONE)
    page.reload()
    assert width(page) <= PHONE["width"]
    screenshot(page, "step8-390")


def test_a_table_card_carries_its_route_and_opens_its_next_stage(
    page: Page, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    upload_inspected(migration, consultant, "order.csv")
    page.set_viewport_size(LAPTOP)
    sign_in(consultant, step(migration, "initialize"))
    card = page.locator("#import-order")
    expect(card.locator(".stage > summary strong")).to_have_text(ROUTE)  # left to right
    expect(card.locator(".next-action")).to_contain_text("Next: Re-export")
    expect(card.get_by_label(re.compile(r"^Upload Order re-export \("))).to_be_visible()
    # The step-2 export is done: folded, and saying what it holds.
    export = card.locator("#order-export")
    expect(export.locator("summary")).to_contain_text("1 part, 300 rows")
    assert export.evaluate("el => el.open") is False
    expect(card.get_by_role("button", name="Run Order", exact=True)).to_be_hidden()  # after the re-export


def test_a_stage_the_user_unfolded_stays_open_when_another_part_redraws(
    page: Page, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    upload_inspected(migration, consultant, "order.csv")
    sign_in(consultant, step(migration, "initialize"))
    page.locator("#order-export > summary").click()
    item = migration.items.get(key="init-account")
    checklist.item_update(item=item, actor=consultant, details={}, blocker="Waiting for the re-export")
    assert page.evaluate("P2CLive.refresh()") is True
    expect(page.locator('[data-live-row="init-account"] legend')).to_contain_text("Blocked")
    assert page.locator("#order-export").evaluate("el => el.open") is True


def test_step_9_leads_with_its_map_checklist_and_each_card_shows_its_route(page: Page, sign_in, finished):
    consultant, migration = finished
    page.set_viewport_size(LAPTOP)
    sign_in(consultant, step(migration, "enable-maps"))
    checklist_box = page.get_by_role("heading", name="Checklist", exact=True).bounding_box()
    sync_box = page.get_by_role("heading", name="After initial sync: did everything arrive?").bounding_box()
    assert checklist_box["y"] < sync_box["y"]
    assert checklist_box["y"] < 2 * LAPTOP["height"]  # within the first two screens
    account = page.locator("#sync-account")
    expect(account.locator(".route-strip")).to_contain_text("Verification ✓ → Reconciliation and triage ✓")
    back = account.get_by_role("link", name="Verification")
    assert back.get_attribute("href").endswith("/steps/initialize/#account-verify")
    screenshot(page, "step9-1366", screens=3)
    page.set_viewport_size(PHONE)
    page.reload()
    assert width(page) <= PHONE["width"]
    screenshot(page, "step9-390", screens=3)


def test_a_refused_save_says_what_to_fix_at_the_top_with_a_link_to_each_field(
    page: Page, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    page.set_viewport_size(LAPTOP)
    sign_in(consultant, step(migration, "exports"))
    products = page.locator('[data-live-row="export-products"]')
    products.get_by_label("Export").select_option(label="Not used")
    page.get_by_role("button", name="Save", exact=True).click()

    alert = page.get_by_role("alert").filter(has_text="Not saved: 1 problem to fix")
    expect(alert).to_be_in_viewport()
    link = alert.get_by_role("link", name="Products: Why not used")
    expect(alert).to_contain_text("Say why this table is not used.")
    link.click()
    expect(products.get_by_label("Why not used")).to_be_in_viewport()
    assert not migration.items.get(key="export-products").done


def test_a_save_returns_to_the_checklist_not_to_an_old_fragment(page: Page, sign_in, consultant_on_migration):
    consultant, migration = consultant_on_migration
    page.set_viewport_size(LAPTOP)
    # Where a removed part's redirect left the page: at the Order slot.
    sign_in(consultant, step(migration, "exports") + "#slot-order")
    products = page.locator('[data-live-row="export-products"]')
    products.get_by_label("Export").select_option(label="Not used")
    products.get_by_label("Why not used").fill("The customer sells services only")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/steps/exports/#checklist$"))
    expect(page.get_by_role("heading", name="Checklist", exact=True)).to_be_in_viewport()
    assert migration.items.get(key="export-products").done


def test_a_phone_sees_sign_out_the_current_step_and_nothing_wider_than_its_screen(
    page: Page, sign_in, finished, tmp_path
):
    consultant, migration = finished
    page.set_viewport_size(PHONE)
    sign_in(consultant, step(migration, "enable-maps"))
    sign_out = page.get_by_role("button", name=f"Sign out ({consultant.username})")
    assert inside(sign_out.bounding_box(), {"x": 0, "width": PHONE["width"]})
    current = page.locator(".steps li.current")
    assert inside(current.bounding_box(), page.locator(".steps ol").bounding_box())
    pages = [
        step(migration, "exports"),
        step(migration, "initialize"),
        f"/migrations/{migration.id}/uploads/{migration.uploads.filter(kind='export').first().id}/",
        f"/migrations/{migration.id}/evidence-pack/",
    ]
    for path in pages:
        page.goto(page.url.split("/migrations/")[0] + path)
        assert width(page) <= PHONE["width"], (path, width(page))

    # The evidence pack's pictures at a size their words can be read.
    text = page.locator("svg.chart text").first.bounding_box()
    assert text["height"] >= 10, text


def test_a_phone_keeps_replace_and_remove_inside_each_parts_card(
    page: Page, sign_in, consultant_on_migration
):
    consultant, migration = consultant_on_migration
    upload_inspected(migration, consultant, "order.csv")
    upload_inspected(migration, consultant, str(SAMPLES / "order.xlsx"), "order")  # a second part
    page.set_viewport_size(PHONE)
    sign_in(consultant, step(migration, "exports"))
    card = page.locator('[data-slot="export:order"]')
    frame = card.bounding_box()
    for name in ("Replace", "Remove part 1 of Order", "Remove part 2 of Order"):
        button = card.get_by_role("button", name=name, exact=True).first
        assert inside(button.bounding_box(), frame), name
    assert width(page) <= PHONE["width"]


def test_a_phone_keeps_the_row_limits_within_the_page(page: Page, sign_in, finished):
    consultant, migration = finished
    page.set_viewport_size(PHONE)
    sign_in(consultant, step(migration, "initialize"))
    page.locator(".route-more > summary").click()
    screen = {"x": 0, "width": PHONE["width"]}
    limits = page.get_by_role("table", name="Rows per company against initial sync's limits")
    assert inside(limits.bounding_box(), screen)
    page.goto(
        page.url.split("/migrations/")[0] + f"/migrations/{migration.id}/jobs/{migration.jobs.first().id}/"
    )
    assert inside(limits.bounding_box(), screen)
    assert width(page) <= PHONE["width"]
