"""Access tokens for an environment: an app registration's client credentials through MSAL, or a
token the user already has (used once, never stored)."""

import base64
import datetime as dt
import json
import threading

import msal

DEFAULT_AUTHORITY_URL = "https://login.microsoftonline.com"


class TokenError(Exception):
    """No token could be had: the message says what Entra ID answered and what to check."""


class ClientCredentials:
    """An app registration (tenant, client id, secret or certificate) with an application user in the
    environment. The token is kept until the environment refuses it (401), then fetched again."""

    def __init__(
        self,
        *,
        resource: str,
        tenant_id: str,
        client_id: str,
        client_secret: str = "",
        certificate=None,
        authority_url: str = DEFAULT_AUTHORITY_URL,
    ):
        """`certificate` (certificates.AppCertificate) instead of `client_secret`: MSAL signs a
        client assertion with its private key."""
        self.resource = resource.rstrip("/")
        self.principal = client_id
        self._app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=certificate.msal_credential() if certificate else client_secret,
            authority=f"{authority_url.rstrip('/')}/{tenant_id}",
            # Sovereign clouds and the tests' provider are not in Microsoft's instance list.
            instance_discovery=authority_url.rstrip("/") == DEFAULT_AUTHORITY_URL,
            token_cache=msal.TokenCache(),
        )
        self._token: str | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None:
                self._token = self._acquire()
            return self._token

    def refresh(self, refused: str) -> str:
        """A new token after the environment refused `refused` (another thread may have already
        replaced it)."""
        with self._lock:
            if self._token == refused:
                self._token = self._acquire(force=True)
            return self._token

    def _acquire(self, *, force: bool = False) -> str:
        scopes = [f"{self.resource}/.default"]
        if force:
            # MSAL would hand back its cached token, which the environment just refused.
            cached = self._app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)
            for token in list(cached):
                self._app.token_cache.remove_at(token)
        try:
            result = self._app.acquire_token_for_client(scopes=scopes)
        except ValueError as error:  # MSAL's way of saying the authority could not be read
            raise TokenError(f"Cannot reach the sign-in authority: {error}") from None
        if "access_token" not in result:
            # The description's first line is Entra's reason (AADSTS code); the rest is trace ids.
            reason = (result.get("error_description") or "").partition("\n")[0]
            raise TokenError(
                f"Microsoft Entra ID refused the app registration: {result.get('error')}: {reason}"
                " Check the tenant id, client id and secret (or certificate)."
            )
        return result["access_token"]


class GivenToken:
    """A token the user already has (az account get-access-token --resource URL): used as given;
    when the environment refuses it there is nothing to refresh it with."""

    principal = "the token given"

    def __init__(self, access_token: str):
        self._token = access_token

    def token(self) -> str:
        return self._token

    def refresh(self, refused: str) -> str:
        raise TokenError(
            "The environment refused the access token given (expired?): get a new one, e.g. "
            "az account get-access-token --resource URL, or use an app registration."
        )


def given_token_check(access_token: str, *, resource: str, now: dt.datetime | None = None) -> dt.datetime:
    """Before anything is sent: the token's expiry and audience, read from the JWT's claims without
    verifying its signature (the environment verifies it). Returns when it expires; TokenError
    saying what to do when it is not a token, has expired or is for another environment."""
    how = f"get one with: az account get-access-token --resource {resource} --query accessToken -o tsv"
    claims = _claims(access_token.strip())
    if claims is None:
        raise TokenError(f"That is not an access token (a JWT of three parts separated by dots): {how}")
    now = now or dt.datetime.now(dt.UTC)
    expires = dt.datetime.fromtimestamp(int(claims.get("exp", 0)), dt.UTC)
    if expires <= now:
        raise TokenError(f"The access token expired at {expires:%Y-%m-%d %H:%M} UTC: {how}")
    audiences = claims.get("aud", [])
    audiences = [audiences] if isinstance(audiences, str) else list(audiences)
    if resource.rstrip("/") not in [str(a).rstrip("/") for a in audiences]:
        shown = ", ".join(str(a) for a in audiences) or "no environment"
        raise TokenError(f"The access token is for {shown}, not {resource}: {how}")
    return expires


def _claims(token: str) -> dict | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:  # bad base64, bad UTF-8 or bad JSON alike
        return None
    return claims if isinstance(claims, dict) and "exp" in claims else None
