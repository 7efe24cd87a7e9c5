"""Step 3 in Chromium with a real Celery worker and the Dataverse emulator: "Check steps 3 to 8 in
the environment" queues the check; while the worker reads (the environment makes it wait 2 s with a
429), the page says so; the finding then appears on the page by itself (live.js, fed by
connections/status.json), without reloading it, and the row stays unticked."""

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Page, expect

from migration.connections.services import connection_save
from migration.models import ChecklistItem
from tests.dynamics.conftest import (  # noqa: F401 (fixtures)
    dynamics_ca,
    entra,
    load_orders,
    ready,
    sales,
    trust_test_ca,
)
from tests.entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT
from tests.helpers import thread_worker

pytestmark = pytest.mark.browser


def test_the_checks_result_appears_live_on_its_row(
    page: Page,
    sign_in,
    consultant_on_migration,
    ready,  # noqa: F811 (the imported fixture)
    settings,
    transactional_db,
):
    consultant, migration = consultant_on_migration
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    connection_save(
        migration=migration, actor=migration.created_by, kind="sales", url=ready.url,
        tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret=DAEMON_CLIENT_SECRET,
    )  # fmt: skip
    ready.tables["contacts"].columns["msdynce_sellable"] = "String"
    ready.throttle("requests", retry_after=2, on=1)  # the check's first read waits 2 s
    sign_in(consultant, f"/migrations/{migration.id}/steps/uninstall/")
    with thread_worker():
        page.get_by_role("button", name="Check steps 3 to 8 in the environment").click()
        expect(
            page.get_by_text("Checking the environment: what it finds shows on the rows when done.")
        ).to_be_visible()
        expect(page.locator("#environment-check-state")).to_contain_text("Checking the Sales environment")
        page.evaluate("window.notReloaded = true")
        expect(
            page.get_by_text("contact still has the P2C solution's columns msdynce_sellable")
        ).to_be_visible(timeout=30_000)
    assert page.evaluate("window.notReloaded") is True  # updated in place
    expect(page.get_by_text("as app " + DAEMON_CLIENT_ID, exact=False)).to_be_visible()
    assert not ChecklistItem.objects.get(migration=migration, key="uninstall-p2c").done


def test_a_pulls_progress_and_its_end_show_live_on_the_connections_page(
    page: Page,
    sign_in,
    consultant_on_migration,
    sales,  # noqa: F811 (the imported fixture)
    entra,  # noqa: F811 (the imported fixture)
    settings,
    tmp_path,
    transactional_db,
):
    consultant, migration = consultant_on_migration
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    settings.P2C_AUTHORITY_URL = entra.authority_url
    settings.P2C_DYNAMICS_PAGE_SIZE = 10
    load_orders(sales, tmp_path)
    connection_save(
        migration=migration, actor=migration.created_by, kind="sales", url=sales.url,
        tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret=DAEMON_CLIENT_SECRET,
    )  # fmt: skip
    sales.throttle("requests", retry_after=3, on=6)  # a pause half way: the page shows it reading
    sign_in(consultant, f"/migrations/{migration.id}/connections/")
    with thread_worker():
        page.get_by_label("Table", exact=True).select_option("order")
        page.get_by_role("button", name="Pull", exact=True).click()
        expect(page.get_by_text("Pulling order: it is stored as a step-2 export when read.")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        row = page.locator("[data-pull-state]")
        expect(row).to_have_attribute("data-pull-state", "running", timeout=20_000)
        expect(row).to_contain_text("of about 120")  # Dataverse's count, for the time left
        expect(row).to_have_attribute("data-pull-state", "done", timeout=30_000)
    expect(row).to_contain_text("order-pulled.csv v1")
    assert page.evaluate("window.notReloaded") is True  # updated in place
