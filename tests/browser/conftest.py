"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

No browser is ever downloaded: the launch points Playwright at the system Chromium
(`P2C_CHROMIUM`, default /usr/bin/chromium). CI installs it; when it is missing the
tests fail and say so, rather than skip and pass unnoticed.
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from migration.access import project_managers_group
from migration.models import Role
from migration.services.migrations import LegalEntityData, member_add, migration_create
from tests.helpers import thread_worker

# Playwright's sync API runs an event loop in the test thread, so Django sees every
# ORM call the test makes (creating users, say) as made from async code. Allowed
# here, and only here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-password-7"

expect.set_options(timeout=10_000)


def chromium_path() -> str:
    configured = os.environ.get("P2C_CHROMIUM", "/usr/bin/chromium")
    found = shutil.which(configured)
    if found is None or not Path(found).is_file():
        pytest.fail(
            f"Chromium not found at {configured!r}. The browser tests drive the system Chromium and "
            "never download one: install it (Debian/Ubuntu: apt-get install chromium) or point "
            "P2C_CHROMIUM at its executable.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options (--headed, --slowmo...) plus the system Chromium."""
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Hashing with the production hasher costs more than a whole page load.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(django_user_model):
    def make(username: str):
        return django_user_model.objects.create_user(username=username, password=PASSWORD)

    return make


@pytest.fixture
def sign_in(page: Page, live_server):
    """Sign in through the login page, as a user would."""

    def sign_in_as(user, next_path: str = "/") -> Page:
        page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name=f"Sign out ({user.username})")).to_be_visible()
        return page

    return sign_in_as


@pytest.fixture
def page(page: Page) -> Page:
    """pytest-playwright's page, failing after 10 s rather than Playwright's 30."""
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def consultant_on_migration(make_user):
    """A migration (its creator "mia" manages it) with "carl" as its consultant."""
    manager, consultant = make_user("mia"), make_user("carl")
    manager.groups.add(project_managers_group())  # an administrator let her create migrations
    migration = migration_create(
        creator=manager,
        name="Contoso cutover",
        customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US")],
    )
    member_add(migration=migration, actor=manager, user=consultant, role=Role.CONSULTANT)
    return consultant, migration


@pytest.fixture
def busy_migration(consultant_on_migration):
    """A migration with something on every page: members, a rule, an upload, a finished job, a note."""
    from django.core.files.base import ContentFile

    from migration.services import checklist, job_worker, jobs
    from tests.helpers import upload_inspected

    consultant, migration = consultant_on_migration
    manager = migration.created_by
    checklist.duplicate_rule_record(migration=migration, actor=consultant, name="Same name", table="Account")
    upload_inspected(migration, consultant, "order.csv")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    job_worker.job_run(job_id=job.id)
    migration.notes.create(step=1, author=consultant, text="All six projects ran overnight.")
    evidence = migration.evidence.create(step=1, title="Run log", added_by=consultant)
    evidence.file.save("log.txt", ContentFile(b"ok"))
    return migration, manager, job


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker in a thread of the test process, behind the live server."""
    with thread_worker() as running:
        yield running
