"""A table read from Sales is transformed exactly as the same records exported from the maker
portal: the engine's output is equal cell for cell, on the six transformed tables."""

import csv
import uuid

import pytest
from django.core.management import call_command

from migration.engine import transform_parts
from migration.engine.rules.options import TransformSettings
from migration.engine.tables import TABLES

from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT
from .helpers import SAMPLES, TYPES, as_records

ENTITY_SETS = {"account": "accounts", "contact": "contacts", "order": "salesorders", "quote": "quotes",
               "order_products": "salesorderdetails", "quote_products": "quotedetails"}  # fmt: skip


def lines_export(path, key_header, header_column, headers):
    """Order (quote) products as the maker portal exports them: the header by its name."""
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([key_header, header_column, "productid", "quantity"])
        for n, header in enumerate(headers):
            line_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{path.name}/{n}")
            writer.writerow([line_id, header, f"Product {n % 3}", f"{n + 1}"])


@pytest.fixture
def maker_exports(tmp_path):
    """The six tables' maker-portal CSV exports. The samples' order key is "orderid", an alias the
    engine also reads; the maker portal writes the primary key's logical name, salesorderid."""
    exports = {}
    for key in ("account", "contact", "order", "quote"):
        text = (SAMPLES / f"{key}.csv").read_text(encoding="utf-8-sig")
        exports[key] = tmp_path / f"{key}.csv"
        exports[key].write_text(text.replace("orderid,", "salesorderid,", 1), encoding="utf-8-sig")
    for lines, header, key_header, column in (
        ("order_products", "order", "salesorderdetailid", "salesorderid"),
        ("quote_products", "quote", "quotedetailid", "quoteid"),
    ):
        with exports[header].open(encoding="utf-8-sig") as file:
            names = [row["name"] for row in csv.DictReader(file)][:25]
        exports[lines] = tmp_path / f"{lines}.csv"
        lines_export(exports[lines], key_header, column, names * 2)
    return exports


def test_a_pulled_table_transforms_cell_for_cell_as_its_maker_portal_export(
    sales, entra, maker_exports, tmp_path, monkeypatch, settings
):
    settings.P2C_AUTHORITY_URL = entra.authority_url
    monkeypatch.setenv("P2C_TENANT_ID", TENANT)
    monkeypatch.setenv("P2C_CLIENT_ID", DAEMON_CLIENT_ID)
    monkeypatch.setenv("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)
    pulled = {}
    for key, export in maker_exports.items():
        headers, records = as_records(export)
        table = TABLES[key]
        sales.add_table(ENTITY_SETS[key], table.entity, headers[0],
                        {h: TYPES.get(h, "String") for h in headers[1:]}, records)  # fmt: skip
        pulled[key] = tmp_path / f"pulled-{key}.csv"
        columns = [arg for h in headers[1:] for arg in ("--column", h)]
        call_command(
            "p2c_dataverse", "read", key, str(pulled[key]), "--url", sales.url, "--page-size", "7", *columns
        )

    settings_ = TransformSettings(company="USMF", date_order="mdy")
    for key in maker_exports:
        header = TABLES[key].checked.header
        outputs = {}
        for route, exports in (("upload", maker_exports), ("pull", pulled)):
            outputs[route] = tmp_path / f"{route}-{key}-output.csv"
            headers = [exports[header[0]]] if header else None
            transform_parts(key, [exports[key]], [outputs[route]], settings_, header_paths=headers)
        assert outputs["pull"].read_bytes() == outputs["upload"].read_bytes(), key
