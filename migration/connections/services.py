"""Setting a migration's connections and using them: every change and every use in the activity
log, the secret encrypted and never written anywhere else."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..dynamics.certificates import AppCertificate, stored_certificate
from ..dynamics.connect import DATAVERSE_API, FNO_API, environment_url
from ..dynamics.pauses import pauses_for
from ..dynamics.tokens import ClientCredentials, GivenToken
from ..dynamics.webapi import WebApiClient
from ..models import Connection, ConnectionKind, CredentialKind, Migration
from ..services.activity import activity_record
from .secrets import (
    SecretsKeyMissing,
    secret_decrypt,
    secret_encrypt,
    secret_readable,
    secret_reencrypt,
    secret_under_first_key,
)


class ConnectionDetailsError(ValueError):
    """Bad connection details: the message says what to fix."""


def _guid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ConnectionDetailsError(
            f"The {what} is a GUID, as the app registration's Overview shows it."
        ) from None


def connection_save(
    *, migration: Migration, actor, kind: str, url: str, tenant_id: str, client_id: str,
    client_secret: str = "", certificate: AppCertificate | None = None,
) -> Connection:  # fmt: skip
    """Create or replace the connection of that kind, with a client secret or a certificate (checked
    by certificates.app_certificate); the secret or the private key is encrypted before it is kept."""
    try:
        url = environment_url(url)
    except ValueError as error:
        raise ConnectionDetailsError(str(error)) from None
    if not (client_secret or certificate):
        raise ConnectionDetailsError("Give the client secret or a certificate.")
    values = {
        "url": url,
        "tenant_id": _guid(tenant_id, "tenant id"),
        "client_id": _guid(client_id, "client id"),
        "set_by": actor,
        "set_at": timezone.now(),
    } | _credential_values(client_secret, certificate)
    connection, _ = Connection.objects.update_or_create(migration=migration, kind=kind, defaults=values)
    how = f"app {values['client_id']}" + (f", certificate {certificate.thumbprint}" if certificate else "")
    activity_record(
        migration=migration,
        actor=actor,
        verb="connection_set",
        description=f"Set the {connection.get_kind_display()} connection: {url}, {how}",
    )
    return connection


def _credential_values(client_secret: str, certificate: AppCertificate | None) -> dict:
    if certificate is None:
        return {"credential": CredentialKind.SECRET, "secret_encrypted": secret_encrypt(client_secret),
                "certificate_pem": "", "certificate_thumbprint": "", "certificate_expires": None}  # fmt: skip
    return {
        "credential": CredentialKind.CERTIFICATE,
        "secret_encrypted": secret_encrypt(certificate.private_key_pem),
        "certificate_pem": certificate.certificate_pem,
        "certificate_thumbprint": certificate.thumbprint,
        "certificate_expires": certificate.expires,
    }


def _credentials(connection: Connection) -> ClientCredentials:
    secret = secret_decrypt(connection.secret_encrypted)
    if connection.credential == CredentialKind.CERTIFICATE:
        given = {"certificate": stored_certificate(connection.certificate_pem, secret)}
    else:
        given = {"client_secret": secret}
    return ClientCredentials(
        resource=connection.url, tenant_id=connection.tenant_id, client_id=connection.client_id,
        authority_url=settings.P2C_AUTHORITY_URL, **given,
    )  # fmt: skip


def connection_client(*, connection: Connection, actor, purpose: str, access_token: str = "") -> WebApiClient:
    """A client for the connection's environment, as its app registration or with a token given
    for this use only (not stored); the use is logged."""
    if access_token:
        tokens, who = GivenToken(access_token), "a token given for this use"
    else:
        tokens = _credentials(connection)
        who = f"app {connection.client_id}"
    activity_record(
        migration=connection.migration,
        actor=actor,
        verb="connection_used",
        description=f"Used the {connection.get_kind_display()} connection ({who}): {purpose}",
    )
    api_path = DATAVERSE_API if connection.kind == ConnectionKind.SALES else FNO_API
    return WebApiClient(
        connection.url,
        tokens=tokens,
        api_path=api_path,
        pauses=pauses_for(settings.P2C_DYNAMICS_PAUSES_URL),
        max_concurrency=settings.P2C_DYNAMICS_CONCURRENCY,
    )


class SecretsUnreadable(SecretsKeyMissing):
    """Some stored secret is decrypted by no key: a rotation would lose it."""


@dataclass(frozen=True)
class Rotation:
    moved: int  # re-encrypted with the first key
    current: int  # already under the first key: left as they were


def secrets_rotate() -> Rotation:
    """After a key rotation (a new key put first in P2C_SECRETS_KEY): every stored secret
    re-encrypted with the first key. All or nothing: if any secret cannot be decrypted by any key,
    nothing is changed and the error names each connection. Run again, it moves nothing."""
    with transaction.atomic():
        connections = list(Connection.objects.select_for_update().select_related("migration").order_by("pk"))
        unreadable = [c for c in connections if not secret_readable(c.secret_encrypted)]
        if unreadable:
            names = "; ".join(f"{c.migration.name}: {c.get_kind_display()} ({c.url})" for c in unreadable)
            raise SecretsUnreadable(
                f"{len(unreadable)} stored secret(s) cannot be decrypted by any key of P2C_SECRETS_KEY "
                f"(a key removed too early?): {names}. Nothing was changed: put the old key back "
                "after the new one, or set those connections' secrets again."
            )
        stale = [c for c in connections if not secret_under_first_key(c.secret_encrypted)]
        for connection in stale:
            Connection.objects.filter(pk=connection.pk).update(
                secret_encrypted=secret_reencrypt(connection.secret_encrypted)
            )
    return Rotation(moved=len(stale), current=len(connections) - len(stale))
