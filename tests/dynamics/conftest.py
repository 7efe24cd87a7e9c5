"""An environment to read from: the strict emulator (tests/dataverse_emulator.py) behind TLS, and
access tokens from the real OpenID provider (tests/entra.py) through MSAL."""

import pytest

from migration.dynamics.tokens import ClientCredentials
from migration.dynamics.webapi import WebApiClient

from ..dataverse_emulator import Emulator
from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT, EntraProvider, TestCA


@pytest.fixture(scope="session")
def dynamics_ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("dynamics-ca"))


@pytest.fixture(scope="session")
def entra(tmp_path_factory, dynamics_ca):
    provider = EntraProvider(tmp_path_factory.mktemp("entra"), dynamics_ca, "https://127.0.0.1:1")
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def trust_test_ca(monkeypatch, dynamics_ca):
    # As a company CA would be: through REQUESTS_CA_BUNDLE, verification on (MSAL and requests).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(dynamics_ca.ca_file))


@pytest.fixture
def sales(dynamics_ca, entra):
    entra.state(accounts={})
    emulator = Emulator(dynamics_ca, issuer=entra.issuer)
    yield emulator
    emulator.stop()


def credentials_for(emulator, entra) -> ClientCredentials:
    return ClientCredentials(
        resource=emulator.url,
        tenant_id=TENANT,
        client_id=DAEMON_CLIENT_ID,
        client_secret=DAEMON_CLIENT_SECRET,
        authority_url=entra.authority_url,
    )


@pytest.fixture
def sales_client(sales, entra):
    """A client that sleeps for real (pauses are short: Retry-After of 1 s)."""
    return WebApiClient(sales.url, tokens=credentials_for(sales, entra), backoff=0.05)
