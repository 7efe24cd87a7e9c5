"""Quote: as order, except its number (Quote ID -> Quote Number), its customer (Potential
Customer) and a shorter receipt chain (Requested Receipt Date, Requested Delivery Date)."""

from __future__ import annotations

from ..rules.schema import Checked, Col, EntitySpec, Keep, Source, Table
from .order import (
    DELIVERY_DATE,
    HEADER_COMPARES,
    HEADER_ISSUES,
    ITEM_BASED,
    RECEIPT_DATE,
    SHIP_COUNTRY,
    header_targets,
)

QUOTE_ID = Col("Quote ID", "quotenumber")

# --- step 8's import pack and step 9's F&O entities ------------------------------------------

FNO_ENTITIES = (
    EntitySpec(
        "quote",
        "Sales quotation headers V2",
        "Order Type is Item based; Status Draft or Active when the output has it",
        ("Quote Number", "msdyn_quotenumber"),
        ("SALESQUOTATIONNUMBER",),
        (
            ITEM_BASED,
            Keep(("Status", "statecode"), frozenset({"draft", "active", "0", "1"}), required=False),
        ),
        HEADER_COMPARES,
    ),
)


TABLE = Table(
    key="quote",
    export_name="Quote",
    entity="quote",
    position=5,
    import_position=3,
    import_name="Quote",
    fno_entities=FNO_ENTITIES,
    guid_headers=("(do not modify) quote", "quoteid"),
    sources=(
        Source("number", QUOTE_ID, required=True),
        Source("customer", Col("Potential Customer", "customerid"), required=True),
        Source("ship_country", SHIP_COUNTRY),
        Source("receipt", RECEIPT_DATE),
        Source("delivery", DELIVERY_DATE),
    ),
    targets=header_targets(Col("Quote Number", "msdyn_quotenumber")),
    issues=HEADER_ISSUES,
    receipt_chain=("receipt", "delivery"),
    unique="number",
    checked=Checked(number=QUOTE_ID, name=Col("Name", "name")),
)
