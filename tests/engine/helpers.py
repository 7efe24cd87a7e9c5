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

from migration.engine import TransformSettings, transform_file

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
