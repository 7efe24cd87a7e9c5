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


# The tables the environment check reads, by entity set: the emulator holds them for `ready`.
TABLES = {
    "accounts": "account",
    "contacts": "contact",
    "salesorders": "salesorder",
    "salesorderdetails": "salesorderdetail",
    "quotes": "quote",
    "quotedetails": "quotedetail",
}


@pytest.fixture
def ready(sales, entra, settings, monkeypatch):
    """An environment where steps 3 to 7 are done: P2C gone, dual-write in, USMF and DEMF
    companies, the only duplicate detection rule unpublished."""
    settings.P2C_AUTHORITY_URL = entra.authority_url
    for name, value in (("P2C_TENANT_ID", TENANT), ("P2C_CLIENT_ID", DAEMON_CLIENT_ID),
                        ("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)):  # fmt: skip
        monkeypatch.setenv(name, value)
    for entity_set, entity in TABLES.items():
        sales.add_table(entity_set, entity, f"{entity}id", {"name": "String", "msdyn_company": "Lookup"})
    companies = [
        {"cdm_companyid": f"c{n}", "cdm_companycode": code} for n, code in enumerate(("USMF", "DEMF"))
    ]
    sales.add_table("cdm_companies", "cdm_company", "cdm_companyid", {"cdm_companycode": "String"}, companies)
    rules = [{"duplicateruleid": "r1", "name": "Accounts with the same name", "statecode": 0}]
    sales.add_table(
        "duplicaterules", "duplicaterule", "duplicateruleid", {"name": "String", "statecode": "State"}, rules
    )
    return sales
