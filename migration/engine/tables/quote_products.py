"""Quote products (quotedetail): as order products, for quotes."""

from __future__ import annotations

from ..rules.rows import company_of_the_header
from ..rules.schema import COMPANY, Checked, Col, EntitySpec, Source, Table, Target
from .order import HEADER_NOT_FOUND

QUOTE = Col("Quote", "quoteid")  # the lookup cell holds the quote's name

# --- step 8's import pack and step 9's F&O entities ------------------------------------------

FNO_ENTITIES = (
    EntitySpec(
        "quote_products",
        "Sales quotation lines V2",
        "every line (lines follow their quote), matched per quote by count",
        ("Quote Number", "msdyn_quotenumber", "Quote ID", "quotenumber"),
        ("SALESQUOTATIONNUMBER",),
        lines=True,
    ),
)


TABLE = Table(
    key="quote_products",
    export_name="Quote products",
    entity="quotedetail",
    position=6,
    import_position=4,
    import_name="Quote Product",
    fno_entities=FNO_ENTITIES,
    guid_headers=("(do not modify) quote product", "quotedetailid"),
    sources=(Source("parent", QUOTE),),
    targets=(Target("company", COMPANY, company_of_the_header),),
    issues=(HEADER_NOT_FOUND,),
    checked=Checked(header=("quote", QUOTE)),
)
