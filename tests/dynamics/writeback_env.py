"""A Sales environment in the emulator holding the records of a step-8 job's export, before
dual-write filled them: the target columns empty, with the metadata Dataverse gives (types,
MaxLength, choices, navigation properties) so that a write-back is refused as Dataverse refuses."""

import csv
import uuid

from migration.engine import TABLES

from ..dataverse_emulator import FORMATTED, LOOKUP_TABLE

COMPANIES = {"USMF": "c0000000-0000-0000-0000-00000000005f", "DEMF": "c0000000-0000-0000-0000-00000000de0f"}
GROUP_10_USMF = "60000000-0000-0000-0000-000000000010"
EXPORTED = "2021-01-03T00:00:00Z"  # every record's modifiedon: before the export was uploaded

# Navigation property names chosen unlike their columns on purpose: the app must read them from
# the metadata (ManyToOneRelationships), never derive them from the column's name.
NAVIGATION = {
    "msdyn_company": {"msdyn_CompanyRef": ("cdm_company", "cdm_companies")},
    "msdyn_customergroupid": {"msdyn_CustomerGroupRef": ("msdyn_customergroup", "msdyn_customergroups")},
    "msdyn_invoicecustomerid": {
        "msdyn_InvoiceCustomer_account": ("account", "accounts"),
        "msdyn_InvoiceCustomer_contact": ("contact", "contacts"),
    },
}
KINDS = {
    "msdyn_company": "Lookup",
    "msdyn_customergroupid": "Lookup",
    "msdyn_invoicecustomerid": "Customer",
    "customertypecode": "Picklist",
    "msdyn_contactfor": "Picklist",
    "msdyn_ordertype": "Picklist",
    "msdyn_sellable": "Boolean",
    "msdyn_requestedreceiptdate": "DateTime",
}
OPTIONS = {
    "customertypecode": {1: "Competitor", 3: "Customer", 11: "Vendor"},
    "msdyn_contactfor": {192350000: "Customer", 192350001: "Vendor"},
    "msdyn_ordertype": {192350000: "Item based", 192350001: "Service based"},
}
MAX_LENGTHS = {
    "msdyn_salesordernumber": 20,
    "msdyn_quotenumber": 20,
    "shipto_country": 80,
    "msdyn_language": 10,
}
ENTITY_SETS = {
    "account": "accounts", "contact": "contacts", "salesorder": "salesorders", "quote": "quotes",
    "salesorderdetail": "salesorderdetails", "quotedetail": "quotedetails",
}  # fmt: skip
CLOSED = {
    "salesorder": {4: "The order is invoiced: it cannot be changed."},
    "quote": {2: "The quote is won: it cannot be changed.", 3: "The quote is closed: it cannot be changed."},
}


def customer_guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"account:{name}"))


def records_of(table_key: str, export_path) -> list[dict]:
    """The export's records as Sales holds them before the write-back: targets empty."""
    table = TABLES[table_key]
    with open(export_path, encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    key = f"{table.entity}id"
    records = []
    for row in rows:
        guid = next(iter(row.values())).strip().lower()
        record = {key: guid, "modifiedon": EXPORTED, "statecode": 0, "@odata.etag": 'W/"1"'}
        if table.entity in CLOSED:
            customer = row.get("Customer") or row.get("Potential Customer", "")
            status = row.get("Status Reason") or row.get("Status")
            record |= {
                "_customerid_value": customer_guid(customer),
                "_customerid_value" + FORMATTED: customer,
                "_customerid_value" + LOOKUP_TABLE: "account",
            }
            closed = {"salesorder": {"Invoiced": 4}, "quote": {"Won": 2, "Closed": 3}}[table.entity]
            record["statecode"] = closed.get(status, 0)
        records.append(record)
    return records


def add_environment(emulator, table_key: str, export_path) -> list[dict]:
    """The table and what its lookups name: companies, customer groups, the customers."""
    table = TABLES[table_key]
    records = records_of(table_key, export_path)
    columns = {"modifiedon": "DateTime", "statecode": "State"}
    navigation = {}
    for target in table.targets:
        logical = target.col.logical
        columns[logical] = KINDS.get(logical, "String")
        for nav, (entity, entity_set) in NAVIGATION.get(logical, {}).items():
            navigation[nav] = (logical, entity, entity_set)
    if table.entity in CLOSED:
        columns["customerid"] = "Customer"
    emulator.add_table(
        ENTITY_SETS[table.entity], table.entity, f"{table.entity}id", columns, records,
        max_lengths={c: n for c, n in MAX_LENGTHS.items() if c in columns},
        options={c: o for c, o in OPTIONS.items() if c in columns},
        navigation=navigation, closed=CLOSED.get(table.entity, {}),
    )  # fmt: skip
    emulator.add_table(
        "cdm_companies", "cdm_company", "cdm_companyid", ["cdm_companycode"],
        [{"cdm_companyid": g, "cdm_companycode": code} for code, g in COMPANIES.items()],
    )  # fmt: skip
    emulator.add_table(
        "msdyn_customergroups", "msdyn_customergroup", "msdyn_customergroupid",
        {"msdyn_groupid": "String", "msdyn_company": "Lookup"},
        [{"msdyn_customergroupid": GROUP_10_USMF, "msdyn_groupid": "10",
          "_msdyn_company_value": COMPANIES["USMF"]}],
    )  # fmt: skip
    if table.entity in CLOSED and "accounts" not in emulator.tables:
        customers = {r["_customerid_value"] for r in records}
        emulator.add_table(
            "accounts", "account", "accountid", ["name"], [{"accountid": g} for g in customers]
        )
        emulator.add_table("contacts", "contact", "contactid", ["fullname"], [])
    return records
