"""Invoice: not transformed. Uploaded at step 2 all the same (the article asks for all nine
exports, to avoid data loss): kept, counted, and used for checks and reconciliation."""

from __future__ import annotations

from ..rules.schema import Col, Source, Table

FLOWS_FROM_FNO = (
    "nothing to generate: this table flows one way from Finance and Operations "
    "and dual-write's initial sync fills it; it is kept for checks and reconciliation"
)

TABLE = Table(
    key="invoice",
    export_name="Invoice",
    entity="invoice",
    position=7,
    guid_headers=("(do not modify) invoice", "invoiceid"),
    why_not=FLOWS_FROM_FNO,
    sources=(Source("number", Col("Invoice ID", "invoicenumber")),),
)
