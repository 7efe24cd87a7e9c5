"""Per-table column specs: the source columns the rules read and the targets they set.

Names come from the contract (p2c-rules.md): display name, logical name, and
any other spelling that real exports use for the same column.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import EngineError
from .options import TABLES


@dataclass(frozen=True)
class Col:
    display: str
    logical: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.display, self.logical, *self.aliases)

    def header(self, mode: str) -> str:
        return self.logical if mode == "logical" else self.display


@dataclass(frozen=True)
class Target:
    key: str
    col: Col
    source: str | None = None  # source role that is the same column (filled in place)


@dataclass(frozen=True)
class TableSpec:
    key: str
    guid_names: tuple[str, ...]
    sources: dict[str, Col]
    required: tuple[str, ...]
    targets: tuple[Target, ...]
    receipt_chain: tuple[str, ...] = ()
    key_role: str | None = None  # duplicate_key check

    def target(self, key: str) -> Target:
        return next(t for t in self.targets if t.key == key)


COMPANY = Col("Company", "msdyn_company")
_SHIP_COUNTRY = Col("Ship To Country/Region", "shipto_country")
_RECEIPT = Col("Requested Receipt Date", "msdyn_requestedreceiptdate")
_DELIVERY = Col("Requested Delivery Date", "requestdeliveryby")
_CHECKSUM = "(do not modify) row checksum"
_MODIFIED = "(do not modify) modified on"


def _header_targets(number: Col) -> tuple[Target, ...]:
    return (
        Target("company", COMPANY),
        Target("number", number, None),
        Target(
            "invoice_customer", Col("Invoice Customer", "msdyn_invoicecustomerid", ("msdyn_invoicecustomer",))
        ),
        Target("ship_country", _SHIP_COUNTRY, "ship_country"),
        Target("receipt_date", _RECEIPT, "receipt"),
        Target("language", Col("Language", "msdyn_language")),
        Target("order_type", Col("Order Type", "msdyn_ordertype")),
    )


_CONTACT_NUMBER_TARGET = Col("Contact Number", "msdyn_contactnumber")

SPECS: dict[str, TableSpec] = {
    "account": TableSpec(
        key="account",
        guid_names=("(do not modify) account", "accountid"),
        sources={
            "account_number": Col("Account Number", "accountnumber"),
            "name": Col("Account Name", "name"),
        },
        required=("account_number",),
        targets=(
            Target("company", COMPANY),
            Target("relationship_type", Col("Relationship Type", "customertypecode")),
            Target("customer_group", Col("Customer Group Id", "msdyn_customergroupid")),
            Target("party_number", Col("Party Number", "msdyn_partynumber")),
        ),
        key_role="account_number",
    ),
    "contact": TableSpec(
        key="contact",
        guid_names=("(do not modify) contact", "contactid"),
        sources={
            "contact_number": Col("Contact Number", "msdynce_contactnumber"),
            "is_active": Col("Is Active Customer", "msdynce_isactivecustomer"),
            "company_name": Col("Company Name", "parentcustomerid"),
        },
        required=("contact_number", "is_active"),
        targets=(
            Target("company", COMPANY),
            Target("sellable", Col("Sellable", "msdyn_sellable")),
            Target("customer_group", Col("Customer Group Id", "msdyn_customergroupid")),
            Target("contact_for", Col("Contact For", "msdyn_contactfor")),
            Target("contact_number", _CONTACT_NUMBER_TARGET, "contact_number"),
            Target("party_number", Col("Party Number", "msdyn_partynumber")),
            Target("contact_person_id", Col("Account Number/Contact Person ID", "msdyn_contactpersonid")),
        ),
        key_role="contact_number",
    ),
    "order": TableSpec(
        key="order",
        guid_names=("(do not modify) order", "salesorderid", "orderid"),
        sources={
            "number": Col("Order ID", "ordernumber"),
            "customer": Col("Customer", "customerid"),
            "ship_country": _SHIP_COUNTRY,
            "receipt": _RECEIPT,
            "delivery": _DELIVERY,
            "fulfilled": Col("Date Fulfilled", "datefulfilled"),
            "submitted": Col("Date Submitted", "submitdate"),
        },
        required=("number", "customer"),
        targets=_header_targets(Col("Sales Order Number", "msdyn_salesordernumber")),
        receipt_chain=("receipt", "delivery", "fulfilled", "submitted"),
        key_role="number",
    ),
    "quote": TableSpec(
        key="quote",
        guid_names=("(do not modify) quote", "quoteid"),
        sources={
            "number": Col("Quote ID", "quotenumber"),
            "customer": Col("Potential Customer", "customerid"),
            "ship_country": _SHIP_COUNTRY,
            "receipt": _RECEIPT,
            "delivery": _DELIVERY,
        },
        required=("number", "customer"),
        targets=_header_targets(Col("Quote Number", "msdyn_quotenumber")),
        receipt_chain=("receipt", "delivery"),
        key_role="number",
    ),
    "order_products": TableSpec(
        key="order_products",
        guid_names=("(do not modify) order product", "salesorderdetailid"),
        sources={"parent": Col("Order", "salesorderid")},
        required=(),
        targets=(Target("company", COMPANY),),
    ),
    "quote_products": TableSpec(
        key="quote_products",
        guid_names=("(do not modify) quote product", "quotedetailid"),
        sources={"parent": Col("Quote", "quoteid")},
        required=(),
        targets=(Target("company", COMPANY),),
    ),
    "invoice": TableSpec(
        key="invoice",
        guid_names=("(do not modify) invoice", "invoiceid"),
        sources={"number": Col("Invoice ID", "invoicenumber")},
        required=(),
        targets=(),
    ),
    "invoice_products": TableSpec(
        key="invoice_products",
        guid_names=("(do not modify) invoice product", "invoicedetailid"),
        sources={"parent": Col("Invoice", "invoiceid")},
        required=(),
        targets=(),
    ),
    "products": TableSpec(
        key="products",
        guid_names=("(do not modify) product", "productid"),
        sources={"number": Col("Product ID", "productnumber")},
        required=(),
        targets=(),
    ),
}


def norm(header: object) -> str:
    """How headers are compared: trimmed, case-insensitive."""
    return " ".join(str(header if header is not None else "").split()).casefold()


def spec_for(table: str) -> TableSpec:
    if table not in SPECS:
        raise EngineError(f"unknown table {table!r}: use one of {', '.join(TABLES)}")
    return SPECS[table]


@dataclass
class Layout:
    """Where each role lives in one file's header row."""

    headers: list[str]
    guid: int | None
    sources: dict[str, int]
    targets: dict[str, int]  # existing target columns, filled in place
    company_rule: int | None = None
    modified_on: int | None = None


def _find(normed: list[str], col: Col, taken: set[int] | None = None) -> int | None:
    """Logical name first (unambiguous), then display name, then aliases."""
    for name in (col.logical, col.display, *col.aliases):
        hits = [i for i, h in enumerate(normed) if h == name.casefold()]
        free = [i for i in hits if not taken or i not in taken]
        if free or hits:
            return (free or hits)[0]
    return None


def resolve_layout(spec: TableSpec, headers: list[str], company_column: str | None = None) -> Layout:
    normed = [norm(h) for h in headers]
    guid = next((i for i, h in enumerate(normed) if h in spec.guid_names), None)
    if guid is None:
        # Any "(Do Not Modify) <Entity>" that is not the checksum or modified-on column.
        guid = next(
            (
                i
                for i, h in enumerate(normed)
                if h.startswith("(do not modify)") and h not in (_CHECKSUM, _MODIFIED)
            ),
            None,
        )
    sources = {role: i for role, col in spec.sources.items() if (i := _find(normed, col)) is not None}
    missing = [role for role in spec.required if role not in sources]
    if missing:
        raise_missing(spec, spec.sources[missing[0]], headers)
    taken = set(sources.values())
    targets: dict[str, int] = {}
    for t in spec.targets:
        same = sources.get(t.source) if t.source else None
        if same is not None and normed[same] in {n.casefold() for n in t.col.names}:
            targets[t.key] = same  # e.g. Ship To Country/Region: read and written in place
            continue
        i = _find(normed, t.col, taken)
        if i is not None and i not in taken:
            targets[t.key] = i
            taken.add(i)
    layout = Layout(list(headers), guid, sources, targets)
    modified = [i for i, h in enumerate(normed) if h == _MODIFIED]
    layout.modified_on = modified[0] if modified else None
    if company_column is not None:
        layout.company_rule = _find(normed, Col(company_column, company_column))
        if layout.company_rule is None:
            raise EngineError(
                f"the company rule's column {company_column!r} is not in the file; headers found: "
                f"{_list(headers)}. Fix the column name in the company rule"
            )
    return layout


def _list(headers: list[str], limit: int = 40) -> str:
    shown = ", ".join(repr(h) for h in headers[:limit])
    return shown + (f" (+{len(headers) - limit} more)" if len(headers) > limit else "")


def raise_missing(spec: TableSpec, col: Col, headers: list[str]) -> None:
    accepted = " or ".join(repr(n) for n in dict.fromkeys(col.names))
    normed = [norm(h) for h in headers]
    reexport = any(
        _find(normed, t.col) is not None for t in spec.targets if t.source is None and t.key != "company"
    )
    hint = (
        "; this looks like a re-export made after dual-write was installed: give the step-2 export too "
        "(merge mode), which still has P2C's columns"
        if reexport
        else ". Export the table with this column in the view"
    )
    raise EngineError(
        f"required column {col.display!r} is missing from the {spec.key} file (accepted names: {accepted}); "
        f"headers found: {_list(headers)}{hint}"
    )


def guess_table(headers: list[str]) -> str | None:
    """The table whose GUID header or required columns these headers carry."""
    normed = [norm(h) for h in headers]
    for key, spec in SPECS.items():
        if any(h in spec.guid_names[:2] for h in normed):
            return key
    scores = {
        key: sum(_find(normed, col) is not None for col in spec.sources.values())
        for key, spec in SPECS.items()
    }
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else None
