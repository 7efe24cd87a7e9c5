"""The report JSON (contract: table, rows, columns, counts, issues, settings, SHA-256s)."""

import hashlib
import json

import pytest

from migration.engine import EngineError, inspect_file, transform_file

from .helpers import ORDER_HEADERS, column, order_rows, read_csv, settings, write_csv


def test_it_writes_the_contract_report(tmp_path):
    rows = order_rows(3)
    rows[2][6:9] = ["", "", ""]
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    out, report_path = tmp_path / "out.csv", tmp_path / "report.json"
    transform_file(
        "order", src, out, settings(order_type="Service-Maintenance Based"), report_path=report_path
    )
    data = json.loads(report_path.read_text())
    for key in (
        "table",
        "rows_in",
        "rows_out",
        "columns_added",
        "columns_filled",
        "counts",
        "issues",
        "settings",
    ):
        assert key in data
    assert data["table"] == "order" and data["rows_in"] == data["rows_out"] == 3
    assert data["input_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert data["output_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert data["counts"]["Requested Receipt Date"] == 2 and data["counts"]["Company"] == 3
    assert data["issues"] == [
        {
            "row": 3,
            "guid": rows[2][0],
            "column": "Requested Receipt Date",
            "severity": "warning",
            "code": "no_receipt_date",
            "message": "no date in the receipt date chain: Requested Receipt Date left empty",
        }
    ]
    assert data["settings"]["order_type"] == "Service-Maintenance Based"
    assert column(read_csv(out), "Order Type") == ["Service-Maintenance Based"] * 3


def test_it_returns_a_report_dict_equal_to_the_json(tmp_path):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(2))
    report = transform_file("order", src, tmp_path / "o.csv", settings(), report_path=tmp_path / "r.json")
    assert report.to_dict() == json.loads((tmp_path / "r.json").read_text())


def test_it_refuses_bad_files_in_inspect_like_transform(tmp_path):
    bad = tmp_path / "order.xlsx"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(EngineError):
        inspect_file(bad)
