"""Invoice products: not transformed (as invoice)."""

from __future__ import annotations

from ..rules.schema import Col, Source, Table

# The article says "flows one way" of the Invoice and Products tables only; an invoice's lines come
# with their invoice in the initial sync.
LINES_FROM_FNO = (
    "nothing to generate: the article says the Invoice table flows one way from Finance and "
    "Operations, and an invoice's lines come with it (our reading: the article names Invoice "
    "products only among step 2's exports); it is kept for checks and reconciliation"
)

TABLE = Table(
    key="invoice_products",
    export_name="Invoice products",
    entity="invoicedetail",
    position=8,
    guid_headers=("(do not modify) invoice product", "invoicedetailid"),
    why_not=LINES_FROM_FNO,
    sources=(Source("parent", Col("Invoice", "invoiceid")),),
)
