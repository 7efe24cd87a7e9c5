"""An environment to read from: the strict emulator (tests/dataverse_emulator.py) behind TLS, and
access tokens from the real OpenID provider (tests/entra.py) through MSAL."""

import pytest
from cryptography.fernet import Fernet

from migration.connections.services import connection_save
from migration.dynamics.tokens import ClientCredentials
from migration.dynamics.webapi import WebApiClient
from migration.services import jobs

from ..dataverse_emulator import Emulator
from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT, EntraProvider, TestCA
from ..helpers import SAMPLES as ALL_SAMPLES
from ..helpers import run, upload_inspected
from .helpers import SAMPLES, TYPES, as_records
from .writeback_env import add_environment


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


TABLES = {
    "accounts": "account",
    "contacts": "contact",
    "salesorders": "salesorder",
    "salesorderdetails": "salesorderdetail",
    "quotes": "quote",
    "quotedetails": "quotedetail",
}
OTHER_TABLES = {"invoices": "invoice", "invoicedetails": "invoicedetail", "products": "product"}
# A few of the msdyn_language choices (reference.md: the labels are the codes).
LANGUAGES = {192350004: "de", 192350009: "en-gb", 192350015: "en-us"}


@pytest.fixture
def ready(sales, entra, settings, monkeypatch):
    """An environment where steps 3 to 7 are done and step 8 may write: P2C gone, dual-write in,
    USMF and DEMF companies, each with customer group 10, the order's language choices, the only
    duplicate detection rule unpublished; the application user may write every table, each with
    optimistic concurrency, and no order or quote is closed."""
    settings.P2C_AUTHORITY_URL = entra.authority_url
    for name, value in (("P2C_TENANT_ID", TENANT), ("P2C_CLIENT_ID", DAEMON_CLIENT_ID),
                        ("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)):  # fmt: skip
        monkeypatch.setenv(name, value)
    for entity_set, entity in TABLES.items():
        columns = {"name": "String", "msdyn_company": "Lookup", "statecode": "State"}
        sales.add_table(entity_set, entity, f"{entity}id", columns)
    for entity_set, entity in OTHER_TABLES.items():
        sales.add_table(entity_set, entity, f"{entity}id", {"name": "String"})
    sales.tables["salesorders"].columns["msdyn_language"] = "Picklist"
    sales.tables["salesorders"].choices["msdyn_language"] = LANGUAGES
    sales.tables["salesorders"].rows = [{"salesorderid": "o1", "name": "open", "statecode": 0}]
    sales.tables["quotes"].rows = [{"quoteid": "q1", "name": "draft", "statecode": 0}]
    companies = [
        {"cdm_companyid": f"c{n}", "cdm_companycode": code} for n, code in enumerate(("USMF", "DEMF"))
    ]
    groups = [{"msdyn_customergroupid": f"g{n}", "msdyn_groupid": "10", "_msdyn_company_value": f"c{n}"}
              for n in range(2)]  # fmt: skip
    sales.add_table(
        "msdyn_customergroups", "msdyn_customergroup", "msdyn_customergroupid",
        {"msdyn_groupid": "String", "msdyn_company": "Lookup"}, groups,
    )  # fmt: skip
    sales.add_table("cdm_companies", "cdm_company", "cdm_companyid", {"cdm_companycode": "String"}, companies)
    rules = [{"duplicateruleid": "r1", "name": "Accounts with the same name", "statecode": 0}]
    sales.add_table(
        "duplicaterules", "duplicaterule", "duplicateruleid", {"name": "String", "statecode": "State"}, rules
    )
    return sales


def load_orders(sales, folder):
    """The maker-portal sample's 120 orders in the emulator's salesorders; their export's path."""
    export = folder / "order.csv"
    export.write_text(
        (SAMPLES / "order.csv").read_text(encoding="utf-8-sig").replace("orderid,", "salesorderid,", 1),
        encoding="utf-8-sig",
    )
    headers, records = as_records(export)
    sales.add_table(
        "salesorders", "salesorder", headers[0], {h: TYPES.get(h, "String") for h in headers[1:]}, records
    )
    return export


@pytest.fixture
def connected(migration, manager, sales, entra, settings, monkeypatch, tmp_path):
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    settings.P2C_AUTHORITY_URL = entra.authority_url
    export = load_orders(sales, tmp_path)
    connection = connection_save(
        migration=migration, actor=manager, kind="sales", url=sales.url,
        tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret=DAEMON_CLIENT_SECRET,
    )  # fmt: skip
    for name, value in (("P2C_TENANT_ID", TENANT), ("P2C_CLIENT_ID", DAEMON_CLIENT_ID),
                        ("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)):  # fmt: skip
        monkeypatch.setenv(name, value)
    return connection, export


@pytest.fixture
def connect(migration, manager, consultant, sales, entra, settings):
    """A succeeded job of the table, and its records in Sales before dual-write filled them."""
    settings.P2C_SECRETS_KEY = [Fernet.generate_key().decode()]
    settings.P2C_AUTHORITY_URL = entra.authority_url

    def connected(table: str):
        upload_inspected(migration, consultant, f"{table}.csv")
        job = run(jobs.job_start(migration=migration, table=table, actor=consultant))
        assert job.state == "succeeded", job.message
        add_environment(sales, table, ALL_SAMPLES / f"{table}.csv")
        connection_save(
            migration=migration, actor=manager, kind="sales", url=sales.url,
            tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret=DAEMON_CLIENT_SECRET,
        )  # fmt: skip
        return job

    return connected
