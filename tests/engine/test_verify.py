"""Verifying an import: exactly the planted differences, missing and unexpected records; CLI codes."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

from migration.engine.step8.verify import same, table_columns, verify_import

from .helpers import guid, run_command, write_csv, write_xlsx

HEADERS = [
    "(Do Not Modify) Order",
    "(Do Not Modify) Row Checksum",
    "(Do Not Modify) Modified On",
    "Order ID",
    "Company",
    "Sales Order Number",
    "Requested Receipt Date",
    "Language",
    "Order Type",
]


def _expected_rows(n: int = 6) -> list[list]:
    return [
        [guid(i), "ck", "1/3/2021", f"ORD-{i}", "USMF" if i % 2 else "DEMF", f"ORD-{i}",
         "2020-03-27T00:00:00Z", "en-us", "Item based"]
        for i in range(n)
    ]  # fmt: skip


def _actual_rows() -> list[list]:
    """The re-export after the import: dates as date cells, other case, one planted difference
    per kind, record 5 missing, one record we never wrote."""
    rows = []
    for r in _expected_rows():
        a = list(r)
        a[0] = "{" + a[0].upper() + "}"  # GUID case and braces differ: still the same record
        a[6] = dt.date(2020, 3, 27)
        a[8] = "ITEM BASED "
        rows.append(a)
    rows[1][4] = "USMF2"  # planted: wrong company
    rows[3][6] = dt.date(2020, 3, 28)  # planted: wrong date
    rows[3][7] = "de"  # planted: wrong language
    del rows[5]  # planted: missing
    rows.append([guid(99), "ck", "1/3/2021", "ORD-99", "USMF", "ORD-99", "", "en-us", "Item based"])
    return rows


@pytest.fixture
def files(tmp_path):
    exp = write_csv(tmp_path / "expected.csv", HEADERS, _expected_rows())
    act = write_xlsx(tmp_path / "actual.xlsx", HEADERS, _actual_rows())
    return exp, act


def test_it_finds_exactly_the_planted_differences(tmp_path, files):
    exp, act = files
    columns, guids = table_columns("order")
    result = verify_import(exp, [act], columns, guid_names=guids, issues_path=tmp_path / "again.csv")
    assert result.counts == {"match": 3, "differs": 2, "missing": 1, "unexpected": 1}
    differs = {r.row: r.differences for r in result.records if r.status == "differs"}
    assert differs == {
        2: [{"column": "Company", "expected": "USMF", "found": "USMF2"}],
        4: [
            {
                "column": "Requested Receipt Date",
                "expected": "2020-03-27T00:00:00Z",
                "found": "2020-03-28",
            },
            {"column": "Language", "expected": "en-us", "found": "de"},
        ],
    }
    assert [(r.row, r.status) for r in result.records if r.status != "differs"] == [
        (6, "missing"),
        (None, "unexpected"),
    ]
    assert result.by_company["USMF"] == {"match": 0, "differs": 2, "missing": 1, "unexpected": 1}
    assert result.by_company["DEMF"] == {"match": 3, "differs": 0, "missing": 0, "unexpected": 0}
    again = (tmp_path / "again.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[3] for line in again] == ["Order ID", "ORD-1", "ORD-3", "ORD-5"]


def test_it_compares_as_the_import_stores_values():
    assert same(" Item  based ", "item based")
    assert same("2020-03-27T00:00:00Z", "3/27/2020")
    assert not same("2020-03-27T00:00:00Z", "3/28/2020", "date")
    assert same("10", "10.0") and same("Yes", "TRUE") and not same("Yes", "No")
    assert not same("USMF", "")


def test_it_exits_0_when_every_record_matches(tmp_path, files, capsys):
    exp, _ = files
    act = write_xlsx(tmp_path / "same.xlsx", HEADERS, _expected_rows())
    assert run_command("p2c_verify", "order", str(exp), str(act)) == 0
    assert "6 match, 0 differ, 0 missing" in capsys.readouterr().out


def test_it_exits_1_and_reports_the_records_that_differ(tmp_path, files, capsys):
    exp, act = files
    report = tmp_path / "r.json"
    assert run_command("p2c_verify", "order", str(exp), str(act), "--report", str(report)) == 1
    data = json.loads(report.read_text())
    assert data["ok"] is False and data["counts"]["differs"] == 2
    assert {r["status"] for r in data["records"]} == {"differs", "missing", "unexpected"}
    assert "USMF:" in capsys.readouterr().out


def test_it_verifies_against_import_files_in_several_parts(tmp_path, capsys):
    rows = _expected_rows()
    first = write_csv(tmp_path / "import_1.csv", HEADERS, rows[:3])
    second = write_csv(tmp_path / "import_2.csv", HEADERS, rows[3:])
    act = write_xlsx(tmp_path / "after.xlsx", HEADERS, rows)
    assert run_command("p2c_verify", "order", str(first), str(act), "--expected", str(second)) == 0
    assert "6 match, 0 differ, 0 missing" in capsys.readouterr().out
    # Without the second import file only its three records are compared.
    run_command("p2c_verify", "order", str(first), str(act))
    assert "3 match, 0 differ, 0 missing" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p / "nope.csv", "does not exist"),
        (lambda p: write_csv(p / "noguid.csv", ["Order ID", "Company"], [["A", "B"]]), "no record GUID"),
        (lambda p: write_csv(p / "nocol.csv", HEADERS[:5], [r[:5] for r in _expected_rows()]),
         "add them to the view"),
    ],
)  # fmt: skip
def test_it_exits_2_with_one_line_on_bad_input(tmp_path, files, capsys, make, fragment):
    exp, _ = files
    act = make(tmp_path)
    assert run_command("p2c_verify", "order", str(exp), str(act)) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_it_reads_a_filled_workbook_as_expected(tmp_path, files):
    _, act = files
    exp = write_xlsx(tmp_path / "expected.xlsx", HEADERS, _expected_rows())
    columns, guids = table_columns("order")
    result = verify_import(exp, [act], columns, guid_names=guids, issues_path=tmp_path / "again.xlsx")
    assert result.counts["differs"] == 2 and result.issues_rows == 3
    ws = openpyxl.load_workbook(tmp_path / "again.xlsx").active
    assert [ws.cell(r, 4).value for r in range(2, 5)] == ["ORD-1", "ORD-3", "ORD-5"]
