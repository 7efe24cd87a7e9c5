"""Products: not transformed (as invoice)."""

from __future__ import annotations

from ..rules.schema import Col, Source, Table
from .invoice import FLOWS_FROM_FNO

TABLE = Table(
    key="products",
    export_name="Products",
    entity="product",
    position=9,
    guid_headers=("(do not modify) product", "productid"),
    why_not=FLOWS_FROM_FNO,
    sources=(Source("number", Col("Product ID", "productnumber")),),
)
