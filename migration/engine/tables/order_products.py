"""Order products (salesorderdetail): each line takes the company."""

from __future__ import annotations

from ..rules.rows import company_of_the_header
from ..rules.schema import COMPANY, Checked, Col, EntitySpec, Source, Table, Target
from .order import HEADER_NOT_FOUND

ORDER = Col("Order", "salesorderid")  # the lookup cell holds the order's name

# --- step 8's import pack and step 9's F&O entities ------------------------------------------

FNO_ENTITIES = (
    EntitySpec(
        "order_products",
        "Sales order lines V2",
        "every line (lines follow their order), matched per order by count",
        ("Sales Order Number", "msdyn_salesordernumber", "Order ID", "ordernumber", "Order Number"),
        ("SALESORDERNUMBER",),
        lines=True,
    ),
)


TABLE = Table(
    key="order_products",
    export_name="Order products",
    entity="salesorderdetail",
    position=4,
    import_position=6,
    import_name="Order Product",
    fno_entities=FNO_ENTITIES,
    guid_headers=("(do not modify) order product", "salesorderdetailid"),
    sources=(Source("parent", ORDER),),
    targets=(Target("company", COMPANY, company_of_the_header),),
    issues=(HEADER_NOT_FOUND,),
    checked=Checked(header=("order", ORDER)),
)
