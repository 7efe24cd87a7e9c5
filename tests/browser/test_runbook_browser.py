"""The runbook as a user sees it in Chromium: sign in, create, work a step, the step 3 gate."""

import re

import pytest
from playwright.sync_api import Page, expect

from migration import runbook
from migration.access import project_managers_group
from migration.models import Role
from migration.services.migrations import member_add
from tests.browser.helpers import a_migration

pytestmark = pytest.mark.browser


def steps_nav(page: Page):
    return page.get_by_role("navigation", name="Runbook steps")


def step_link(page: Page, number: int):
    title = runbook.STEPS_BY_NUMBER[number].title
    return steps_nav(page).get_by_role("link", name=re.compile(rf"^{number} {re.escape(title)}\b"))


def item(page: Page, title: str):
    """A checklist item's row: a fieldset named by its legend."""
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(title)}( Done| Blocked)?$"))


def test_create_a_migration_and_complete_step_1(page: Page, live_server, make_user, sign_in):
    alice = make_user("alice")
    alice.groups.add(project_managers_group())
    sign_in(alice)

    page.get_by_role("link", name="New migration").click()
    expect(page.get_by_role("heading", name="New migration")).to_be_visible()
    page.get_by_label(re.compile(r"^Name:?$")).fill("Contoso cutover")
    page.get_by_label(re.compile(r"^Customer:?$")).fill("Contoso Ltd")
    first_entity = page.get_by_role("group", name="Legal entity 1")
    first_entity.get_by_label("Company code").fill("usmf")
    first_entity.get_by_label("Name of legal entity 1").fill("Contoso US")
    page.get_by_role("button", name="Create migration").click()

    expect(page.get_by_role("heading", level=1, name="Contoso cutover")).to_be_visible()
    expect(page.get_by_text("Migration Contoso cutover created.")).to_be_visible()
    expect(page.get_by_text("USMF (Contoso US)")).to_be_visible()

    page.get_by_role("navigation", name="Migration").get_by_role("link", name="Runbook").click()
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Step 1: Last full sync"))).to_be_visible()
    expect(step_link(page, 1)).to_contain_text("Not started")

    for project in runbook.DATA_INTEGRATOR_PROJECTS:
        row = item(page, f"{project}, USMF")
        row.get_by_label("Run date").fill("2026-11-20")
        row.get_by_label("Result").select_option(label="Succeeded")
    page.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(re.compile(r"/steps/exports/$"))
    expect(page.get_by_text("Step 1 saved (8 item(s) changed).")).to_be_visible()
    expect(step_link(page, 1)).to_contain_text("Done")

    step_link(page, 1).click()
    accounts = item(page, f"{runbook.DATA_INTEGRATOR_PROJECTS[0]}, USMF")
    expect(accounts.get_by_text("Done", exact=True)).to_be_visible()
    expect(accounts).to_contain_text("Done by alice")
    expect(accounts.get_by_label("Result")).to_have_value("succeeded")


def test_step_3_opens_once_step_2_is_signed_off(page: Page, live_server, make_user, sign_in):
    manager = make_user("mia")
    migration = a_migration(manager)
    sign_in(manager, f"/migrations/{migration.id}/steps/uninstall/")

    expect(page.get_by_role("heading", level=1, name=re.compile(r"Step 3: .*Locked"))).to_be_visible()
    expect(page.get_by_text("This step is locked until a project manager signs off step 2")).to_be_visible()
    expect(page.get_by_role("button", name="I uninstalled Prospect to cash")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Save"))).to_have_count(0)

    step_link(page, 2).click()
    # Step 3 stays locked after saving step 2: the button saves and stays, saying what step 3 waits for.
    waits = "Step 3 opens when you (or another project manager) sign off step 2"
    expect(page.get_by_text(waits)).to_be_visible()
    tables = [name for _key, name in runbook.EXPORT_TABLES]
    # Exports typed in by hand are not uploads: the gate refuses, naming each table.
    for number, table in enumerate(tables, start=1):
        row = item(page, table)
        row.get_by_label("Export").select_option(label="Exported")
        row.get_by_label("Rows").fill(str(number * 100))
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Sign off step 2").click()
    expect(page.get_by_text("Step 2 cannot be signed off yet: 9 reason(s)")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Account has no export"))).to_be_visible()
    for table in tables:
        unused = item(page, table)
        unused.get_by_label("Export").select_option(label="Not used")
        unused.get_by_label("Why not used").fill("The customer never used this table")
    # Enter in a field saves the step, as the Save button does.
    item(page, tables[-1]).get_by_label("Why not used").press("Enter")

    # Every export recorded, but nobody signed off yet: still locked, so the page stays at step 2,
    # at the checklist the user saved.
    expect(page).to_have_url(re.compile(r"/steps/exports/#checklist$"))
    expect(page.get_by_text("Step 2 saved (9 item(s) changed).")).to_be_visible()
    expect(step_link(page, 2)).to_contain_text("Waiting for sign-off")
    expect(step_link(page, 3)).to_contain_text("Locked")
    expect(page.get_by_role("button", name="I uninstalled Prospect to cash")).to_have_count(0)

    step_link(page, 2).click()
    page.get_by_role("button", name="Sign off step 2").click()
    expect(page.get_by_text("Step 2 signed off.")).to_be_visible()
    expect(page.get_by_role("region", name="Sign-off")).to_contain_text("Signed off by mia")

    step_link(page, 3).click()
    expect(step_link(page, 3)).not_to_contain_text("Locked")
    expect(page.get_by_text("This step is locked")).to_have_count(0)
    expect(page.get_by_role("note")).to_contain_text("Uninstalling deletes every column")
    # The backup first: until it is recorded, no confirmation form, only the way to the backup row.
    expect(page.get_by_role("button", name="I uninstalled Prospect to cash")).to_have_count(0)
    page.locator("#uninstall-waits").get_by_role("link", name=re.compile("^Backup of the Sales")).click()
    backup = item(page, "Backup of the Sales environment taken (Power Platform admin center): label or date")
    backup.get_by_label("Backup label").fill("Before P2C uninstall")
    backup.get_by_label("Backup label").press("Enter")
    expect(page.get_by_text(re.compile(r"Step 3 saved"))).to_be_visible()
    step_link(page, 3).click()
    confirm = page.get_by_label("to confirm that you uninstalled Prospect to cash")

    confirm.fill("Contoso")
    page.get_by_role("button", name="I uninstalled Prospect to cash").click()
    expect(page.get_by_text("Type the migration's name exactly (Contoso cutover)")).to_be_visible()
    uninstalled = item(page, "Prospect to cash solution uninstalled")
    expect(uninstalled).to_contain_text("Not started")

    confirm.fill("Contoso cutover")
    page.get_by_role("button", name="I uninstalled Prospect to cash").click()
    expect(page.get_by_text("Uninstall of Prospect to cash recorded.")).to_be_visible()
    expect(uninstalled).to_contain_text("Done by mia")
    expect(page.locator("#uninstall-recorded")).to_contain_text(
        re.compile(r"Uninstall recorded by mia on \d{4}-")
    )
    expect(page.get_by_role("button", name="I uninstalled Prospect to cash")).to_have_count(0)


def test_a_viewer_reads_the_steps_but_cannot_save(page: Page, live_server, make_user, sign_in):
    manager, viewer = make_user("mia"), make_user("vic")
    migration = a_migration(manager)
    member_add(migration=migration, actor=manager, user=viewer, role=Role.VIEWER)
    sign_in(viewer)

    page.get_by_role("link", name="Contoso cutover").click()
    expect(page.get_by_text("Your role")).to_be_visible()
    expect(page.get_by_text("Viewer", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Migration").get_by_role("link", name="Runbook").click()

    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Step 1: Last full sync"))).to_be_visible()
    expect(steps_nav(page).get_by_role("link")).to_have_count(len(runbook.STEPS))
    expect(page.get_by_role("button", name="Save and continue")).to_have_count(0)
    expect(item(page, f"{runbook.DATA_INTEGRATOR_PROJECTS[0]}, USMF").get_by_label("Result")).to_be_disabled()
    expect(page.get_by_role("button", name="Add note")).to_have_count(0)
    expect(page.get_by_text("Not signed off yet.")).to_be_visible()

    page.get_by_role("link", name="Next step").click()
    expect(page).to_have_url(re.compile(r"/steps/exports/$"))
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Step 2: Export"))).to_be_visible()
    expect(page.get_by_role("button", name="Save and continue")).to_have_count(0)
    page.get_by_role("link", name="Next step").click()
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Step 3: Uninstall"))).to_be_visible()
    page.get_by_role("link", name="Previous step").click()
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Step 2: Export"))).to_be_visible()


def test_step_page_fits_a_phone(page: Page, live_server, make_user, sign_in):
    manager = make_user("mia")
    migration = a_migration(manager, name="Contoso cutover with a rather long migration name")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(manager, f"/migrations/{migration.id}/steps/exports/")

    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Step 2: Export"))).to_be_visible()
    expect(steps_nav(page)).to_be_visible()
    expect(step_link(page, 1)).to_be_visible()
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()
    assert_no_sideways_scroll(page)

    # The dashboard's wide table scrolls inside its own box, not the whole page.
    page.get_by_role("link", name="My migrations").first.click()
    expect(page.get_by_role("table")).to_be_visible()
    assert_no_sideways_scroll(page)


def assert_no_sideways_scroll(page: Page) -> None:
    page_width, viewport_width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert page_width <= viewport_width, (
        f"{page.url} scrolls sideways at phone width: {page_width}px wide in a {viewport_width}px window"
    )


def test_steps_navigation_stays_in_view_down_a_long_step(page: Page, live_server, make_user, sign_in):
    manager = make_user("mia")
    migration = a_migration(manager)
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(manager, f"/migrations/{migration.id}/steps/exports/")

    page.get_by_role("button", name="Add evidence").scroll_into_view_if_needed()
    expect(page.get_by_role("heading", level=1, name=re.compile(r"^Step 2"))).not_to_be_in_viewport()
    expect(step_link(page, 1)).to_be_in_viewport()
    expect(step_link(page, 9)).to_be_in_viewport()
