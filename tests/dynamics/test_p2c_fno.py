"""manage.py p2c_fno read: an F&O entity through OData, every company unless named, into the
columns step 9's reconciliation reads."""

import csv

import pytest
from django.core.management import call_command

from migration.engine.step9.reconcile import check_fno_export

from ..dataverse_emulator import Emulator
from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT

FIELDS = ("dataAreaId", "CustomerAccount", "CustomerGroupId", "PartyNumber", "PartyType")


@pytest.fixture
def fno(dynamics_ca, entra, settings, monkeypatch):
    settings.P2C_AUTHORITY_URL = entra.authority_url
    for name, value in (("P2C_TENANT_ID", TENANT), ("P2C_CLIENT_ID", DAEMON_CLIENT_ID),
                        ("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)):  # fmt: skip
        monkeypatch.setenv(name, value)
    # F&O pages on its own: 3 rows a page here (10,000 there), whatever the client prefers.
    emulator = Emulator(dynamics_ca, issuer=entra.issuer, api_path="/data/", default_page_size=3)
    customers = [
        {"dataAreaId": company, "CustomerAccount": f"{company.upper()}-{n:03d}", "CustomerGroupId": "10",
         "PartyNumber": f"P{n:05d}", "PartyType": "Organization"}
        for company in ("usmf", "demf") for n in range(4)
    ]  # fmt: skip
    emulator.add_table(
        "CustomersV3", "CustomerV3", "CustomerAccount", dict.fromkeys(FIELDS, "String"), customers
    )
    yield emulator
    emulator.stop()


def rows(path):
    with path.open(encoding="utf-8-sig") as file:
        return list(csv.DictReader(file))


def test_every_company_is_read_into_the_columns_the_reconciliation_reads(fno, tmp_path):
    out = tmp_path / "customers.csv"
    call_command("p2c_fno", "read", "customers", str(out), "--url", fno.url)
    read = rows(out)
    assert list(read[0]) == ["DATAAREAID", "CUSTOMERACCOUNT", "CUSTOMERGROUPID", "PARTYNUMBER", "PARTYTYPE"]
    assert [r["CUSTOMERACCOUNT"] for r in read] == [
        f"{c}-{n:03d}" for c in ("USMF", "DEMF") for n in range(4)
    ]
    assert len([r for r in fno.received if r.path == "/data/CustomersV3"]) == 3  # every nextLink followed
    check_fno_export(out, "account")  # step 9 takes it (raises when it would not)


def test_named_companies_only(fno, tmp_path):
    out = tmp_path / "customers.csv"
    call_command("p2c_fno", "read", "customers", str(out), "--url", fno.url, "--company", "DEMF")
    assert {r["DATAAREAID"] for r in rows(out)} == {"demf"} and len(rows(out)) == 4


def test_contact_persons_are_read_into_the_columns_step_9_reconciles_contacts_against(fno, tmp_path):
    fields = ("dataAreaId", "ContactPersonId", "ContactPersonPartyNumber", "AssociatedContactType",
              "AssociatedContactNumber")  # fmt: skip
    persons = [
        {"dataAreaId": "usmf", "ContactPersonId": f"CP-{n}", "ContactPersonPartyNumber": f"P{n:05d}",
         "AssociatedContactType": "Customer", "AssociatedContactNumber": "US-001"}
        for n in range(5)
    ]  # fmt: skip
    columns = dict.fromkeys(fields, "String")
    fno.add_table("CDSContactPersonsV2", "CDSContactPersonV2", "ContactPersonId", columns, persons)
    out = tmp_path / "contact_persons.csv"
    call_command("p2c_fno", "read", "contact_persons", str(out), "--url", fno.url)
    read = rows(out)
    assert list(read[0])[:3] == ["DATAAREAID", "CONTACTPERSONID", "CONTACTPERSONPARTYNUMBER"]
    assert [(r["CONTACTPERSONID"], r["CONTACTPERSONPARTYNUMBER"]) for r in read] == [
        (f"CP-{n}", f"P{n:05d}") for n in range(5)
    ]
    # Step 9 takes it as the contact persons export (not the Customers V3 one), by its key column.
    check_fno_export(out, "contact")
    check_fno_export(out, "contact", entity="Contact persons")
