"""A Sales table read through the Web API, written as the maker portal's CSV export writes it, so
that the engine reads a pulled table exactly as an uploaded one: logical-name headers, the record
GUID first, lookups and choices as their labels (the formatted values), other values as stored.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..engine.files.writing import AtomicFile
from ..engine.rules.schema import Table
from ..engine.tables import TABLES
from .webapi import ApiError, Page, WebApiClient

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
# Attribute types whose export cell is the formatted value, as the maker portal writes it: lookups
# by the record's name, choices by their label, dates in the user's format. Numbers stay as stored.
LABELLED = {"Lookup", "Customer", "Owner", "Picklist", "State", "Status", "Boolean", "Virtual", "DateTime"}
LOOKUPS = {"Lookup", "Customer", "Owner"}
ENTITY_SETS = {
    "account": "accounts",
    "contact": "contacts",
    "salesorder": "salesorders",
    "salesorderdetail": "salesorderdetails",
    "quote": "quotes",
    "quotedetail": "quotedetails",
    "invoice": "invoices",
    "invoicedetail": "invoicedetails",
    "product": "products",
}


class ExportError(Exception):
    """The environment's table cannot give what the engine needs: the message says what."""


@dataclass(frozen=True)
class Column:
    name: str  # the export's header: the logical name
    attribute_type: str

    @property
    def selected(self) -> str:
        """The property the Web API reads: a lookup's is _<name>_value."""
        return f"_{self.name}_value" if self.attribute_type in LOOKUPS else self.name

    def cell(self, record: dict) -> str:
        if self.attribute_type in LABELLED and self.selected + FORMATTED in record:
            return record[self.selected + FORMATTED]
        value = record.get(self.selected)  # numbers are Decimals: their JSON text, unrounded
        return "" if value is None else str(value)


def table_named(key: str) -> Table:
    if key not in TABLES:
        raise ExportError(f"Unknown table {key!r}: use one of {', '.join(TABLES)}.")
    return TABLES[key]


def record_count(client: WebApiClient, entity: str) -> int | None:
    """The table's row count from Dataverse's snapshot of the last 24 hours (the RetrieveTotalRecordCount
    function, webapi samples "Unbound Function RetrieveTotalRecordCount"): an estimate for a read's
    time left, None when the environment does not give it."""
    try:
        found = client.get_json(
            "RetrieveTotalRecordCount(EntityNames=@p1)", params={"@p1": json.dumps([entity])}
        )
    except ApiError:
        return None
    counts = found.get("EntityRecordCountCollection") or {}
    return dict(zip(counts.get("Keys", []), counts.get("Values", []), strict=False)).get(entity)


def wanted_columns(table: Table, extra: Iterable[str] = ()) -> list[str]:
    """The record GUID first, then the columns asked for in their order (a view's columns, the
    company rule's), then the engine's source columns and the name and number it checks."""
    guid = next(h for h in table.guid_headers if not h.startswith("(do not modify)"))
    names = [guid, *extra, *(s.col.logical for s in table.sources)]
    names += [c.logical for c in (table.checked.name, table.checked.number) if c is not None]
    return list(dict.fromkeys(names))


def export_columns(client: WebApiClient, table: Table, extra: Iterable[str] = ()) -> list[Column]:
    """The wanted columns the environment has, typed by its metadata; a required one missing is an
    error, an optional one is left out as an export's view would."""
    path = f"EntityDefinitions(LogicalName='{table.entity}')/Attributes"
    metadata = client.get_json(path, params={"$select": "LogicalName,AttributeType"})["value"]
    types = {a["LogicalName"]: a["AttributeType"] for a in metadata}
    required = {table.columns[role].logical for role in table.required}
    missing = [name for name in wanted_columns(table, extra) if name not in types and name in required]
    if missing:
        raise ExportError(f"{table.entity} has no column {', '.join(missing)} in this environment.")
    return [Column(name, types[name]) for name in wanted_columns(table, extra) if name in types]


def export_pages(
    client: WebApiClient,
    table: Table,
    columns: list[Column],
    *,
    page_size: int = 5000,
    resume_from: str | None = None,
    first_number: int = 1,
):
    """The table's pages (from a stored nextLink when resuming)."""
    select = [c.selected for c in columns]
    return client.pages(
        ENTITY_SETS[table.entity],
        select=select,
        page_size=page_size,
        resume_from=resume_from,
        first_number=first_number,
    )


def write_rows(writer, columns: list[Column], records: list[dict]) -> None:
    writer.writerows([c.cell(record) for c in columns] for record in records)


def write_export(
    client: WebApiClient,
    table: Table,
    output: Path,
    *,
    page_size: int = 5000,
    extra_columns: Iterable[str] = (),
    on_page: Callable[[Page, int], None] | None = None,
) -> int:
    """Read the table page by page into `output` (written beside it, then moved: never half a
    file); the rows written."""
    columns = export_columns(client, table, extra_columns)
    pages = export_pages(client, table, columns, page_size=page_size)
    atomic = AtomicFile(str(output))
    rows = 0
    try:
        with io.TextIOWrapper(atomic.open_bytes(), encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file)  # the maker portal's CSV: UTF-8 with BOM, CRLF
            writer.writerow([c.name for c in columns])
            for page in pages:
                write_rows(writer, columns, page.records)
                rows += len(page.records)
                if on_page:
                    on_page(page, rows)
        atomic.commit()
    except BaseException:
        atomic.abort()
        raise
    return rows
