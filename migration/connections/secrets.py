"""Client secrets encrypted at rest with P2C_SECRETS_KEY (Fernet: AES with an HMAC). Several keys
rotate: the first encrypts, any decrypts; `secret_reencrypt` moves a stored secret to the first."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils import timezone

from ..dynamics.tokens import given_token_check


class SecretsKeyMissing(Exception):
    pass


def _fernet() -> MultiFernet:
    keys = settings.P2C_SECRETS_KEY
    if not keys:
        raise SecretsKeyMissing(
            "Secrets cannot be stored: set P2C_SECRETS_KEY (see docs/connections.md) and restart."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise SecretsKeyMissing(
            "P2C_SECRETS_KEY is not a list of Fernet keys (32 url-safe base64 bytes each)."
        ) from None


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretsKeyMissing(
            "The stored secret cannot be decrypted with P2C_SECRETS_KEY (a key removed too early?): "
            "set the connection's secret again."
        ) from None


def secret_seal_for(secret: str, seconds: int) -> str:
    """A secret for one run, handed to a worker inside its task message: encrypted, so the broker
    (Redis, or the filesystem queue when embedded) never holds it in plain text, and refused by
    `secret_unseal` once `seconds` have passed."""
    return _fernet().encrypt(secret.encode()).decode() + f"~{max(1, int(seconds))}"


def token_sealed_for(access_token: str, url: str) -> str:
    """A token given for one run against `url`, checked (expiry, environment: `TokenError` says
    what is wrong before anything is sent) and sealed for its task's message; "" when none given."""
    if not access_token.strip():
        return ""
    expires = given_token_check(access_token, resource=url)
    return secret_seal_for(access_token.strip(), (expires - timezone.now()).total_seconds())


def secret_unseal(sealed: str) -> str:
    token, _, seconds = sealed.rpartition("~")
    try:
        return _fernet().decrypt(token.encode(), ttl=int(seconds)).decode()
    except (InvalidToken, ValueError):
        raise SecretsKeyMissing(
            "The access token given for this run has expired or P2C_SECRETS_KEY changed: start it "
            "again with a new token."
        ) from None


def secret_reencrypt(token: str) -> str:
    """The same secret under the first key (after a rotation)."""
    return _fernet().rotate(token.encode()).decode()


def secret_under_first_key(token: str) -> bool:
    """Whether the stored secret is already encrypted with the first key of P2C_SECRETS_KEY."""
    _fernet()  # the same message as everywhere when the variable is missing or malformed
    try:
        Fernet(settings.P2C_SECRETS_KEY[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def secret_readable(token: str) -> bool:
    """Whether any key of P2C_SECRETS_KEY decrypts the stored secret."""
    try:
        _fernet().decrypt(token.encode())
    except InvalidToken:
        return False
    return True
