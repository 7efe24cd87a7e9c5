"""Import packs: parts under the limit, same shape, together the unsplit output; the manifest."""

from __future__ import annotations

import itertools
import json
import random
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from migration.engine import EngineError
from migration.engine.files.reading import open_source
from migration.engine.files.xlsx_inplace import fill_xlsx
from migration.engine.files.xlsx_sheet import open_sheet
from migration.engine.step8 import packs
from migration.engine.step8.packs import PackFile, copy_xlsx_rows, split_for_import, write_manifest

from .helpers import rewrite_sheet, sales_like_workbook


def _rows(path) -> list[list]:
    return [
        r if isinstance(r, list) else list(r) for b in open_source(path).batches() for r in (b.rows or [])
    ]


def _csv_rows(path) -> list[list[str]]:
    out = []
    for b in open_source(path).batches():
        cols = [b.text(i).to_pylist() for i in range(b.arrow.num_columns)]
        out += [list(r) for r in zip(*cols, strict=True)]
    return out


def _noisy_workbook(path, rows: int):
    sales_like_workbook(path, rows)
    wb = openpyxl.load_workbook(path)
    ws = wb["All Orders"]
    rng = random.Random(3)
    for r in range(2, rows + 2):
        ws.cell(r, 5, "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(80)))
    wb.save(path)
    return path


def test_it_cuts_a_big_workbook_into_complete_workbooks_under_the_limit(tmp_path):
    src = _noisy_workbook(tmp_path / "order.xlsx", 3000)
    limit_mb = 0.1
    parts = split_for_import(src, part_mb=limit_mb)
    assert len(parts) >= 2
    assert [p.file for p in parts] == [f"order_part{i:02d}.xlsx" for i in range(1, len(parts) + 1)]
    assert all(p.size <= limit_mb * (1 << 20) for p in parts)
    assert [r for p in parts for r in _rows(p.path)] == _rows(src)  # none lost, repeated or moved
    assert parts[0].first_row == 1 and parts[-1].last_row == 3000
    assert all(a.last_row + 1 == b.first_row for a, b in itertools.pairwise(parts))
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(parts[1].path) as b:
        assert a.namelist() == b.namelist()
        assert a.read("xl/styles.xml") == b.read("xl/styles.xml")
    n = parts[1].rows
    ws = openpyxl.load_workbook(parts[1].path)["All Orders"]
    assert ws.max_row == n + 1 and ws["A2"].value == _rows(src)[parts[0].rows][0]
    assert ws.auto_filter.ref == f"A1:I{n + 1}"
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == [f"I2:I{n + 1}"]
    assert ws.freeze_panes == "D2" and ws.column_dimensions["A"].hidden
    hidden = openpyxl.load_workbook(parts[1].path)["hiddenSheet"]
    assert hidden.sheet_state == "hidden" and hidden["B2"].value == "Service-Maintenance Based"


def test_it_leaves_a_file_that_fits_alone(tmp_path):
    src = sales_like_workbook(tmp_path / "order.xlsx", 5)
    parts = split_for_import(src)
    assert [(p.path, p.part, p.rows) for p in parts] == [(str(src), None, 5)]
    assert sorted(x.name for x in tmp_path.iterdir() if x.suffix == ".xlsx") == ["order.xlsx"]


def test_it_cuts_a_csv_into_header_plus_whole_records(tmp_path):
    rng = random.Random(5)
    lines = ["Order ID,Description,Company"]
    for i in range(2000):
        text = "".join(rng.choice('abc ,"\n') for _ in range(60)).replace('"', '""')
        lines.append(f'ORD-{i},"{text}",USMF')
    src = tmp_path / "order.csv"
    src.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    parts = split_for_import(src, part_mb=0.03)
    assert len(parts) >= 4
    assert all(p.size <= 0.03 * (1 << 20) for p in parts)
    for p in parts:
        raw = Path(p.path).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbfOrder ID,Description,Company\r\n")
    assert [r for p in parts for r in _csv_rows(p.path)] == _csv_rows(src)


def test_it_copies_chosen_rows_of_a_workbook(tmp_path):
    src = sales_like_workbook(tmp_path / "order.xlsx", 6)
    out = tmp_path / "again.xlsx"
    assert copy_xlsx_rows(src, out, {1, 4}) == 2
    assert [r[3] for r in _rows(out)] == ["ORD-0001", "ORD-0004"]
    assert open_sheet(out).headers == open_sheet(src).headers


def test_it_writes_the_manifest_in_import_order(tmp_path):
    a = sales_like_workbook(tmp_path / "order.xlsx", 3)
    b = sales_like_workbook(tmp_path / "account.xlsx", 4)
    files = [PackFile("order", split_for_import(a)[0]), PackFile("account", split_for_import(b)[0])]
    txt, js = write_manifest(tmp_path, files)
    data = json.loads(Path(js).read_text())
    assert [(f["order"], f["table"], f["rows"]) for f in data["files"]] == [
        (1, "account", 4),
        (2, "order", 3),
    ]
    order = ["account", "contact", "quote", "quote_products", "order", "order_products"]
    assert data["import_order"] == order
    assert all(len(f["sha256"]) == 64 and f["wizard"] for f in data["files"])
    text = Path(txt).read_text(encoding="utf-8")
    assert text.index("account.xlsx") < text.index("order.xlsx")
    assert "Invoice Customer" in data["files"][1]["wizard"]
    with pytest.raises(EngineError, match="invoice is not imported"):
        write_manifest(tmp_path, [PackFile("invoice", split_for_import(a)[0])])


def test_it_gives_every_transformed_table_a_place_in_the_import_order():
    from migration.engine import IMPORT_ORDER, TABLES

    assert set(IMPORT_ORDER) == {key for key, table in TABLES.items() if table.transforms}


def _with_long_tail(path: Path) -> Path:
    """A validation listing 100,000 ranges: the text after the rows spans several reads."""
    ranges = " ".join(f"E{2 + i % 50}:E{3000 - i % 50}" for i in range(100_000)).encode()
    return rewrite_sheet(path, lambda xml: xml.replace(b'sqref="I2:I', b'sqref="' + ranges + b" I2:I"))


def test_a_workbook_cut_right_after_its_fill_gets_the_parts_of_a_cut_alone(tmp_path):
    """The fill tells the cut where its rows are; the parts are those of a cut that reads the file."""
    src = _with_long_tail(_noisy_workbook(tmp_path / "order.xlsx", 3000))
    for folder in ("filled", "copied", "parts_filled", "parts_copied"):
        (tmp_path / folder).mkdir()
    filled, copied = tmp_path / "filled" / "order.xlsx", tmp_path / "copied" / "order.xlsx"
    values = [[f"C{i % 7}", "2020-03-27T00:00:00Z", None if i % 3 else "Item based"] for i in range(3000)]
    fill_xlsx(src, filled, ["Company", "Requested Receipt Date", "Order Type"], values)
    copied.write_bytes(filled.read_bytes())
    after_fill = split_for_import(filled, part_mb=0.1, out_dir=tmp_path / "parts_filled")
    alone = split_for_import(copied, part_mb=0.1, out_dir=tmp_path / "parts_copied")
    assert len(after_fill) >= 3
    assert [(p.file, p.rows, p.sha256) for p in after_fill] == [(p.file, p.rows, p.sha256) for p in alone]
    assert [r for p in after_fill for r in _rows(p.path)] == _rows(filled)
    assert [r[6] for r in _rows(after_fill[1].path)][:2] == [
        f"C{(after_fill[0].rows + i) % 7}" for i in range(2)
    ]


def test_a_sheet_with_text_between_rows_is_cut_into_whole_rows(tmp_path):
    src = rewrite_sheet(
        _noisy_workbook(tmp_path / "order.xlsx", 2000),
        lambda xml: xml.replace(b"</row><row", b"</row>\n <row"),
    )
    parts = split_for_import(src, part_mb=0.08)
    assert len(parts) >= 2 and all(p.size <= 0.08 * (1 << 20) for p in parts)
    assert [r for p in parts for r in _rows(p.path)] == _rows(src)


def test_a_workbook_replaced_after_its_fill_is_cut_from_what_it_holds_now(tmp_path):
    src = _noisy_workbook(tmp_path / "order.xlsx", 3000)
    out = tmp_path / "out" / "order.xlsx"
    out.parent.mkdir()
    fill_xlsx(src, out, ["Company"], [["USMF"]] * 3000)
    other = _noisy_workbook(tmp_path / "other.xlsx", 2500)
    out.write_bytes(other.read_bytes())
    parts = split_for_import(out, part_mb=0.1)
    assert len(parts) >= 2
    assert [r for p in parts for r in _rows(p.path)] == _rows(other)


def test_one_read_cuts_the_parts_a_pass_per_part_cuts_missing_rows_included(tmp_path, monkeypatch):
    """The parts cut in one read of the sheet are those of the older cut (a pass to size the
    rows, then one per part), byte for byte, also where the sheet has no element for some rows
    (blank rows Excel leaves out)."""
    src = _noisy_workbook(tmp_path / "order.xlsx", 3000)
    gone = {*range(40, 60), 700, 1500, *range(2990, 3001)}  # a run, single rows, the last rows but one
    rewrite_sheet(
        src,
        lambda xml: re.sub(rb'<row r="(\d+)".*?</row>', lambda m: b"" if int(m[1]) in gone else m[0], xml),
    )
    for folder in ("one_read", "per_part"):
        (tmp_path / folder).mkdir()
    one_read = split_for_import(src, part_mb=0.1, out_dir=tmp_path / "one_read")
    monkeypatch.setattr(packs, "sheet_layout", lambda info: None)  # the cut for text between rows
    per_part = split_for_import(src, part_mb=0.1, out_dir=tmp_path / "per_part")
    assert len(one_read) >= 3
    assert [(p.file, p.first_row, p.last_row, p.sha256) for p in one_read] == [
        (p.file, p.first_row, p.last_row, p.sha256) for p in per_part
    ]
    assert [r for p in one_read for r in _rows(p.path)] == [r for r in _rows(src) if any(v != "" for v in r)]
