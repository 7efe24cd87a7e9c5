"""Contact: the article's "Contact table" section.

A contact that is an active customer is sellable and gets the customer group;
one that is not is a contact for a customer. Its Contact Number is also its
Party Number and Contact Person ID.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..rules.report import DUPLICATE_KEY
from ..rules.rows import Rows, blank, company_of_the_row, company_setting, map_text, nulls_where, yes_no
from ..rules.schema import COMPANY, Checked, Col, Compare, EntitySpec, Issue, Keep, Source, Table, Target
from .account import ASSIGNED_PARTY, COMPARED_CUSTOMER_GROUP, COMPARED_PARTY_NUMBER, NO, YES

CONTACT_NUMBER = Col("Contact Number", "msdynce_contactnumber")
COMPANY_NAME = Col("Company Name", "parentcustomerid")


def is_active_customer(rows: Rows) -> pa.Array:
    """Is Active Customer as true/false; null (bad_yes_no) when not a yes/no value."""
    text = rows.source("is_active")
    active = map_text(text, yes_no, rows.ctx.cache("yes_no"))
    rows.flag("bad_yes_no", rows.column("is_active"), pc.is_null(active), text)
    return pc.equal(active, "Y")  # null where bad: every target using it stays empty there


def yes_when_active(rows: Rows) -> pa.Array:
    return pc.if_else(rows.value(is_active_customer), "Yes", "No")


CUSTOMER_GROUP = company_setting("customer_group")


def customer_group_when_active(rows: Rows) -> pa.Array:
    group = rows.value(CUSTOMER_GROUP)
    return pc.if_else(rows.value(is_active_customer), group, "")


def customer_when_not_active(rows: Rows) -> pa.Array:
    return pc.if_else(rows.value(is_active_customer), "", "Customer")


def contact_number(rows: Rows) -> pa.Array:
    """Contact Number as it is; empty: missing_contact_number."""
    number = rows.source("contact_number")
    empty = blank(number)
    rows.flag("missing_contact_number", rows.column("contact_number"), empty)
    return nulls_where(empty, number)


# --- step 8's import pack and step 9's F&O entities ------------------------------------------

PERSON_ID = ("Account Number/Contact Person ID", "msdyn_contactpersonid")
FNO_ENTITIES = (
    EntitySpec(
        "contact",
        "Customers V3 (contacts)",
        "Sellable is Yes and a Contact Person ID is set",
        PERSON_ID,
        ("CUSTOMERACCOUNT",),
        (Keep(("Sellable", "msdyn_sellable"), YES),),
        (COMPARED_CUSTOMER_GROUP, COMPARED_PARTY_NUMBER),
        fno_party_type="person",
        key_in_filter=True,
    ),
    EntitySpec(
        "contact",
        "Contact persons (CDS Contacts V2)",
        "Sellable is No and a Contact Person ID is set",
        PERSON_ID,
        ("CONTACTPERSONID",),
        (Keep(("Sellable", "msdyn_sellable"), NO),),
        (
            Compare(
                "party_number",
                COMPARED_PARTY_NUMBER.ours,
                ("CONTACTPERSONPARTYNUMBER", "PARTYNUMBER"),
                "text",
                ASSIGNED_PARTY,
            ),
        ),
        key_in_filter=True,
    ),
)


TABLE = Table(
    key="contact",
    export_name="Contact",
    entity="contact",
    position=2,
    import_position=2,
    import_name="Contact",
    fno_entities=FNO_ENTITIES,
    guid_headers=("(do not modify) contact", "contactid"),
    sources=(
        Source("contact_number", CONTACT_NUMBER, required=True),
        Source("is_active", Col("Is Active Customer", "msdynce_isactivecustomer"), required=True),
        Source("company_name", COMPANY_NAME),
    ),
    targets=(
        Target("company", COMPANY, company_of_the_row),
        Target("sellable", Col("Sellable", "msdyn_sellable"), yes_when_active),
        Target(
            "customer_group", Col("Customer Group Id", "msdyn_customergroupid"), customer_group_when_active
        ),
        Target("contact_for", Col("Contact For", "msdyn_contactfor"), customer_when_not_active),
        # With display headers P2C's and dual-write's Contact Number are one column, kept as it is.
        Target(
            "contact_number",
            Col("Contact Number", "msdyn_contactnumber"),
            contact_number,
            same_as="contact_number",
        ),
        Target("party_number", Col("Party Number", "msdyn_partynumber"), contact_number),
        Target(
            "contact_person_id",
            Col("Account Number/Contact Person ID", "msdyn_contactpersonid"),
            contact_number,
        ),
    ),
    issues=(
        Issue(
            "missing_contact_number", "error", "Contact Number is empty: contact number targets left empty"
        ),
        Issue(
            "bad_yes_no", "error", "Is Active Customer is {value!r}, not yes/no: its target cells stay empty"
        ),
        DUPLICATE_KEY,
    ),
    unique="contact_number",
    # The check also accepts dual-write's Contact Number (a re-export).
    checked=Checked(
        number=Col("Contact Number", "msdynce_contactnumber", ("msdyn_contactnumber",)), account=COMPANY_NAME
    ),
)
