"""A token the user already has (az account get-access-token --resource URL), given for one pull or
one check: checked before anything is sent (expired, another environment, not a token), used for
that run only, and found nowhere afterwards: not in the database, the log, the activity, nor in
plain text in the task's message."""

import io
import json
import logging
import time

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from migration.connections import checks, pulls, tasks
from migration.connections.secrets import SecretsKeyMissing, secret_seal_for, secret_unseal
from migration.connections.services import connection_save
from migration.dynamics.tokens import ClientCredentials
from migration.models import Activity, ChecklistItem, Pull, PullState

from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT
from .conftest import credentials_for
from .helpers import orders, unsigned_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(migration, manager, sales, entra, settings):
    """A Sales connection whose stored secret Entra ID refuses: a read that works was the token's."""
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    settings.P2C_AUTHORITY_URL = entra.authority_url
    columns = {"ordernumber": "String", "name": "String", "customerid": "Customer"}
    records = [{**r, "ordernumber": f"N-{n}", "_customerid_value": "c"} for n, r in enumerate(orders(12))]
    sales.add_table("salesorders", "salesorder", "salesorderid", columns, records)
    return connection_save(
        migration=migration, actor=manager, kind="sales", url=sales.url,
        tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret="not-the-secret",
    )  # fmt: skip


@pytest.fixture
def queued(monkeypatch):
    """The messages the pull and check views send to the worker (their arguments), kept to be run
    here by the real task."""
    sent = []
    for module in (pulls, checks):
        monkeypatch.setattr(module, "enqueue_on_commit", lambda task, *args: sent.append(args))
    return sent


def pull(client, migration, token):
    form = {"table": "order", "access_token": token}
    return client.post(f"/migrations/{migration.id}/connections/pulls/", form, follow=True)


def test_a_pull_with_a_given_token_reads_as_that_token_and_leaves_it_nowhere(
    connected, client_for, migration, sales, entra, queued, caplog
):
    caplog.set_level(logging.DEBUG)
    token = credentials_for(sales, entra).token()
    response = pull(client_for("consultant"), migration, token)
    assert "Pulling order" in response.text
    [(pull_id, sealed)] = queued
    assert sealed and token not in sealed  # the message at rest holds it encrypted only
    tasks.run_pull(pull_id, sealed)  # the worker's task, run here

    done = Pull.objects.get(pk=pull_id)
    assert (done.state, done.rows) == (PullState.DONE, 12)
    assert len(sales.tokens_seen) == 1  # every request carried the given token
    used = Activity.objects.get(verb="connection_used").description
    assert used == "Used the Sales (Dataverse) connection (a token given for this use): pull order"
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)  # every row of every table
    assert token not in dump.getvalue()
    assert token[-40:] not in dump.getvalue() + caplog.text  # not even its signature
    assert token not in caplog.text


def test_without_a_token_the_pull_reads_as_the_connections_app(connected, client_for, migration, queued):
    pull(client_for("consultant"), migration, "")
    [(pull_id, sealed)] = queued
    assert sealed == ""
    tasks.run_pull(pull_id, sealed)
    failed = Pull.objects.get(pk=pull_id)  # the stored secret is wrong: Entra says so
    assert failed.state == PullState.FAILED
    assert "Microsoft Entra ID refused the app registration" in failed.message


def test_an_expired_token_is_refused_before_anything_is_sent(connected, client_for, migration, sales, queued):
    expired = unsigned_token(aud=sales.url, exp=int(time.time()) - 120)
    response = pull(client_for("consultant"), migration, expired)
    assert "The access token expired at" in response.text
    assert f"az account get-access-token --resource {sales.url}" in response.text
    assert not Pull.objects.exists() and not queued and not sales.received


def test_a_token_for_another_environment_is_refused_naming_both(
    connected, client_for, migration, sales, entra, queued
):
    other = ClientCredentials(
        resource="https://contoso.crm4.dynamics.com", tenant_id=TENANT, client_id=DAEMON_CLIENT_ID,
        client_secret=DAEMON_CLIENT_SECRET, authority_url=entra.authority_url,
    ).token()  # fmt: skip
    response = pull(client_for("consultant"), migration, other)
    assert f"The access token is for https://contoso.crm4.dynamics.com, not {sales.url}" in response.text
    assert not Pull.objects.exists() and not queued


def test_something_that_is_not_a_token_is_refused(connected, client_for, migration, queued):
    response = pull(client_for("consultant"), migration, "paste-error")
    assert "That is not an access token (a JWT of three parts separated by dots)" in response.text
    assert not Pull.objects.exists()


def test_a_sealed_token_cannot_be_opened_after_its_lifetime(settings):
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    sealed = secret_seal_for("eyJ.a.b", 1)
    assert secret_unseal(sealed) == "eyJ.a.b"
    time.sleep(2.1)
    with pytest.raises(SecretsKeyMissing, match="has expired"):
        secret_unseal(sealed)


def test_the_environment_check_with_a_given_token_says_so_on_its_rows(
    ready, migration, manager, entra, settings, client_for, caplog, queued
):
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    settings.P2C_AUTHORITY_URL = entra.authority_url
    connection_save(
        migration=migration, actor=manager, kind="sales", url=ready.url,
        tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret="not-the-secret",
    )  # fmt: skip
    caplog.set_level(logging.DEBUG)
    token = credentials_for(ready, entra).token()
    client = client_for("consultant")
    queued_page = client.post(
        f"/migrations/{migration.id}/connections/check/uninstall/", {"access_token": token}, follow=True
    ).text
    assert "Checking the environment" in queued_page
    [(check_id, sealed)] = queued
    assert sealed and token not in sealed  # the message at rest holds it encrypted only
    tasks.run_environment_check(check_id, sealed)  # the worker's task, run here
    page = client.get(f"/migrations/{migration.id}/steps/uninstall/").text
    assert "as a token given for this check; tick the row yourself" in page
    assert token not in page + queued_page and token not in caplog.text
    assert token not in json.dumps(list(ChecklistItem.objects.values("details")), default=str)
