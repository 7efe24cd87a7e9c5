"""Account: the article's "Account table" section.

Party Number is the Account Number, or, when account numbers are customized in
Finance and Operations, the party number of the uploaded F&O customer list.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..rules.report import DUPLICATE_KEY
from ..rules.rows import Rows, blank, company_of_the_row, company_setting, const, map_text, nulls_where
from ..rules.schema import COMPANY, Checked, Col, Compare, EntitySpec, Issue, Keep, Source, Table, Target

ACCOUNT_NUMBER = Col("Account Number", "accountnumber")
ACCOUNT_NAME = Col("Account Name", "name")


def party_number(rows: Rows) -> pa.Array:
    """Account Number, or its party number in the F&O customer list (customized numbers)."""
    number = rows.source("account_number")
    column = rows.column("account_number")
    empty = blank(number)
    rows.flag("missing_account_number", column, empty)
    if rows.ctx.party is None:
        return nulls_where(empty, number)
    party = _from_fno_list(rows, number)
    rows.flag("party_number_not_found", column, pc.and_(pc.invert(empty), pc.is_null(party)), number)
    return party


def _from_fno_list(rows: Rows, number: pa.Array) -> pa.Array:
    """Matched on (company, account number), or on account number when the list has no company."""
    party = rows.ctx.party or {}
    number_key = pc.utf8_lower(pc.utf8_trim_whitespace(number))
    if rows.ctx.party_by_account:
        return map_text(number_key, party.get)
    company = rows.value(company_of_the_row)
    key = pc.binary_join_element_wise(pc.utf8_lower(company), number_key, "\x1f")
    return map_text(key, party.get)  # unique keys: a cache would only grow


def relationship_type_of_the_row(rows: Rows) -> pa.Array:
    """The relationship type setting, or the relationship type rule's label for the row's value
    (relationship_type_not_mapped and the setting when the rule has no entry)."""
    ctx = rows.ctx
    default = rows.settings.relationship_type
    if ctx.relationship_map is None or ctx.relationship_column is None:
        return const(default, rows.n)
    text = rows.batch.text(ctx.relationship_column)
    lookup = ctx.relationship_map
    mapped = map_text(text, lambda v: lookup.get(v.strip().casefold()), ctx.cache("relationship_type"))
    column = ctx.layout.headers[ctx.relationship_column]
    rows.flag("relationship_type_not_mapped", column, pc.is_null(mapped), text)
    return mapped.fill_null(default)


# --- step 8's import pack and step 9's F&O entities ------------------------------------------

YES = frozenset({"yes", "true", "1", "y"})
NO = frozenset({"no", "false", "0", "n"})
COMPARED_CUSTOMER_GROUP = Compare(
    "customer_group", ("Customer Group Id", "msdyn_customergroupid"), ("CUSTOMERGROUPID",)
)
ASSIGNED_PARTY = (
    "F&O gives a party number from its number sequence to a record synced without one (we leave it "
    "empty where step 8 did not know it)"
)
COMPARED_PARTY_NUMBER = Compare(
    "party_number", ("Party Number", "msdyn_partynumber"), ("PARTYNUMBER",), "text", ASSIGNED_PARTY
)
FNO_ENTITIES = (
    EntitySpec(
        "account",
        "Customers V3 (accounts)",
        "Relationship Type is Customer",
        ("Account Number", "accountnumber"),
        ("CUSTOMERACCOUNT",),
        (Keep(("Relationship Type", "customertypecode"), frozenset({"customer", "3"})),),
        (COMPARED_CUSTOMER_GROUP, COMPARED_PARTY_NUMBER),
        fno_party_type="organization",
    ),
)


TABLE = Table(
    key="account",
    export_name="Account",
    entity="account",
    position=1,
    import_position=1,
    import_name="Account",
    fno_entities=FNO_ENTITIES,
    guid_headers=("(do not modify) account", "accountid"),
    sources=(
        Source("account_number", ACCOUNT_NUMBER, required=True),
        Source("name", ACCOUNT_NAME),
    ),
    reads_customer_list=True,  # account numbers customized: Party Number comes from it
    targets=(
        Target("company", COMPANY, company_of_the_row),
        Target(
            "relationship_type", Col("Relationship Type", "customertypecode"), relationship_type_of_the_row
        ),
        Target(
            "customer_group",
            Col("Customer Group Id", "msdyn_customergroupid"),
            company_setting("customer_group"),
        ),
        Target("party_number", Col("Party Number", "msdyn_partynumber"), party_number),
    ),
    issues=(
        Issue(
            "relationship_type_not_mapped",
            "warning",
            "relationship type rule has no entry for {value!r}: used the default relationship type",
        ),
        Issue("missing_account_number", "error", "Account Number is empty: no Party Number possible"),
        Issue(
            "party_number_not_found",
            "error",
            "account {value!r} is not in the Finance and Operations customer list",
        ),
        DUPLICATE_KEY,
    ),
    unique="account_number",
    checked=Checked(number=ACCOUNT_NUMBER, name=ACCOUNT_NAME),
)
