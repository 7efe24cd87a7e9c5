"""A migration's connections: only project managers set them, the secret is encrypted at rest and
never shown or logged again, keys rotate, and every use is in the activity log."""

import logging

import pytest
from cryptography.fernet import Fernet

from migration.connections.secrets import secret_decrypt, secret_reencrypt
from migration.connections.services import connection_client
from migration.models import Activity, Connection

from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT

KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def secrets_key(settings):
    settings.P2C_SECRETS_KEY = [KEY]


def details(url="https://contoso.crm.dynamics.com", secret=DAEMON_CLIENT_SECRET, kind="sales"):
    return {
        "kind": kind,
        "url": url,
        "tenant_id": TENANT,
        "client_id": DAEMON_CLIENT_ID,
        "client_secret": secret,
    }


def page(migration):
    return f"/migrations/{migration.id}/connections/"


def test_a_project_manager_sets_the_sales_connection_and_never_sees_the_secret_again(client_for, migration):
    client = client_for("manager")
    response = client.post(page(migration), details(), follow=True)
    assert "Sales (Dataverse) connection saved." in response.text
    assert "stored (encrypted)" in response.text
    assert DAEMON_CLIENT_SECRET not in response.text
    stored = Connection.objects.get(migration=migration, kind="sales")
    assert DAEMON_CLIENT_SECRET not in stored.secret_encrypted
    assert secret_decrypt(stored.secret_encrypted) == DAEMON_CLIENT_SECRET
    assert Activity.objects.filter(migration=migration, verb="connection_set").count() == 1


def test_the_secret_is_never_logged(client_for, migration, caplog):
    caplog.set_level(logging.DEBUG)
    client_for("manager").post(page(migration), details())
    client_for("manager").post(page(migration), details(url="not a url"))
    assert DAEMON_CLIENT_SECRET not in caplog.text
    assert not any(DAEMON_CLIENT_SECRET in a.description for a in Activity.objects.all())


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 302), ("consultant", 403), ("viewer", 403), ("outsider", 404)]
)
def test_only_project_managers_set_connections(client_for, migration, role, status):
    assert client_for(role).post(page(migration), details()).status_code == status
    assert not Connection.objects.exists()


def test_members_see_the_connection_but_not_the_form(client_for, migration):
    client_for("manager").post(page(migration), details())
    response = client_for("consultant").get(page(migration))
    assert "https://contoso.crm.dynamics.com" in response.text
    assert "Only a project manager of this migration sets connections." in response.text
    assert 'name="client_secret"' not in response.text


def test_without_a_secrets_key_nothing_is_stored_and_the_page_says_what_to_set(
    client_for, migration, settings
):
    settings.P2C_SECRETS_KEY = []
    response = client_for("manager").post(page(migration), details())
    assert "set P2C_SECRETS_KEY" in response.text
    assert not Connection.objects.exists()


def test_a_tenant_id_that_is_not_a_guid_is_refused(client_for, migration):
    response = client_for("manager").post(page(migration), details() | {"tenant_id": "contoso.com"})
    assert "The tenant id is a GUID" in response.text
    assert not Connection.objects.exists()


def test_a_rotated_key_still_reads_the_old_secret_and_moves_it_to_the_new_key(
    client_for, migration, settings
):
    client_for("manager").post(page(migration), details())
    stored = Connection.objects.get().secret_encrypted
    settings.P2C_SECRETS_KEY = [NEW_KEY, KEY]
    assert secret_decrypt(stored) == DAEMON_CLIENT_SECRET
    moved = secret_reencrypt(stored)
    settings.P2C_SECRETS_KEY = [NEW_KEY]
    assert secret_decrypt(moved) == DAEMON_CLIENT_SECRET


def test_a_stored_connection_reads_the_environment_and_the_use_is_logged(
    client_for, migration, manager, sales, entra, settings
):
    settings.P2C_AUTHORITY_URL = entra.authority_url
    sales.add_table("accounts", "account", "accountid", {"name"}, [{"accountid": "a1", "name": "Contoso"}])
    client_for("manager").post(page(migration), details(url=sales.url))
    client = connection_client(connection=Connection.objects.get(), actor=manager, purpose="read accounts")
    assert [r["name"] for p in client.pages("accounts") for r in p.records] == ["Contoso"]
    used = Activity.objects.get(verb="connection_used")
    assert (
        used.description == f"Used the Sales (Dataverse) connection (app {DAEMON_CLIENT_ID}): read accounts"
    )


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("outsider", 404)])
def test_viewers_and_outsiders_cannot_pull(client_for, migration, role, status):
    client_for("manager").post(page(migration), details())
    assert client_for(role).post(page(migration) + "pulls/", {"table": "order"}).status_code == status
    assert not migration.pulls.exists()


def test_a_pull_without_a_sales_connection_says_to_set_it(client_for, migration):
    response = client_for("consultant").post(page(migration) + "pulls/", {"table": "order"}, follow=True)
    assert "Set the Sales connection first." in response.text
