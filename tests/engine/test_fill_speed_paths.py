"""The fast paths of fill in place and of the import cut write what the general paths write.

Fill in place takes whole runs of plain rows at once, the cut writes its parts side by side and
renumbers a row with a checked replace: each is held here against the general path (row by row,
one part after another, the pattern), byte for byte, on workbooks that switch between the two.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from migration.engine import EngineError
from migration.engine.files import xlsx_inplace
from migration.engine.files.xlsx_inplace import fill_xlsx
from migration.engine.files.zipraw import quick_switches
from migration.engine.step8 import packs, xlsx_cut
from migration.engine.step8.packs import split_for_import

from .helpers import rewrite_sheet

HEADERS = ["(Do Not Modify) Order", "Order ID", "Name", "Requested Delivery Date", "Description"]
TARGETS = ["Company", "Invoice Customer", "Requested Receipt Date", "Language", "Count", "Closed"]


def _reexport(path: Path, rows: int, odd: dict[int, str] | None = None) -> Path:
    """An xlsxwriter re-export (inline strings, as Sales writes them) of `rows` rows, about
    1.2 KB each, with the target columns empty; `odd` rows break the plain shape: 'target' (a
    target cell already there), 'style' (a row style), 'gap' (no row element), 'colon' (':c'
    in a text), 'no-name' (no cell in the Name column)."""
    odd = odd or {}
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet("All Orders")
    date = book.add_format({"num_format": "m/d/yyyy"})
    grey = book.add_format({"bg_color": "#EEEEEE"})
    wrap = book.add_format({"text_wrap": True})  # the Name cells' own style, kept when set
    ws.set_column(len(HEADERS) + 2, len(HEADERS) + 2, 14, date)  # the receipt date: a date column
    ws.write_row(0, 0, HEADERS + TARGETS)
    rng = random.Random(7)
    for r in range(1, rows + 1):
        kind = odd.get(r)
        if kind == "gap":
            continue
        if kind == "style":
            ws.set_row(r, None, grey)
        ws.write_string(r, 0, f"0f9b55db-0cfb-27e4-085b-{r:012d}")
        ws.write_string(r, 1, f"ORD-{r:08d}")
        if kind != "no-name":
            ws.write_string(r, 2, "Order for " + rng.choice(["Contoso", "Fabrikam & Sons", "Litware"]), wrap)
        ws.write_datetime(r, 3, dt.datetime(2024, 1, 1) + dt.timedelta(days=r % 300), date)
        text = " ".join(rng.choice(["alpha", "beta", "gamma", "délta"]) for _ in range(180))
        ws.write_string(r, 4, text + (" note:call back" if kind == "colon" else ""))
        if kind == "target":
            ws.write_string(r, len(HEADERS) + 1, "OLD")
    book.close()
    return path


def _value(r: int, c: int):
    """Every kind of value the fill writes, in every target column, varying by row."""
    kinds = [
        None, "", "USMF", f"CUST-{r:05d}", " lead space", "trail space ", "two\nlines", "a & b <c>",
        "_x0041_ kept", "carriage\rreturn", "2024-03-05T00:00:00Z", "2024-02-30", 7, 2.5, True,
        dt.date(2024, 5, 6), dt.datetime(2024, 5, 6, 7, 8), "Ünïcödé 漢字",
    ]  # fmt: skip
    return kinds[(r * 7 + c * 3) % len(kinds)]


def _values(rows: int, columns: int = len(TARGETS)):
    for r in range(rows):
        yield None if r % 97 == 5 else tuple(_value(r, c) for c in range(columns))


def _fill_both_ways(
    tmp_path: Path, src: Path, rows: int, monkeypatch, columns: list[str] = TARGETS
) -> tuple[Path, Path, int]:
    """The workbook filled as it is now and row by row; and how many blocks went whole."""
    whole = 0
    plain_rows = xlsx_inplace._Filler.plain_rows

    def counted(self, block):
        nonlocal whole
        got = plain_rows(self, block)
        whole += got is not None
        return got

    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    marks: dict[str, list[int]] = {"fast": [], "slow": []}
    monkeypatch.setattr(xlsx_inplace._Filler, "plain_rows", counted)
    fast_result = fill_xlsx(src, fast, columns, _values(rows, len(columns)), progress=marks["fast"].append)
    monkeypatch.setattr(xlsx_inplace._Filler, "plain_rows", lambda self, block: None)
    slow_result = fill_xlsx(src, slow, columns, _values(rows, len(columns)), progress=marks["slow"].append)
    assert fast_result.to_dict() == slow_result.to_dict()
    assert marks["fast"] == marks["slow"] == list(range(10000, rows + 1, 10000))
    return fast, slow, whole


@pytest.mark.parametrize(
    "odd",
    [
        {},
        {2: "target", 900: "style", 1801: "gap", 2700: "colon", 3999: "target"},
        {r: "gap" for r in range(1500, 1540)} | {3000: "style"},
    ],
    ids=["plain", "each-odd-row", "blank-rows"],
)
def test_a_fill_a_block_at_a_time_writes_the_bytes_of_a_fill_row_by_row(tmp_path, monkeypatch, odd):
    rows = 10_050
    src = _reexport(tmp_path / "reexport.xlsx", rows, odd)
    fast, slow, whole = _fill_both_ways(tmp_path, src, rows, monkeypatch)
    assert fast.read_bytes() == slow.read_bytes()
    assert whole >= 5  # most of the ~12 MB of rows went a block at a time
    with zipfile.ZipFile(fast) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert b'<c r="J4" t="inlineStr"><is><t>_x005F_x0041_ kept</t></is></c>' in sheet
    assert b'<c r="H18" s="1"><v>45356</v></c>' in sheet  # an ISO date in the date column


@pytest.mark.parametrize(
    "odd", [{}, {r: "no-name" for r in (3, 700, 701, 5000)}], ids=["every-row-has-it", "some-rows-lack-it"]
)
def test_a_target_inside_the_rows_is_set_in_place_a_block_at_a_time(tmp_path, monkeypatch, odd):
    """The import route's shape: a target column among the exported ones (a country, a name)
    set in its cell where it is, the dual-write columns appended after the last cell."""
    rows = 10_050
    src = _reexport(tmp_path / "reexport.xlsx", rows, odd)
    fast, slow, whole = _fill_both_ways(tmp_path, src, rows, monkeypatch, ["Name", *TARGETS])
    assert fast.read_bytes() == slow.read_bytes()
    assert whole >= 5
    with zipfile.ZipFile(fast) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert b'<c r="C10" s="2" t="inlineStr"><is><t>USMF</t></is></c><c r="D10"' in sheet  # its own style


def test_a_fill_with_spans_writes_the_bytes_of_a_fill_row_by_row(tmp_path, monkeypatch):
    """Rows with spans (as Excel saves them) widen them: the row-by-row path, every block."""
    rows = 3000
    src = _reexport(tmp_path / "reexport.xlsx", rows)
    rewrite_sheet(src, lambda xml: re.sub(rb'(<row r="\d+")>', rb'\1 spans="1:5">', xml))
    fast, slow, whole = _fill_both_ways(tmp_path, src, rows, monkeypatch)
    assert fast.read_bytes() == slow.read_bytes() and whole == 0
    with zipfile.ZipFile(fast) as zf:
        assert b'<row r="2" spans="1:11">' in zf.read("xl/worksheets/sheet1.xml")


def test_text_too_long_for_a_cell_is_refused_naming_the_cell_in_a_block(tmp_path):
    src = _reexport(tmp_path / "reexport.xlsx", 2000)
    values = [("USMF", None, None, None, None, None)] * 1500 + [("x" * 40_000, None, None, None, None, None)]
    with pytest.raises(EngineError, match=r"cell F1502 would hold 40,000 characters"):
        fill_xlsx(src, tmp_path / "out.xlsx", TARGETS, values)
    assert not (tmp_path / "out.xlsx").exists()


# --- renumbering a row ----------------------------------------------------------------------


def _by_pattern(raw: bytes, new: int) -> bytes:
    pieces = packs._ROW_NUM_RE.split(raw)
    pieces[2::4] = [str(new).encode()] * (len(pieces) // 4)
    return b"".join(pieces)


@pytest.mark.parametrize(
    "raw",
    [
        b'<row r="12"><c r="A12" t="inlineStr"><is><t>x</t></is></c><c r="AB12"><v>3</v></c></row>',
        b'<row r="12"><c r="A12" s="12"><v>12</v></c></row>',  # a style equal to the number
        b'<row r="5"><c r="A5" t="inlineStr"><is><t>a 27" screen, 5" tall</t></is></c></row>',
        b'<row r="5" spans="1:5"><c r="A5"/><c r="E5"/></row>',
        b'<row r="15"><c r="A15"/><c r="B5"/></row>',  # a cell outside its row
        b'<row ht="15" r="7"><c r="A7"/></row>',  # the number not first
        b'<x:row r="7"><x:c r="A7"/></x:row>',  # a prefix
        b'<row r="7"><c r="A7" t="inlineStr"><is><t>text r="A7" inside</t></is></c></row>',
        b'<row r="7"><c s="1" r="A7"/><c r="B7"/></row>',
        b'<row r="7"><c r="A7"/><c\tr="B7"/></row>',
    ],
)
def test_a_row_renumbered_by_replace_is_the_row_the_pattern_gives(raw):
    for new in (2, 7, 100_000):
        assert packs._renumbered(raw, new) == _by_pattern(raw, new)


# --- parts side by side -----------------------------------------------------------------------


def _uneven_workbook(path: Path, rows: int) -> Path:
    """Rows that compress badly first and well after: the first part, planned from the whole
    sheet's ratio, comes out over the limit and must be cut shorter."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("All Orders")
    ws.write_row(0, 0, ["Order ID", "Description"])
    rng = random.Random(11)
    for r in range(1, rows + 1):
        text = (
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(200))
            if r <= rows // 2
            else "same text " * 20
        )
        ws.write_row(r, 0, [f"ORD-{r:06d}", text])
    book.close()
    return path


def _parts(tmp_path: Path, src: Path, name: str, part_mb: float):
    folder = tmp_path / name
    folder.mkdir()
    return split_for_import(src, part_mb=part_mb, out_dir=folder)


def test_parts_written_side_by_side_are_the_parts_written_in_turn(tmp_path, monkeypatch):
    src = _uneven_workbook(tmp_path / "order.xlsx", 6000)
    cut = split_for_import.__globals__["_split_xlsx"]
    assert cut  # the xlsx path is what is tested
    planned_sizes: list[int] = []
    write = xlsx_cut._write_part_alone
    monkeypatch.setattr(
        xlsx_cut, "_write_part_alone", lambda *a: planned_sizes.append(size := write(*a)) or size
    )
    side_by_side = _parts(tmp_path, src, "side", 0.25)
    monkeypatch.setattr(xlsx_cut, "PARTS_AT_ONCE", 1)
    in_turn = _parts(tmp_path, src, "turn", 0.25)
    assert len(side_by_side) >= 3
    assert max(planned_sizes) > 0.25 * 2**20  # a planned part was over the limit: cut shorter
    assert all(p.size <= 0.25 * 2**20 for p in side_by_side)
    assert [(p.file, p.first_row, p.last_row, p.sha256) for p in side_by_side] == [
        (p.file, p.first_row, p.last_row, p.sha256) for p in in_turn
    ]
    assert sorted(os.listdir(tmp_path / "side")) == [p.file for p in side_by_side]  # nothing else left


def test_a_part_that_fails_leaves_no_part_behind(tmp_path, monkeypatch):
    src = _uneven_workbook(tmp_path / "order.xlsx", 6000)
    write = xlsx_cut._write_part

    def fail_second(info, layout, rows_in, path, start, end, cuts):
        if path.endswith("_part02.xlsx"):
            raise OSError(28, "No space left on device")
        return write(info, layout, rows_in, path, start, end, cuts)

    monkeypatch.setattr(xlsx_cut, "_write_part", fail_second)
    (tmp_path / "parts").mkdir()
    with pytest.raises(OSError, match="No space left"):
        split_for_import(src, part_mb=0.25, out_dir=tmp_path / "parts")
    assert os.listdir(tmp_path / "parts") == []


def test_quick_switches_give_the_interval_back_when_the_last_one_ends():
    before = sys.getswitchinterval()
    with quick_switches():
        assert sys.getswitchinterval() < before
        with quick_switches():
            pass
        assert sys.getswitchinterval() < before
    assert sys.getswitchinterval() == before
