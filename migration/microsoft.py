"""Sign in with Microsoft: the OpenID Connect client (Authlib) for the configured Entra ID tenant.

Authlib does the protocol: discovery, PKCE (S256), state and nonce kept in the session, the code
exchange, and the ID token's checks (signature against the provider's published keys, issuer,
audience, expiry, nonce). Here: only what Microsoft needs on top of it, the issuer of a
multi-tenant authority and the claims the app relies on.
"""

from functools import lru_cache

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings

SCOPES = "openid profile email"
# A hung provider must not hold a web process: every call to it gives up after this.
TIMEOUT_SECONDS = 10
# The claims a sign-in needs: who (tenant and object id) and how they are shown.
REQUIRED_CLAIMS = ("tid", "oid")


def enabled() -> bool:
    return settings.P2C_OIDC["enabled"]


def client() -> DjangoOAuth2App:
    config = settings.P2C_OIDC
    return _client(config["authority"], config["client_id"], config["client_secret"])


@lru_cache(maxsize=4)
def _client(authority: str, client_id: str, client_secret: str) -> DjangoOAuth2App:
    """One client per configuration: it keeps the provider's metadata and keys between sign-ins
    (Authlib fetches the keys again when a token names one it does not know)."""
    return OAuth().register(
        "microsoft",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{authority}/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256", "default_timeout": TIMEOUT_SECONDS},
    )


def claims_options(oauth: DjangoOAuth2App) -> dict:
    """What the ID token must say beyond Authlib's own checks: issued by our authority for our
    client id, with a tenant and an object id."""

    def from_our_authority(claims, value) -> bool:
        return value == issuer_for(oauth.load_server_metadata()["issuer"], claims)

    options = {
        "iss": {"essential": True, "validate": from_our_authority},
        "aud": {"essential": True, "value": oauth.client_id},
    }
    return options | {claim: {"essential": True} for claim in REQUIRED_CLAIMS}


def issuer_for(issuer: str, claims: dict) -> str:
    """The issuer a token must name. A multi-tenant authority (organizations, common) publishes
    `https://login.microsoftonline.com/{tenantid}/v2.0`: the token's own tenant goes in."""
    return issuer.replace("{tenantid}", str(claims.get("tid", "")))


def sign_out_url(*, post_logout_redirect_uri: str) -> str:
    """Microsoft's sign-out (the provider's end_session_endpoint), coming back to our login page;
    empty when the provider publishes none."""
    oauth = client()
    if not oauth.load_server_metadata().get("end_session_endpoint"):
        return ""
    return oauth.create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri, client_id=oauth.client_id
    )["url"]
