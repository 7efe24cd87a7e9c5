"""Step 8's settings page as a browser lays it out."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import a_migration

pytestmark = pytest.mark.browser


def test_a_checkbox_label_keeps_its_line_beside_a_long_help_text(page: Page, live_server, sign_in, make_user):
    mia = make_user("mia")
    migration = a_migration(mia)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(mia, f"/migrations/{migration.id}/initialization/")
    label = page.locator("label[for=id_review_xlsx]")
    expect(label).to_be_visible()
    box, help_box = label.bounding_box(), page.locator("#id_review_xlsx_helptext").bounding_box()
    line = float(label.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 24"))
    assert box["height"] < 1.5 * line  # one line, not squeezed into a column beside the help
    assert help_box["y"] >= box["y"] + box["height"]  # the help goes under it
