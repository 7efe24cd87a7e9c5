"""Merge mode fills the re-export in place (the import route): only the target cells change."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from migration.engine import EngineError, transform_file
from migration.engine.step8.packs import split_for_import

from .helpers import (
    ORDER_HEADERS,
    REEXPORT,
    assert_only_targets_changed,
    guid,
    reexport_workbook,
    settings,
    step2_export,
    write_csv,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def route(tmp_path):
    return step2_export(tmp_path / "step2.csv", 40), reexport_workbook(tmp_path / "reexport.xlsx", 40)


def test_it_fills_an_xlsx_reexport_in_place_and_keeps_the_workbook(tmp_path, route):
    step2, reexport = route
    out = tmp_path / "import.xlsx"
    report = transform_file("order", reexport, out, settings(), merge_source_path=step2)
    assert report.filled_in_place and report.columns_added == []
    assert report.rows_out == 40 and report.counts["Company"] == 40
    assert_only_targets_changed(reexport, out, "KLMNOP")
    ws = openpyxl.load_workbook(out)["All Orders"]
    assert [c.value for c in ws[2]][10:] == [
        "USMF", "ORD-0000", "Customer 0", dt.datetime(2020, 3, 1), "en-us", "Item based",
    ]  # fmt: skip
    assert ws.freeze_panes == "D2" and ws.auto_filter.ref == "A1:P41"
    assert ws.column_dimensions["A"].hidden and ws.column_dimensions["E"].width == 31
    assert openpyxl.load_workbook(out)["hiddenSheet"].sheet_state == "hidden"


def test_it_leaves_a_cell_alone_when_its_value_does_not_change(tmp_path, route):
    step2, reexport = route
    out = tmp_path / "import.xlsx"
    transform_file("order", reexport, out, settings(), merge_source_path=step2)
    again = tmp_path / "again.xlsx"
    report = transform_file("order", out, again, settings(), merge_source_path=step2)
    assert report.counts["Company"] == 40 and report.overwritten["Company"] == 0
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(again) as b:
        assert all(a.read(n) == b.read(n) for n in a.namelist())  # nothing to change: same bytes


def test_it_fills_the_sales_reexport_sample_from_the_step_2_export(tmp_path):
    reexport = SAMPLES / "reexport" / "order.xlsx"
    out = tmp_path / "order.xlsx"
    report = transform_file(
        "order", reexport, out, settings(), merge_source_path=SAMPLES / "sales-excel" / "order.xlsx"
    )
    assert report.filled_in_place and report.merge["matched"] == 280
    assert_only_targets_changed(reexport, out, "NOPQRST")  # ship-to country (N) is converted in place


def test_it_keeps_a_csv_reexport_s_encoding_delimiter_and_quoting(tmp_path, route):
    step2, _ = route
    us = "United States"
    rows = [[guid(i), f"ck{i}", "", f"ORD-{i:04d}", f'Say "hi" {i}', f"Customer {i}", "", "", "", us]
            + [""] * 6 for i in range(3)]  # fmt: skip
    reexport = write_csv(tmp_path / "r.csv", REEXPORT, rows, encoding="cp1252", delimiter=";")
    out = tmp_path / "import.csv"
    report = transform_file("order", reexport, out, settings(), merge_source_path=step2)
    assert report.filled_in_place
    text = out.read_bytes().decode("cp1252")
    assert not out.read_bytes().startswith(b"\xef\xbb\xbf")
    first = text.split("\r\n")[1]
    assert first == (
        f'{guid(0)};ck0;;ORD-0000;"Say ""hi"" 0";Customer 0;;;;United States;'
        "USMF;ORD-0000;Customer 0;2020-03-01T00:00:00Z;en-us;Item based"
    )


def test_it_refuses_a_reexport_lacking_target_columns_naming_them(tmp_path, route):
    step2, _ = route
    headers = [*ORDER_HEADERS, "Company", "Order Type"]
    reexport = write_csv(tmp_path / "r.csv", headers, [[guid(1)] + [""] * (len(headers) - 1)])
    with pytest.raises(EngineError) as caught:
        transform_file("order", reexport, tmp_path / "o.xlsx", settings(), merge_source_path=step2)
    message = str(caught.value)
    for name in ("Sales Order Number", "Invoice Customer", "Requested Receipt Date", "Language"):
        assert repr(name) in message
    assert "add them to the table's view in Sales" in message
    assert not (tmp_path / "o.xlsx").exists()


def test_it_splits_a_filled_workbook_into_parts_that_keep_its_structure(tmp_path):
    step2 = step2_export(tmp_path / "step2.csv", 3000)
    reexport = reexport_workbook(tmp_path / "reexport.xlsx", 3000)
    out = tmp_path / "import.xlsx"
    transform_file("order", reexport, out, settings(), merge_source_path=step2)
    parts = split_for_import(out, part_mb=0.05)
    assert len(parts) > 1
    assert all(p.size <= 0.05 * 2**20 for p in parts)
    whole = [r for r in openpyxl.load_workbook(out)["All Orders"].iter_rows(values_only=True)]
    joined = [whole[0]]
    for p in parts:
        rows = list(openpyxl.load_workbook(p.path)["All Orders"].iter_rows(values_only=True))
        assert rows[0] == whole[0]
        joined += rows[1:]
        assert openpyxl.load_workbook(p.path)["hiddenSheet"].sheet_state == "hidden"
    assert joined == whole
