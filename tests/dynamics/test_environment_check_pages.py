"""Steps 3 to 8's pages: "Check steps 3 to 8 in the environment" queues a check a worker runs; its
result shows on each row it speaks for, with when and as whom, and never ticks a row; step 8 shows
whether the environment is ready to be written back."""

import pytest
from cryptography.fernet import Fernet

from migration.connections.checks import environment_check_run
from migration.connections.services import connection_save
from migration.models import Activity, ChecklistItem, CheckState, EnvironmentCheck

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


def checked(client, migration, step: str) -> str:
    """Ask for the check on the step's page, let the worker's task run it, and read the page."""
    response = client.post(f"/migrations/{migration.id}/connections/check/{step}/", follow=True)
    assert "Checking the environment: what it finds shows on the rows when done." in response.text
    assert "Checking</span> the Sales environment" in response.text  # shown while it runs
    check = EnvironmentCheck.objects.get(state=CheckState.QUEUED)
    environment_check_run(check_id=check.id)
    return client.get(f"/migrations/{migration.id}/steps/{step}/").text


def test_a_finding_is_shown_on_its_row_and_the_row_stays_unticked(connected, client_for, migration):
    connected.tables["accounts"].columns["msdynce_accountnumber"] = "String"
    client = client_for("consultant")
    page = checked(client, migration, "uninstall")
    assert "account still has the P2C solution&#x27;s columns msdynce_accountnumber" in page
    assert f"as app {DAEMON_CLIENT_ID}; tick the row yourself" in page
    assert not ChecklistItem.objects.get(migration=migration, key="uninstall-p2c").done
    assert Activity.objects.filter(verb="environment_check").exists()


def test_a_row_found_as_it_should_be_says_so_and_is_still_a_persons_tick(connected, client_for, migration):
    page = checked(client_for("consultant"), migration, "duplicate-detection")
    assert "All duplicate detection rules disabled</strong>: as it should be." in page
    assert not ChecklistItem.objects.get(migration=migration, key="dup-all-disabled").done


def test_viewers_cannot_run_the_check(connected, client_for, migration):
    response = client_for("viewer").post(f"/migrations/{migration.id}/connections/check/uninstall/")
    assert response.status_code == 403
    assert not Activity.objects.filter(verb="environment_check").exists()


def test_step_6_a_companys_customer_group_missing_is_on_the_customer_groups_row(
    connected, client_for, migration
):
    entity = migration.legal_entities.order_by("code").first()
    entity.customer_group = "90"
    entity.save()
    page = checked(client_for("consultant"), migration, "reference-data")
    assert "Customer groups (msdyn_customergroups)" in page
    assert f"Customer group 90 in {entity.code} is not in Dataverse (msdyn_customergroups)" in page


def test_step_8_says_what_keeps_the_environment_from_being_written_back(connected, client_for, migration):
    connected.privilege_depths["prvWriteQuote"] = "Basic"
    connected.tables["salesorders"].rows.append({"salesorderid": "o9", "name": "done", "statecode": 3})
    page = checked(client_for("consultant"), migration, "initialize")
    assert "Ready to write back?" in page
    assert "The application user holds prvWriteQuote only at the Basic level on quote" in page
    assert "1 salesorder record(s) are closed (statecode 2, 3, 4) and refuse updates" in page
    assert not ChecklistItem.objects.get(migration=migration, key="init-order").done


def test_a_check_that_cannot_read_the_environment_says_why(connected, client_for, migration):
    from migration.connections.tasks import run_environment_check

    client = client_for("consultant")
    client.post(f"/migrations/{migration.id}/connections/check/uninstall/")
    connected.fail(403, on=1)
    run_environment_check(EnvironmentCheck.objects.get().id)  # the task as the worker runs it
    page = client.get(f"/migrations/{migration.id}/steps/uninstall/").text
    assert "The environment could not be checked</span>: HTTP 403" in page
    feed = client.get(f"/migrations/{migration.id}/connections/status.json").json()
    assert feed["environment_check"]["state"] == "failed"


def test_one_check_at_a_time_and_none_without_a_sales_connection(connected, client_for, migration):
    client = client_for("consultant")
    url = f"/migrations/{migration.id}/connections/check/uninstall/"
    client.post(url)
    again = client.post(url, follow=True).text
    assert "The environment is being checked already: its result shows here when done." in again
    assert EnvironmentCheck.objects.count() == 1
    migration.connections.all().delete()
    EnvironmentCheck.objects.update(state=CheckState.DONE)
    page = client.post(url, follow=True).text
    assert "Set the Sales connection first (Migration → Connections)." in page
    assert EnvironmentCheck.objects.count() == 1
