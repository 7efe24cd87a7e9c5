"""Steps 3 to 7's pages: "Check steps 3 to 7 in the environment" shows what the environment says
on each row it speaks for, with when and as whom, and never ticks a row."""

import pytest
from cryptography.fernet import Fernet

from migration.connections.services import connection_save
from migration.models import Activity, ChecklistItem

from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(ready, migration, manager, settings):
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    connection_save(
        migration=migration, actor=manager, kind="sales", url=ready.url,
        tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret=DAEMON_CLIENT_SECRET,
    )  # fmt: skip
    return ready


def test_a_finding_is_shown_on_its_row_and_the_row_stays_unticked(connected, client_for, migration):
    connected.tables["accounts"].columns["msdynce_accountnumber"] = "String"
    client = client_for("consultant")
    response = client.post(f"/migrations/{migration.id}/connections/check/uninstall/", follow=True)
    assert "Checked in the environment: 1 finding(s), shown on their rows." in response.text
    assert "account still has the P2C solution&#x27;s columns msdynce_accountnumber" in response.text
    assert f"as app {DAEMON_CLIENT_ID}; tick the row yourself" in response.text
    assert not ChecklistItem.objects.get(migration=migration, key="uninstall-p2c").done
    assert Activity.objects.filter(verb="environment_check").exists()


def test_a_row_found_as_it_should_be_says_so_and_is_still_a_persons_tick(connected, client_for, migration):
    client = client_for("consultant")
    page = client.post(f"/migrations/{migration.id}/connections/check/duplicate-detection/", follow=True).text
    assert "All duplicate detection rules disabled</strong>: as it should be." in page
    assert not ChecklistItem.objects.get(migration=migration, key="dup-all-disabled").done


def test_viewers_cannot_run_the_check(connected, client_for, migration):
    response = client_for("viewer").post(f"/migrations/{migration.id}/connections/check/uninstall/")
    assert response.status_code == 403
    assert not Activity.objects.filter(verb="environment_check").exists()
