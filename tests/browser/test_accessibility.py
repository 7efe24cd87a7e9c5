"""axe-core (the engine behind Lighthouse's accessibility audit) on every kind of page.

Labels, names, contrast, landmarks, heading order: any WCAG A/AA violation axe finds
fails the test with its rule, its impact and the elements concerned.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.helpers import main_pages

pytestmark = pytest.mark.browser

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
AXE = Axe()


def assert_accessible(page: Page, base_url: str, path: str) -> None:
    page.goto(base_url + path)
    results = AXE.run(page, options=WCAG)
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
    ]
    assert not problems, f"{path}: " + "\n".join(problems)


def test_every_page_passes_axe(page: Page, live_server, sign_in, busy_migration):
    migration, manager, job = busy_migration
    assert_accessible(page, live_server.url, "/accounts/login/")
    sign_in(manager)
    for path in main_pages(migration, job):
        assert_accessible(page, live_server.url, path)
