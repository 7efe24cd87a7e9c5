"""A client for an environment from the credentials a consultant gives: an app registration
(P2C_TENANT_ID, P2C_CLIENT_ID, and P2C_CLIENT_SECRET or P2C_CLIENT_CERTIFICATE with P2C_CLIENT_KEY)
or a token they already have (P2C_ACCESS_TOKEN)."""

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .certificates import app_certificate
from .pauses import pauses_for
from .tokens import ClientCredentials, GivenToken, given_token_check
from .webapi import WebApiClient

APP_REGISTRATION = ("P2C_TENANT_ID", "P2C_CLIENT_ID", "P2C_CLIENT_SECRET")
DATAVERSE_API = "/api/data/v9.2/"
FNO_API = "/data/"


class CredentialsMissing(Exception):
    pass


def environment_url(url: str) -> str:
    """https://contoso.crm.dynamics.com, as given (a trailing slash or path dropped)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{url!r} is not an environment address: give https://<name>.crm.dynamics.com")
    return f"https://{parts.netloc}"


def tokens_from(environ: Mapping[str, str], *, resource: str, authority_url: str):
    if environ.get("P2C_ACCESS_TOKEN", "").strip():
        token = environ["P2C_ACCESS_TOKEN"].strip()
        given_token_check(token, resource=resource)  # expired or for another environment: say so now
        return GivenToken(token)
    if environ.get("P2C_CLIENT_CERTIFICATE", "").strip():
        return _certificate_credentials(environ, resource=resource, authority_url=authority_url)
    missing = [name for name in APP_REGISTRATION if not environ.get(name, "").strip()]
    if missing:
        raise CredentialsMissing(
            f"No credentials: set {', '.join(missing)} (an app registration with an application "
            "user in the environment), or P2C_ACCESS_TOKEN (az account get-access-token --resource URL)."
        )
    return ClientCredentials(
        resource=resource,
        tenant_id=environ["P2C_TENANT_ID"].strip(),
        client_id=environ["P2C_CLIENT_ID"].strip(),
        client_secret=environ["P2C_CLIENT_SECRET"].strip(),
        authority_url=authority_url,
    )


def _certificate_credentials(environ: Mapping[str, str], *, resource: str, authority_url: str):
    """P2C_CLIENT_CERTIFICATE and P2C_CLIENT_KEY: PEM files of the app registration's certificate
    and its private key (instead of P2C_CLIENT_SECRET)."""
    needed = ("P2C_TENANT_ID", "P2C_CLIENT_ID", "P2C_CLIENT_CERTIFICATE", "P2C_CLIENT_KEY")
    if missing := [name for name in needed if not environ.get(name, "").strip()]:
        raise CredentialsMissing(f"A certificate needs {', '.join(missing)} too.")
    files = {}
    for name in ("P2C_CLIENT_CERTIFICATE", "P2C_CLIENT_KEY"):
        try:
            files[name] = Path(environ[name].strip()).read_bytes()
        except OSError as error:
            raise CredentialsMissing(
                f"{name}: cannot read {environ[name].strip()!r} ({error.strerror})."
            ) from None
    return ClientCredentials(
        resource=resource,
        tenant_id=environ["P2C_TENANT_ID"].strip(),
        client_id=environ["P2C_CLIENT_ID"].strip(),
        certificate=app_certificate(files["P2C_CLIENT_CERTIFICATE"], files["P2C_CLIENT_KEY"]),
        authority_url=authority_url,
    )


def client_from_env(
    url: str,
    environ: Mapping[str, str],
    *,
    api_path: str = DATAVERSE_API,
    authority_url: str,
    redis_url: str = "",
    concurrency: int = 4,
) -> WebApiClient:
    base = environment_url(url)
    tokens = tokens_from(environ, resource=base, authority_url=authority_url)
    return WebApiClient(
        base, tokens=tokens, api_path=api_path, pauses=pauses_for(redis_url), max_concurrency=concurrency
    )
