"""Order products (salesorderdetail): each line takes the company."""

from __future__ import annotations

from ..rules import company_of_the_header
from ..schema import COMPANY, Checked, Col, Source, Table, Target
from .order import HEADER_NOT_FOUND

ORDER = Col("Order", "salesorderid")  # the lookup cell holds the order's name

TABLE = Table(
    key="order_products",
    export_name="Order products",
    entity="salesorderdetail",
    position=4,
    guid_headers=("(do not modify) order product", "salesorderdetailid"),
    sources=(Source("parent", ORDER),),
    targets=(Target("company", COMPANY, company_of_the_header),),
    issues=(HEADER_NOT_FOUND,),
    checked=Checked(header=("order", ORDER)),
)
