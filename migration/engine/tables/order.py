"""Order (salesorder): the article's "Order table" section.

Company, Sales Order Number (the Order ID), Invoice Customer (the Customer),
Ship To Country/Region (per the country setting), Requested Receipt Date (the
first date of the receipt chain), Language and Order Type (the settings).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..rules.report import DUPLICATE_KEY
from ..rules.rows import (
    Rows,
    company_of_the_row,
    company_setting,
    copy_of,
    first_date_of_the_receipt_chain,
    setting,
    ship_to_country_per_setting,
)
from ..rules.schema import COMPANY, Checked, Col, Compare, EntitySpec, Issue, Keep, Source, Table, Target

NUMBER_MAX = 20  # characters msdyn_salesordernumber holds

ORDER_ID = Col("Order ID", "ordernumber")
SHIP_COUNTRY = Col("Ship To Country/Region", "shipto_country")
RECEIPT_DATE = Col("Requested Receipt Date", "msdyn_requestedreceiptdate")
DELIVERY_DATE = Col("Requested Delivery Date", "requestdeliveryby")
INVOICE_CUSTOMER = Col("Invoice Customer", "msdyn_invoicecustomerid", ("msdyn_invoicecustomer",))
LANGUAGE = Col("Language", "msdyn_language")
ORDER_TYPE = Col("Order Type", "msdyn_ordertype")


def number_copied_even_if_too_long(rows: Rows) -> pa.Array:
    """The Order ID (Quote ID) as it is; longer than the target holds: reported, copied anyway."""
    number = rows.source("number")
    too_long = pc.greater(pc.utf8_length(number), NUMBER_MAX)
    rows.flag("sales_order_number_too_long", rows.column("number"), too_long, number)
    return number


# Lines (order products, quote products) whose header is not in the header export.
HEADER_NOT_FOUND = Issue(
    "header_not_found",
    "warning",
    "{value!r} is not in the header export: the line got the default company",
)

# A row's issues are listed in this order.
HEADER_ISSUES = (
    Issue(
        "sales_order_number_too_long",
        "error",
        "{value!r} is longer than the 20 characters msdyn_salesordernumber holds (copied anyway)",
    ),
    Issue("bad_date", "error", "{value!r} is not a date in the file's date order"),
    Issue(
        "no_receipt_date", "warning", "no date in the receipt date chain: Requested Receipt Date left empty"
    ),
    Issue("country_not_converted", "warning", "country {value!r} could not be converted: kept as it is"),
    DUPLICATE_KEY,
)


def header_targets(number: Col) -> tuple[Target, ...]:
    """Order's targets; a quote's are the same but for its number column."""
    return (
        Target("company", COMPANY, company_of_the_row),
        Target("number", number, number_copied_even_if_too_long),
        Target("invoice_customer", INVOICE_CUSTOMER, copy_of("customer")),
        Target(
            "ship_country",
            SHIP_COUNTRY,
            ship_to_country_per_setting,
            same_as="ship_country",
            note_if_no_source="the file has no Ship To Country/Region column: no country column was written",
        ),
        Target("receipt_date", RECEIPT_DATE, first_date_of_the_receipt_chain, same_as="receipt"),
        Target("language", LANGUAGE, company_setting("language")),
        Target("order_type", ORDER_TYPE, setting("order_type")),
    )


# --- step 8's import pack and step 9's F&O entities ------------------------------------------

ITEM_BASED = Keep(("Order Type", "msdyn_ordertype"), frozenset({"item based", "192350000"}))
HEADER_COMPARES = (
    Compare("language", ("Language", "msdyn_language"), ("LANGUAGEID",)),
    Compare(
        "receipt_date",
        ("Requested Receipt Date", "msdyn_requestedreceiptdate"),
        ("REQUESTEDRECEIPTDATE",),
        "date",
    ),
)
FNO_ENTITIES = (
    EntitySpec(
        "order",
        "Sales order headers V2",
        "Order Type is Item based",
        ("Sales Order Number", "msdyn_salesordernumber"),
        ("SALESORDERNUMBER",),
        (ITEM_BASED,),
        HEADER_COMPARES,
    ),
)


TABLE = Table(
    key="order",
    export_name="Order",
    entity="salesorder",
    position=3,
    import_position=5,
    import_name="Order",
    fno_entities=FNO_ENTITIES,
    guid_headers=("(do not modify) order", "salesorderid", "orderid"),
    sources=(
        Source("number", ORDER_ID, required=True),
        Source("customer", Col("Customer", "customerid"), required=True),
        Source("ship_country", SHIP_COUNTRY),
        Source("receipt", RECEIPT_DATE),
        Source("delivery", DELIVERY_DATE),
        Source("fulfilled", Col("Date Fulfilled", "datefulfilled")),
        Source("submitted", Col("Date Submitted", "submitdate")),
    ),
    targets=header_targets(Col("Sales Order Number", "msdyn_salesordernumber")),
    issues=HEADER_ISSUES,
    receipt_chain=("receipt", "delivery", "fulfilled", "submitted"),
    unique="number",
    checked=Checked(number=ORDER_ID, name=Col("Name", "name")),
)
