"""Access tokens for an environment: an app registration's client credentials through MSAL, or a
token the user already has (used once, never stored)."""

import threading

import msal

DEFAULT_AUTHORITY_URL = "https://login.microsoftonline.com"


class TokenError(Exception):
    """No token could be had: the message says what Entra ID answered and what to check."""


class ClientCredentials:
    """An app registration (tenant, client id, secret) with an application user in the
    environment. The token is kept until the environment refuses it (401), then fetched again."""

    def __init__(
        self,
        *,
        resource: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        authority_url: str = DEFAULT_AUTHORITY_URL,
    ):
        self.resource = resource.rstrip("/")
        self.principal = client_id
        self._app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=client_secret,
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
                " Check the tenant id, client id and secret."
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
