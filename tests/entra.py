"""A real OpenID provider standing in for Microsoft Entra ID, for the "Sign in with Microsoft" tests.

node-oidc-provider (tests/oidc_provider, installed by `make test` with `npm ci`) serves over TLS on
127.0.0.1 with a certificate of a certificate authority the test makes: the app trusts that CA
through REQUESTS_CA_BUNDLE, as it would a company CA, with verification on; Chromium trusts the
certificate's key only (--ignore-certificate-errors-spki-list).
"""

import base64
import datetime
import hashlib
import ipaddress
import json
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
CLIENT_SECRET = "test-client-secret-not-for-production"
PROJECT_MANAGER = "P2C.ProjectManager"
# The app registration the wizard reads Sales and F&O as (client credentials).
DAEMON_CLIENT_ID = "0f1a7c52-3b9e-4d0c-8a41-5c7e2b9d6f10"
DAEMON_CLIENT_SECRET = "test-daemon-secret-not-for-production"
# The same kind of app registration with a certificate instead of a secret (private_key_jwt).
CERTIFICATE_CLIENT_ID = "5b0e9a13-8c7d-4f62-9e1a-3d4c5b6a7f80"


class TestCA:
    """A certificate authority made for one test run, and a server certificate for 127.0.0.1."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "P2C Wizard test CA")])
        ca_cert = (
            _builder(ca_name, ca_name, ca_key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        self.server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = (
            _builder(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
                ca_name,
                self.server_key.public_key(),
                now,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file = folder / "ca.pem"
        self.cert_file = folder / "server.pem"
        self.key_file = folder / "server-key.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(
            self.server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    @property
    def server_spki(self) -> str:
        """The server key's fingerprint as Chromium's --ignore-certificate-errors-spki-list takes it."""
        der = self.server_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _builder(subject, issuer, public_key, now) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def account(name: str, *, tenant: str = TENANT, roles: tuple[str, ...] = ()) -> dict:
    """An Entra ID user as the ID token describes them; the object id is fixed per name."""
    oid = hashlib.sha256(f"{tenant}/{name}".encode()).hexdigest()
    return {
        "tid": tenant,
        "oid": f"{oid[:8]}-{oid[8:12]}-{oid[12:16]}-{oid[16:20]}-{oid[20:32]}",
        "name": name.title() + " Silva",
        "preferred_username": f"{name}@contoso.example",
        "email": f"{name}@contoso.example",
        "roles": list(roles),
    }


class AppCertificate:
    """A certificate as one makes for an app registration: an RSA key and a self-signed certificate
    (PEM both); `valid_days` below 0 makes one that has expired."""

    def __init__(self, *, valid_days: int = 30, name: str = "P2C Wizard (read)"):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=max(1, -valid_days) + 1))
            .not_valid_after(now + datetime.timedelta(days=valid_days))
            .sign(self.key, hashes.SHA256())
        )
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        self.key_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the certificate, in capitals, as the app registration's Certificates page shows it."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()

    def public_jwk(self) -> dict:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return RSAKey.import_key(public).as_dict(private=False)


class EntraProvider:
    """node-oidc-provider in its own process; `state` (accounts, ID-token behaviour) is re-read at
    every sign-in."""

    def __init__(self, folder: Path, ca: TestCA, app_url: str):
        node = shutil.which("node")
        assert node, "node is needed for the Sign in with Microsoft tests (make test checks for it)"
        assert (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir(), (
            "The test OpenID provider is not installed: run `make test`, or "
            "`npm ci --prefix tests/oidc_provider` once."
        )
        # The certificate "uploaded to the app registration": the provider knows its public key.
        self.app_certificate = AppCertificate()
        self.state_file = folder / "provider-state.json"
        self.state(accounts={})
        config = {
            "tenant": TENANT,
            "cert": str(ca.cert_file),
            "key": str(ca.key_file),
            "state_file": str(self.state_file),
            "client": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{app_url}/accounts/microsoft/callback/"],
                "post_logout_redirect_uris": [f"{app_url}/accounts/login/"],
            },
            "daemon": {"client_id": DAEMON_CLIENT_ID, "client_secret": DAEMON_CLIENT_SECRET},
            "daemon_certificate": {
                "client_id": CERTIFICATE_CLIENT_ID,
                "jwks": {"keys": [self.app_certificate.public_jwk()]},
            },
        }
        config_file = folder / "provider-config.json"
        config_file.write_text(json.dumps(config))
        self.process = subprocess.Popen(
            [node, str(PROVIDER_DIR / "provider.mjs"), str(config_file)],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=open(folder / "provider.log", "wb"),  # noqa: SIM115 (the process keeps it)
            text=True,
        )
        line = self.process.stdout.readline()
        assert line, f"The test OpenID provider did not start: see {folder / 'provider.log'}"
        self.issuer = json.loads(line)["issuer"]
        # What P2C_AUTHORITY_URL names: the host before /<tenant>, as https://login.microsoftonline.com.
        self.authority_url = self.issuer.removesuffix(f"/{TENANT}/v2.0")

    def state(self, *, accounts: dict, id_token: str = "valid", access_token_ttl: int = 3600) -> None:
        """Who can sign in and with which claims; how the next ID tokens are issued (valid,
        expired, or tampered with after signing); how long the daemon's access tokens live."""
        state = {"accounts": accounts, "id_token": id_token, "access_token_ttl": access_token_ttl}
        self.state_file.write_text(json.dumps(state))

    def app_settings(self, allowed_tenants: list[str] | None = None) -> dict:
        """The app's P2C_OIDC setting for this provider, as settings.py makes it from the environment."""
        return {
            "enabled": True,
            "tenant_id": TENANT,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "authority": self.issuer,
            "allowed_tenants": allowed_tenants or [TENANT],
        }

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
