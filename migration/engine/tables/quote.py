"""Quote: as order, except its number (Quote ID -> Quote Number), its customer (Potential
Customer) and a shorter receipt chain (Requested Receipt Date, Requested Delivery Date)."""

from __future__ import annotations

from ..schema import Checked, Col, Source, Table
from .order import DELIVERY_DATE, HEADER_ISSUES, RECEIPT_DATE, SHIP_COUNTRY, header_targets

QUOTE_ID = Col("Quote ID", "quotenumber")

TABLE = Table(
    key="quote",
    export_name="Quote",
    entity="quote",
    position=5,
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
