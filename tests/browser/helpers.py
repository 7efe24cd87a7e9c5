"""Helpers of the browser tests: a migration made directly, exports written to disk, a table's
upload slot on the step-2 page."""

import csv
import re

from playwright.sync_api import Page

from migration.services.migrations import LegalEntityData, migration_create


def a_migration(creator, name="Contoso cutover"):
    """A migration of one legal entity, made directly (the runbook test makes one through the page)."""
    return migration_create(
        creator=creator,
        name=name,
        customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US")],
    )


ACCOUNT = ["(Do Not Modify) Account", "Account Name", "Account Number"]
CONTACT = ["(Do Not Modify) Contact", "Full Name", "Company Name", "Contact Number", "Is Active Customer"]


def write(path, headers, rows):
    """A CSV as Sales exports it (UTF-8 with a byte-order mark)."""
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows([headers, *rows])
    return path


def accounts(start, n, number=None):
    return [
        [f"00000000-0000-0000-0000-{i:012d}", f"Account {i}", number or f"ACC-{i}"]
        for i in range(start, start + n)
    ]


def slot(page: Page, table: str):
    """A table's step-2 upload slot."""
    return page.locator(f'[data-slot="export:{table}"]')


def part_row(page: Page, table: str, number: int):
    return slot(page, table).locator(f'tr[data-part="{number}"]')


def upload(page: Page, table: str, label: str, path) -> None:
    container = slot(page, table)
    form = container.locator("form.upload-form").last
    form.get_by_label(re.compile(rf"^{re.escape(label)} \(")).set_input_files(str(path))
    form.get_by_role("button", name="Upload", exact=True).click()


def write_csv(path, headers, rows):
    """A CSV in UTF-8 without a byte-order mark."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([headers, *rows])
    return path
