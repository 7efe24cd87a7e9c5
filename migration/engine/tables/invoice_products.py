"""Invoice products: not transformed (as invoice)."""

from __future__ import annotations

from ..schema import Col, Source, Table
from .invoice import FLOWS_FROM_FNO

TABLE = Table(
    key="invoice_products",
    export_name="Invoice products",
    entity="invoicedetail",
    position=8,
    guid_headers=("(do not modify) invoice product", "invoicedetailid"),
    why_not=FLOWS_FROM_FNO,
    sources=(Source("parent", Col("Invoice", "invoiceid")),),
)
