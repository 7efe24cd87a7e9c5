"""The Content-Security-Policy as Chromium enforces it: no page of ours breaks it.

Chromium reports every blocked inline script, inline style or `style=` attribute,
and every resource from elsewhere, as a console error naming the policy.
"""

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.helpers import main_pages

pytestmark = pytest.mark.browser


def test_no_page_breaks_the_content_security_policy(page: Page, live_server, sign_in, busy_migration):
    migration, manager, job = busy_migration
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    response = page.goto(live_server.url + "/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sign_in(manager)
    for path in main_pages(migration, job):
        response = page.goto(live_server.url + path)
        assert response.ok, path
        assert "style-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("load")
    page.goto(live_server.url + "/admin/login/")
    assert not violations, "\n".join(violations)
