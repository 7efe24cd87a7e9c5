"""axe-core (the engine behind Lighthouse's accessibility audit) on every kind of page.

Labels, names, contrast, landmarks, heading order: any WCAG A/AA violation axe finds
fails the test with its rule, its impact and the elements concerned.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.base import ContentFile
from playwright.sync_api import Page

from migration.services import checklist, jobs
from tests.helpers import upload_inspected

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


@pytest.fixture
def busy_migration(consultant_on_migration):
    """A migration with something on every page: members, a rule, an upload, a finished job, a note."""
    consultant, migration = consultant_on_migration
    manager = migration.created_by
    checklist.duplicate_rule_record(migration=migration, actor=consultant, name="Same name", table="Account")
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    jobs.job_run(job_id=job.id)
    migration.notes.create(step=1, author=consultant, text="All six projects ran overnight.")
    evidence = migration.evidence.create(step=1, title="Run log", added_by=consultant)
    evidence.file.save("log.txt", ContentFile(b"ok"))
    return migration, manager, job


def test_every_page_passes_axe(page: Page, live_server, sign_in, busy_migration):
    migration, manager, job = busy_migration
    assert_accessible(page, live_server.url, "/accounts/login/")
    sign_in(manager)
    m = f"/migrations/{migration.id}"
    for path in (
        "/",
        "/migrations/new/",
        "/accounts/password_change/",
        f"{m}/",
        f"{m}/activity/",
        f"{m}/members/",
        f"{m}/settings/",
        f"{m}/initialization/",
        f"{m}/jobs/{job.id}/",
        f"{m}/uploads/{migration.uploads.get().id}/",
        *(f"{m}/steps/{slug}/" for slug in ("last-sync", "exports", "uninstall", "duplicate-detection")),
        *(f"{m}/steps/{slug}/" for slug in ("initialize", "enable-maps")),
    ):
        assert_accessible(page, live_server.url, path)
