"""Step panels kept per process until the migration changes (migration/panel_cache.py): the same page
from fewer queries while nothing changed, every change shown at once, and a re-export turning stale
when its time comes although nothing changed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from migration.models import UploadKind
from migration.services import jobs

from .engine.helpers import reexport_workbook
from .helpers import step_url, upload_inspected

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def page(client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return CSRF.sub("", response.content.decode()), len(captured)


@pytest.mark.parametrize("slug", ["exports", "initialize", "enable-maps"])
def test_it_draws_an_unchanged_step_page_again_from_fewer_queries(slug, client_for, migration, consultant):
    upload_inspected(migration, consultant, "account.csv")
    client = client_for("consultant")
    first, first_queries = page(client, step_url(migration, slug))
    again, again_queries = page(client, step_url(migration, slug))
    assert again == first
    assert again_queries < first_queries


def test_it_shows_a_change_at_once(client_for, migration, consultant):
    client = client_for("consultant")
    before, _ = page(client, step_url(migration, "initialize"))
    upload_inspected(migration, consultant, "account.csv")
    jobs.job_start(migration=migration, table="account", actor=consultant)
    after, _ = page(client, step_url(migration, "initialize"))
    assert after != before
    assert "account.csv" in page(client, step_url(migration, "exports"))[0]


def test_it_shows_the_other_roles_their_own_page(client_for, migration, consultant):
    # The panel's reads are shared; what a role may do is drawn per request.
    upload_inspected(migration, consultant, "account.csv")
    as_consultant, _ = page(client_for("consultant"), step_url(migration, "exports"))
    as_viewer, _ = page(client_for("viewer"), step_url(migration, "exports"))
    assert as_viewer != as_consultant
    assert page(client_for("consultant"), step_url(migration, "exports"))[0] == as_consultant


def test_it_turns_a_reexport_stale_when_its_time_comes(
    settings, client_for, migration, consultant, tmp_path, monkeypatch
):
    reexport = reexport_workbook(tmp_path / "order.xlsx", 3)  # Modified On 2024-01-02 03:04
    upload_inspected(migration, consultant, str(reexport), table="order", kind=UploadKind.REEXPORT)
    taken = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    hours = int((timezone.now() - taken) / timedelta(hours=1)) + 2
    settings.P2C_REEXPORT_MAX_AGE_HOURS = hours
    client = client_for("viewer")
    fresh, _ = page(client, step_url(migration, "initialize"))
    assert "Re-export taken 2024-01-02 03:04 UTC (newest Modified On)." in fresh

    later = taken + timedelta(hours=hours, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)  # nothing changed, but the clock moved on
    stale, _ = page(client, step_url(migration, "initialize"))
    assert f"Re-export taken 2024-01-02 03:04 UTC (newest Modified On): older than {hours} hours" in stale
