"""Quote products (quotedetail): as order products, for quotes."""

from __future__ import annotations

from ..rules import company_of_the_header
from ..schema import COMPANY, Checked, Col, Source, Table, Target
from .order import HEADER_NOT_FOUND

QUOTE = Col("Quote", "quoteid")  # the lookup cell holds the quote's name

TABLE = Table(
    key="quote_products",
    export_name="Quote products",
    entity="quotedetail",
    position=6,
    guid_headers=("(do not modify) quote product", "quotedetailid"),
    sources=(Source("parent", QUOTE),),
    targets=(Target("company", COMPANY, company_of_the_header),),
    issues=(HEADER_NOT_FOUND,),
    checked=Checked(header=("quote", QUOTE)),
)
