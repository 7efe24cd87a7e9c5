"""Small generated exports for the engine tests."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter
from django.core.management import ManagementUtility
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from migration.engine import TransformSettings, transform_file
from migration.engine.files.xlsx_sheet import open_sheet

ORDER_HEADERS = [
    "(Do Not Modify) Order",
    "(Do Not Modify) Row Checksum",
    "(Do Not Modify) Modified On",
    "Order ID",
    "Name",
    "Customer",
    "Requested Delivery Date",
    "Date Fulfilled",
    "Date Submitted",
    "Ship To Country/Region",
]


def guid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def write_csv(
    path: Path, headers: list[str], rows: list[list[str]], encoding: str = "utf-8-sig", delimiter: str = ","
) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, headers: list[str], rows: list[list[Any]], hidden: int = 3) -> Path:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    ws = book.add_worksheet("Sheet")
    date_fmt = book.add_format({"num_format": "m/d/yyyy"})
    if hidden:
        ws.set_column(0, hidden - 1, 13, None, {"hidden": True})
    ws.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, v, date_fmt)
            elif isinstance(v, str):
                if v:
                    ws.write_string(r, c, v)
            elif v is not None:
                ws.write(r, c, v)
    book.close()
    return path


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def read_xlsx(path: Path) -> list[list[Any]]:
    ws = openpyxl.load_workbook(path).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def order_rows(n: int = 3) -> list[list[str]]:
    return [
        [
            guid(i),
            "ck==",
            "1/3/2021 6:30 AM",
            f"ORD-{i:04d}",
            f"Order {i}",
            "Contoso Ltd",
            "3/27/2020",
            "",
            "",
            "Germany",
        ]
        for i in range(n)
    ]


def settings(**kw: Any) -> TransformSettings:
    return TransformSettings(company=kw.pop("company", "USMF"), **kw)


def run(tmp_path: Path, table: str, src: Path, out_name: str = "out.csv", **kw: Any) -> tuple[Any, Path]:
    out = tmp_path / out_name
    report = transform_file(table, src, out, settings(**kw), report_path=tmp_path / "report.json")
    json.loads((tmp_path / "report.json").read_text())  # the report is valid JSON
    return report, out


def column(rows: list[list[Any]], name: str) -> list[Any]:
    i = rows[0].index(name)
    return [r[i] for r in rows[1:]]


def codes(report: Any) -> list[tuple[int, str]]:
    return [(i["row"], i["code"]) for i in report.to_dict()["issues"]]


def run_command(*args: str) -> int:
    """A manage.py command as the shell runs it: its exit code (0 when it returns)."""
    try:
        ManagementUtility(["manage.py", *args]).execute()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


# DTDs a hostile workbook may carry: entity expansion, an external entity, one after a long comment.
HOSTILE_DTDS = {
    "entity expansion": b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    "external entity": b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    "after a long comment": b"<!--" + b"-x" * 70_000 + b"-->\n<!DOCTYPE x>",
}


def rewrite_sheet(path: Path, change) -> Path:
    """The workbook with its data sheet's XML passed through change (members kept in order)."""
    with zipfile.ZipFile(path) as zf:
        members = [(i, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, change(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return path


def with_dtd(src: Path, dst: Path, part: str = "xl/workbook.xml", dtd: bytes = b"") -> Path:
    """A copy of the workbook whose `part` declares a DTD after its XML declaration."""
    dtd = dtd or HOSTILE_DTDS["entity expansion"]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == part:
                declaration, rest = data.split(b"?>", 1) if data.startswith(b"<?xml") else (b"", data)
                data = (declaration + b"?>" if declaration else b"") + dtd + rest
            zout.writestr(info, data)
    return dst


# --- the import route: step-2 exports and re-exports, in one file or parts ---------------------


TARGETS = [
    "Company", "Sales Order Number", "Invoice Customer", "Requested Receipt Date", "Language", "Order Type",
]  # fmt: skip
REEXPORT = ORDER_HEADERS + TARGETS


def step2_export(path: Path, rows: int) -> Path:
    data = [
        [guid(i), f"ck{i}", "1/2/2024 3:04 AM", f"ORD-{i:04d}", f"Order {i}", f"Customer {i}",
         f"3/{i % 28 + 1}/2020", "", "", "United States"]
        for i in range(rows)
    ]  # fmt: skip
    return write_csv(path, ORDER_HEADERS, data)


def reexport_workbook(path: Path, rows: int, records: list[int] | None = None) -> Path:
    """Like a Sales re-export: hidden columns and sheet, validations, formats, widths, panes, filter.

    records: the record numbers of its rows (a part of a re-export), else 0 .. rows-1."""
    records = list(range(rows)) if records is None else records
    rows = len(records)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "All Orders"
    ws.append(REEXPORT)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i in records:
        ws.append([guid(i), f"ck{i}==", dt.datetime(2024, 1, 2, 3, 4), f"ORD-{i:04d}", f"Order {i}",
                   f"Customer {i}", None, None, None, "United States"] + [None] * len(TARGETS))  # fmt: skip
    for r in range(2, rows + 2):
        ws.cell(r, 3).number_format = "yyyy-mm-dd hh:mm"
        ws.cell(r, 14).number_format = "m/d/yyyy"  # Requested Receipt Date: a date column
    for col in "ABC":
        ws.column_dimensions[col].hidden = True
        ws.column_dimensions[col].width = 13
    ws.column_dimensions["E"].width = 31
    ws.freeze_panes = "D2"
    ws.auto_filter.ref = f"A1:P{rows + 1}"
    hidden = wb.create_sheet("hiddenSheet")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "salesorder:abc:view=All Orders:lcid=1033"
    hidden["B1"], hidden["B2"] = "Item based", "Service-Maintenance Based"
    dv = DataValidation(type="list", formula1="hiddenSheet!$B$1:$B$2", allow_blank=True)
    dv.add(f"P2:P{rows + 1}")
    ws.add_data_validation(dv)
    wb.save(path)
    return path


def _cells(path: Path) -> dict[str, dict[str, tuple]]:
    wb = openpyxl.load_workbook(path)
    return {
        ws.title: {
            c.coordinate: (c.value, c.data_type, c.number_format, c.font.b)
            for row in ws.iter_rows()
            for c in row
        }
        for ws in wb.worksheets
    }


def assert_only_targets_changed(before: Path, after: Path, target_letters: str) -> None:
    """Every zip part but the data sheet byte for byte; in the sheet, only target cells differ."""
    sheet = open_sheet(before).sheet_part
    with zipfile.ZipFile(before) as a, zipfile.ZipFile(after) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name != sheet:
                assert a.read(name) == b.read(name), name
    old, new = _cells(before), _cells(after)
    assert old.keys() == new.keys()
    for title in old:
        changed = {k for k in old[title].keys() | new[title].keys() if old[title].get(k) != new[title].get(k)}
        assert {k.rstrip("0123456789") for k in changed} <= set(target_letters), title


STEP2_PARTS = [range(0, 20), range(20, 40), range(40, 60)]  # records 0..59, three files
REEXPORT_PARTS = [[*range(0, 25), 70], list(range(49, 24, -1))]  # 70: not in step 2; 50..59: in no part


def _step2_row(i: int) -> list[str]:
    # Step 2's own values differ from the re-export's ("Customer i"): the fill must take step 2's.
    return [guid(i), f"ck{i}", "1/2/2024 3:04 AM", f"ORD-{i:04d}", f"Order {i}", f"S2 Customer {i}",
            f"3/{i % 28 + 1}/2020", "", "", "United States"]  # fmt: skip


def step2_parts(folder: Path, cuts: list[range] = STEP2_PARTS) -> list[Path]:
    paths = []
    for n, records in enumerate(cuts, start=1):
        rows = [_step2_row(i) for i in records]
        if n == 2:  # parts may mix CSV and xlsx
            paths.append(write_xlsx(folder / f"step2_{n}.xlsx", ORDER_HEADERS, rows))
        else:
            paths.append(write_csv(folder / f"step2_{n}.csv", ORDER_HEADERS, rows))
    return paths


def reexport_parts(folder: Path, cuts: list[list[int]] = REEXPORT_PARTS) -> list[Path]:
    return [
        reexport_workbook(folder / f"reexport_{n}.xlsx", 0, records)
        for n, records in enumerate(cuts, start=1)
    ]


def a_part(path, rows: int):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("Name,Description\n")
        handle.writelines(f"Row {i},x\n" for i in range(rows))
    return path


# Step 9: the columns of our step-8 account output that reconciliation reads.
OURS = [
    "(Do Not Modify) Account", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On",
    "Account Number", "Account Name", "Company", "Relationship Type", "Customer Group Id", "Party Number",
]  # fmt: skip


# A Sales re-export's shape, for filling in place.
SALES_LIKE_HEADERS = [
    "(Do Not Modify) Order",
    "(Do Not Modify) Row Checksum",
    "(Do Not Modify) Modified On",
    "Order ID",
    "Customer",
    "Total Amount",
    "Company",
    "Requested Receipt Date",
    "Order Type",
]


def sales_like_workbook(path: Path, rows: int = 6) -> Path:
    """A workbook shaped like a Sales re-export: hidden columns and sheet, validations, formats."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "All Orders"
    ws.append(SALES_LIKE_HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEEFF")
    for i in range(rows):
        ws.append([guid(i), f"ck{i}==", dt.datetime(2024, 1, 2, 3, 4) + dt.timedelta(days=i), f"ORD-{i:04d}",
                   "Contoso & Sons" if i % 2 else "Fabrikam", 1000.5 + i, None, None, None])  # fmt: skip
    ws.cell(3, 7, "OLD")  # an existing target cell whose value is replaced
    ws.cell(4, 9).number_format = "@"  # an existing, empty, styled target cell
    for r in range(2, rows + 2):
        ws.cell(r, 3).number_format = "yyyy-mm-dd hh:mm"
        ws.cell(r, 6).number_format = '#,##0.00 "USD"'
        ws.cell(r, 8).number_format = "m/d/yyyy"  # the receipt date column is a date column
    for col in "ABC":
        ws.column_dimensions[col].hidden = True
        ws.column_dimensions[col].width = 13
    ws.column_dimensions["D"].width = 22
    ws.column_dimensions["E"].width = 31
    ws.freeze_panes = "D2"
    ws.auto_filter.ref = f"A1:I{rows + 1}"
    hidden = wb.create_sheet("hiddenSheet")
    hidden.sheet_state = "hidden"
    hidden["A1"] = "salesorder:abc:view=All Orders:lcid=1033"
    for i, v in enumerate(["Item based", "Service-Maintenance Based"], start=1):
        hidden.cell(i, 2, v)
    dv = DataValidation(type="list", formula1="hiddenSheet!$B$1:$B$2", allow_blank=True)
    dv.add(f"I2:I{rows + 1}")
    ws.add_data_validation(dv)
    wb.defined_names["ChoiceList"] = DefinedName("ChoiceList", attr_text="hiddenSheet!$B$1:$B$2")
    wb.save(path)
    return path


def minimal_workbook(path, sheet_xml: bytes, sheet_size_hint: int = 0):
    """The least an xlsx needs around a sheet's XML; `sheet_size_hint` MB of spaces make it big."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "xl/workbook.xml",
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(sheet_xml)
            for _ in range(sheet_size_hint):
                f.write(b" " * (1 << 20))
    return path
