"""Records as Sales' Web API returns them, shared by the dynamics tests."""

import base64
import csv
import json
import uuid

from ..helpers import ROOT

FORMATTED = "@OData.Community.Display.V1.FormattedValue"


def orders(count: int) -> list[dict]:
    return [
        {
            "salesorderid": f"00000000-0000-0000-0000-{n:012d}",
            "name": f"Order {n}",
            "msdyn_ordertype": 192350000,
            "msdyn_ordertype" + FORMATTED: "Item based",
        }
        for n in range(count)
    ]


SAMPLES = ROOT / "tests" / "samples" / "maker-portal-csv"


# How Dataverse types the samples' columns (anything else is text).
TYPES = {
    "customerid": "Customer",
    "parentcustomerid": "Customer",
    "transactioncurrencyid": "Lookup",
    "salesorderid": "Lookup",
    "quoteid": "Lookup",
    "productid": "Lookup",
    "statuscode": "Status",
    "statecode": "State",
    "customertypecode": "Picklist",
    "msdynce_processingstatus": "Picklist",
    "msdynce_isactivecustomer": "Boolean",
    "msdynce_iscompanyanaccount": "Boolean",
    "totalamount": "Money",
    "quantity": "Decimal",
    **dict.fromkeys(("createdon", "requestdeliveryby", "datefulfilled", "submitdate"), "DateTime"),
    **dict.fromkeys(("effectivefrom", "effectiveto"), "DateTime"),
}


def as_records(path):
    """The export's rows as the Web API returns them: lookups under _<name>_value, each labelled
    cell with its formatted value beside a stored value."""
    with path.open(encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    records = []
    for row in rows:
        record = {}
        for n, (column, text) in enumerate(row.items()):
            kind = TYPES.get(column, "String") if n else "String"  # first: the record's own id
            name = f"_{column}_value" if kind in ("Customer", "Lookup") else column
            if not text:
                record[name] = None
            elif kind in ("Money", "Decimal"):
                record[name] = int(text) if text.isdigit() else float(text)
            elif kind == "String":
                record[name] = text
            else:
                record[name] = str(uuid.uuid5(uuid.NAMESPACE_URL, text))  # the stored value
                record[name + FORMATTED] = text
        records.append(record)
    return list(rows[0]), records


def unsigned_token(**claims) -> str:
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
