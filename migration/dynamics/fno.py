"""Finance and Operations entities read through OData into the file step 9's reconciliation reads:
the data management export's column names (the entity's field names in capitals), all companies
(cross-company=true) unless some are named. F&O pages on its own (10,000 rows) and gives a
nextLink (https://learn.microsoft.com/dynamics365/fin-ops-core/dev-itpro/data-entities/odata)."""

import csv
import io
from dataclasses import dataclass

from ..engine.files.writing import AtomicFile
from .webapi import WebApiClient


@dataclass(frozen=True)
class Entity:
    label: str
    entity_set: str  # the public collection name
    fields: tuple[str, ...]  # the public field names; the export's columns are their capitals


ENTITIES = {
    "customers": Entity("Customers V3", "CustomersV3",
                        ("dataAreaId", "CustomerAccount", "CustomerGroupId", "PartyNumber", "PartyType")),
    "sales_order_headers": Entity("Sales order headers V2", "SalesOrderHeadersV2",
                                  ("dataAreaId", "SalesOrderNumber", "LanguageId", "RequestedReceiptDate")),
    "sales_quotation_headers": Entity(
        "Sales quotation headers V2", "SalesQuotationHeadersV2",
        ("dataAreaId", "SalesQuotationNumber", "LanguageId", "RequestedReceiptDate"),
    ),
    "sales_order_lines": Entity(
        "Sales order lines V2", "SalesOrderLinesV2", ("dataAreaId", "SalesOrderNumber")
    ),
    "sales_quotation_lines": Entity("Sales quotation lines V2", "SalesQuotationLinesV2",
                                    ("dataAreaId", "SalesQuotationNumber")),
    # The contact persons step 9 reconciles (not sellable, with a Contact Person ID): dual-write's
    # "CDS Contacts V2 (contacts)" map reads F&O's CDS contact persons V2 entity, whose fields
    # CONTACTPERSONID and CONTACTPERSONPARTYNUMBER it maps to msdyn_contactpersonid and
    # msdyn_partynumber (dynamics-365-unified-operations-public: articles/fin-ops-core/dev-itpro/
    # data-entities/dual-write/CDSContactsV2-contacts.md). Its OData collection is
    # CDSContactPersonsV2, with dataAreaId, ContactPersonId, ContactPersonPartyNumber,
    # AssociatedContactType and AssociatedContactNumber, as F&O's $metadata names them (no
    # Microsoft article lists collection names; this is the name in $metadata).
    "contact_persons": Entity(
        "CDS contact persons V2", "CDSContactPersonsV2",
        ("dataAreaId", "ContactPersonId", "ContactPersonPartyNumber", "AssociatedContactType",
         "AssociatedContactNumber"),
    ),
}  # fmt: skip


def _filter(companies: list[str]) -> str | None:
    if not companies:
        return None
    return " or ".join(f"dataAreaId eq '{c.lower()}'" for c in companies)


def write_fno_export(client: WebApiClient, key: str, output: str, *, companies: list[str] = ()) -> int:
    """The entity's rows into `output` (moved into place when whole); the rows written."""
    entity = ENTITIES[key]
    pages = client.pages(
        entity.entity_set, select=list(entity.fields), filter=_filter(list(companies)),
        page_size=None, formatted_values=False, params={"cross-company": "true"},
    )  # fmt: skip
    atomic = AtomicFile(output)
    rows = 0
    try:
        with io.TextIOWrapper(atomic.open_bytes(), encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file)
            writer.writerow([f.upper() for f in entity.fields])
            for page in pages:
                writer.writerows([_text(r.get(f)) for f in entity.fields] for r in page.records)
                rows += len(page.records)
        atomic.commit()
    except BaseException:
        atomic.abort()
        raise
    return rows


def _text(value) -> str:
    return "" if value is None else str(value)
