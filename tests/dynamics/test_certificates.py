"""An app registration with a certificate instead of a secret: the certificate and its private
key are checked when given (a key that is not the certificate's, an expired certificate, a file
that is not PEM: each a message saying what to do), the key is kept encrypted like a secret, and
MSAL's signed client assertion is verified by the real OpenID provider (private_key_jwt) before it
hands out a token the emulator accepts."""

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from migration.connections.secrets import secret_decrypt
from migration.connections.services import connection_client
from migration.dynamics.tokens import TokenError
from migration.models import Activity, Connection, CredentialKind

from ..entra import CERTIFICATE_CLIENT_ID, TENANT, AppCertificate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def secrets_key(settings, entra):
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    settings.P2C_AUTHORITY_URL = entra.authority_url


def details(url, certificate_pem, key_pem, client_id=CERTIFICATE_CLIENT_ID):
    return {
        "kind": "sales", "url": url, "tenant_id": TENANT, "client_id": client_id,
        "credential": "certificate",
        "certificate": SimpleUploadedFile("app.crt", certificate_pem.encode()),
        "private_key": SimpleUploadedFile("app.key", key_pem.encode()),
    }  # fmt: skip


def save(client, migration, form):
    return client.post(f"/migrations/{migration.id}/connections/", form, follow=True)


def test_a_certificate_connection_reads_the_environment_as_its_app(
    client_for, migration, manager, sales, entra, caplog
):
    caplog.set_level(logging.DEBUG)
    sales.add_table("accounts", "account", "accountid", {"name"}, [{"accountid": "a1", "name": "Contoso"}])
    mine = entra.app_certificate
    response = save(client_for("manager"), migration, details(sales.url, mine.certificate_pem, mine.key_pem))
    assert "Sales (Dataverse) connection saved." in response.text
    assert f"thumbprint <code>{mine.thumbprint}</code>" in response.text
    stored = Connection.objects.get()
    assert stored.credential == CredentialKind.CERTIFICATE
    assert "PRIVATE KEY" not in stored.secret_encrypted
    assert "PRIVATE KEY" in secret_decrypt(stored.secret_encrypted)

    client = connection_client(connection=stored, actor=manager, purpose="read accounts")
    assert [r["name"] for p in client.pages("accounts") for r in p.records] == ["Contoso"]
    assert len(sales.tokens_seen) == 1  # a token the provider issued to the certificate's app
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    key_body = mine.key_pem.splitlines()[1]
    assert key_body not in dump.getvalue() and key_body not in caplog.text
    assert mine.thumbprint in Activity.objects.get(verb="connection_set").description


def test_a_certificate_the_app_registration_does_not_have_is_refused_by_entra(
    client_for, migration, manager, sales
):
    # A valid pair, but not the one "uploaded to the app registration": the provider checks the
    # assertion's signature against the registered key, as Entra ID does.
    other = AppCertificate()
    save(client_for("manager"), migration, details(sales.url, other.certificate_pem, other.key_pem))
    client = connection_client(connection=Connection.objects.get(), actor=manager, purpose="read")
    with pytest.raises(TokenError, match="Microsoft Entra ID refused the app registration: invalid_client"):
        list(client.pages("accounts"))
    assert not sales.received


def test_a_key_that_is_not_the_certificates_is_refused(client_for, migration, entra):
    other = AppCertificate()
    response = save(
        client_for("manager"), migration,
        details("https://contoso.crm.dynamics.com", entra.app_certificate.certificate_pem, other.key_pem),
    )  # fmt: skip
    assert "The private key is not the certificate&#x27;s: upload the key made with this certificate" in (
        response.text
    )
    assert not Connection.objects.exists()


def test_an_expired_certificate_is_refused_with_its_date(client_for, migration):
    expired = AppCertificate(valid_days=-1)
    response = save(
        client_for("manager"), migration,
        details("https://contoso.crm.dynamics.com", expired.certificate_pem, expired.key_pem),
    )  # fmt: skip
    day = expired.certificate.not_valid_after_utc.strftime("%Y-%m-%d")
    assert f"The certificate expired on {day}: make a new one" in response.text
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("certificate", "key", "message"),
    [
        ("a .pfx is binary", None, "The certificate is not a PEM file (text starting with -----BEGIN CERT"),
        (None, "MIIEvQIBADANBg", "The private key is not a PEM file (text starting with -----BEGIN PRIVATE"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None,
         "The certificate&#x27;s PEM text cannot be read"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_pem_says_how_to_export_it(
    client_for, migration, entra, certificate, key, message
):
    mine = entra.app_certificate
    form = details(
        "https://contoso.crm.dynamics.com", certificate or mine.certificate_pem, key or mine.key_pem
    )
    response = save(client_for("manager"), migration, form)
    assert message in response.text
    assert not Connection.objects.exists()


def test_a_certificate_needs_both_files(client_for, migration, entra):
    form = details("https://contoso.crm.dynamics.com", entra.app_certificate.certificate_pem, "")
    del form["private_key"]
    response = save(client_for("manager"), migration, form)
    assert "Upload this file (PEM) for a certificate credential." in response.text
    assert not Connection.objects.exists()


def test_replacing_a_certificate_with_a_secret_forgets_the_certificate(client_for, migration, entra):
    mine = entra.app_certificate
    client = client_for("manager")
    save(client, migration, details("https://contoso.crm.dynamics.com", mine.certificate_pem, mine.key_pem))
    form = {"kind": "sales", "url": "https://contoso.crm.dynamics.com", "tenant_id": TENANT,
            "client_id": CERTIFICATE_CLIENT_ID, "credential": "secret",
            "client_secret": "s3cret"}  # fmt: skip
    page = save(client, migration, form).text
    stored = Connection.objects.get()
    assert (stored.credential, stored.certificate_pem, stored.certificate_thumbprint) == ("secret", "", "")
    assert secret_decrypt(stored.secret_encrypted) == "s3cret"
    assert mine.thumbprint not in page
