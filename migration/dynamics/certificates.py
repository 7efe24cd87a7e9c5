"""An app registration's certificate (instead of a client secret): the PEM certificate uploaded
to the registration and its PEM private key, checked before they are kept, and handed to MSAL in
the form MSAL documents for `client_credential`: {"private_key": PEM, "public_certificate": PEM}
(MSAL then signs its client assertion with PS256 and the certificate's SHA-256 thumbprint)."""

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HOW_TO_EXPORT = (
    "e.g. openssl pkcs12 -in app.pfx -nokeys -out app.crt and openssl pkcs12 -in app.pfx -nocerts "
    "-nodes -out app.key"
)


class CertificateError(ValueError):
    """The certificate or its key cannot be used: the message says what is wrong and what to do."""


@dataclass(frozen=True)
class AppCertificate:
    certificate_pem: str
    private_key_pem: str
    thumbprint: str  # SHA-1, in capitals, as the app registration's Certificates page shows it
    expires: dt.datetime

    def msal_credential(self) -> dict:
        return {"private_key": self.private_key_pem, "public_certificate": self.certificate_pem}


def app_certificate(certificate_pem: bytes, private_key_pem: bytes, *, now: dt.datetime | None = None):
    """The certificate and key, checked: both PEM, an RSA key (what Entra ID takes), the key the
    certificate's, the certificate valid now."""
    certificate = _certificate(certificate_pem)
    key = _private_key(private_key_pem)
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():
        raise CertificateError(
            "The private key is not the certificate's: upload the key made with this certificate "
            "(the pair exported from the same .pfx)."
        )
    now = now or dt.datetime.now(dt.UTC)
    if certificate.not_valid_after_utc <= now:
        raise CertificateError(
            f"The certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}: make a new one, "
            "upload it to the app registration (Certificates & secrets), and give it here."
        )
    if certificate.not_valid_before_utc > now:
        raise CertificateError(
            f"The certificate is valid only from {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC."
        )
    return AppCertificate(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),
        expires=certificate.not_valid_after_utc,
    )


def stored_certificate(certificate_pem: str, private_key_pem: str) -> AppCertificate:
    """A certificate kept earlier (checked then): for MSAL, without checking the dates again (an
    expired one is refused by Entra ID with its own message)."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return AppCertificate(
        certificate_pem, private_key_pem,
        certificate.fingerprint(hashes.SHA1()).hex().upper(),
        certificate.not_valid_after_utc,
    )  # fmt: skip


def _certificate(data: bytes) -> x509.Certificate:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError(
            "The certificate is not a PEM file (text starting with -----BEGIN CERTIFICATE-----): "
            f"export it as PEM, {HOW_TO_EXPORT}."
        )
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CertificateError(
            "The certificate's PEM text cannot be read (cut short or changed?): export it again."
        ) from None


def _private_key(data: bytes) -> rsa.RSAPrivateKey:
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        raise CertificateError(
            "The private key is not a PEM file (text starting with -----BEGIN PRIVATE KEY-----): "
            f"export it as PEM, {HOW_TO_EXPORT}."
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateError(
            "The private key is protected by a password: export it without one (openssl pkey -in "
            "app.key -out app-open.key); it is stored encrypted here."
        ) from None
    except ValueError:
        raise CertificateError("The private key's PEM text cannot be read: export it again.") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(
            "The private key is not an RSA key: Microsoft Entra ID takes RSA certificates."
        )
    return key
