"""Fill in place: only the target cells change; every other part of the workbook stays as it was."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from migration.engine import EngineError
from migration.engine.files.reading import open_source
from migration.engine.files.xlsx_inplace import CellWriter, fill_xlsx, open_sheet, rows_from_batches
from migration.engine.files.xlsx_sheet import cell_spans

from .helpers import sales_like_workbook

TARGETS = ["Company", "Requested Receipt Date", "Order Type"]


def guid(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def _cells(path: Path) -> dict[str, dict[str, tuple]]:
    wb = openpyxl.load_workbook(path)
    return {
        ws.title: {
            c.coordinate: (c.value, c.data_type, c.number_format, c.font.b, c.fill.fgColor.rgb)
            for row in ws.iter_rows()
            for c in row
        }
        for ws in wb.worksheets
    }


def _raw(path: Path) -> list[tuple[str, int, int, int]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.compress_type, i.CRC, i.compress_size) for i in zf.infolist()]


@pytest.fixture
def book(tmp_path):
    (tmp_path / "in").mkdir()
    return sales_like_workbook(tmp_path / "in" / "order.xlsx")


def _values(n: int):
    return [["USMF", "2020-03-27T00:00:00Z", "Item based"] for _ in range(n)]


def test_it_changes_only_the_target_cells_and_keeps_every_other_part(tmp_path, book):
    out = tmp_path / "filled.xlsx"
    result = fill_xlsx(book, out, TARGETS, _values(6))
    assert result.rows == 6 and result.cells_written == 18
    sheet = open_sheet(book).sheet_part
    before, after = _raw(book), _raw(out)
    assert [m[0] for m in before] == [m[0] for m in after]  # same parts, same order
    with zipfile.ZipFile(book) as a, zipfile.ZipFile(out) as b:
        for (name, method, crc, size), (_, method2, crc2, size2) in zip(before, after, strict=True):
            assert method == method2
            if name != sheet:  # copied raw: same compressed bytes
                assert (crc, size) == (crc2, size2), name
                assert a.read(name) == b.read(name), name
    old, new = _cells(book), _cells(out)
    assert old["hiddenSheet"] == new["hiddenSheet"]
    changed = {k for k in old["All Orders"].keys() | new["All Orders"].keys()
               if old["All Orders"].get(k) != new["All Orders"].get(k)}  # fmt: skip
    assert changed == {f"{c}{r}" for c in "GHI" for r in range(2, 8)}
    ws = openpyxl.load_workbook(out)["All Orders"]
    assert ws["G3"].value == "USMF"  # the old value was replaced
    assert ws["H2"].value == dt.datetime(2020, 3, 27)  # a date column gets a date
    assert ws["H2"].number_format == "m/d/yyyy"  # its format kept
    assert ws["I4"].value == "Item based" and ws["I4"].number_format == "@"
    assert ws.freeze_panes == "D2"
    assert ws.auto_filter.ref == "A1:I7"
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == ["I2:I7"]
    assert ws.column_dimensions["A"].hidden and ws.column_dimensions["E"].width == 31


def test_it_writes_cells_in_column_order_and_the_engine_reads_them(tmp_path, book):
    out = tmp_path / "filled.xlsx"
    fill_xlsx(book, out, list(reversed(TARGETS)), [list(reversed(v)) for v in _values(6)])
    with zipfile.ZipFile(out) as zf:
        xml = zf.read(open_sheet(out).sheet_part).decode()
    for row in re.findall(r"<row [^>]*>(.*?)</row>", xml):
        cols = [c for c in re.findall(r'<c r="([A-Z]+)\d+"', row)]
        assert cols == sorted(cols, key=lambda c: (len(c), c))
    source = open_source(out)
    rows = [r for b in source.batches() for r in b.rows]
    assert rows[0][6:9][0] == "USMF" and rows[0][8] == "Item based"
    assert rows[1][3] == "ORD-0001"  # untouched cells read as before


def test_it_keeps_none_and_clears_empty_values(tmp_path, book):
    out = tmp_path / "filled.xlsx"
    values = [[None, None, None], ["", None, None], [None, None, ""], None, ["X", None, ""], *_values(1)]
    result = fill_xlsx(book, out, TARGETS, values)
    ws = openpyxl.load_workbook(out)["All Orders"]
    assert ws["G2"].value is None and ws["G3"].value is None  # "OLD" cleared by ''
    assert ws["I4"].number_format == "@"  # cleared but still styled
    assert ws["G5"].value is None and ws["G6"].value == "X"
    assert result.cells_cleared == 2


def test_it_keeps_awkward_text_exactly(tmp_path, book):
    out = tmp_path / "filled.xlsx"
    texts = ["  lead", "trail ", "two\r\nlines", "a & <b> \"c\" 'd'", "_x0041_ literal", "tab\there\x07"]
    fill_xlsx(book, out, TARGETS, [[t, None, None] for t in texts])
    rows = [r for b in open_source(out).batches() for r in b.rows]  # calamine reads as Excel does
    assert [r[6] for r in rows] == texts
    fill_xlsx(book, out, TARGETS, [["=SUM(A1)", None, None]])
    cell = openpyxl.load_workbook(out)["All Orders"]["G2"]
    assert cell.value == "=SUM(A1)" and cell.data_type == "s"  # text, never a formula


@pytest.mark.parametrize("style", [b"5", b"05"])
def test_an_iso_date_in_a_date_styled_cell_becomes_a_date_however_its_style_is_written(style):
    """The cached text shortcut and the full renderer agree: a style index with a leading zero
    (a hand-edited sheet) is still date style 5."""
    writer = CellWriter(b"", {5}, False)
    for _ in range(2):  # made, then from the cache
        assert writer.cell(b"B2", style, "2024-01-02") == b'<c r="B2" s="' + style + b'"><v>45293</v></c>'


def test_it_takes_per_batch_columns(tmp_path, book):
    import pyarrow as pa

    out = tmp_path / "filled.xlsx"
    batches = [[pa.array(["A", None, "C"]), pa.array([None] * 3, pa.string()), ["x", "y", "z"]],
               [pa.array(["D"] * 3), pa.array([None] * 3, pa.string()), ["u", "v", "w"]]]  # fmt: skip
    fill_xlsx(book, out, TARGETS, rows_from_batches(batches))
    ws = openpyxl.load_workbook(out)["All Orders"]
    assert [ws.cell(r, 7).value for r in range(2, 8)] == ["A", "OLD", "C", "D", "D", "D"]
    assert [ws.cell(r, 9).value for r in range(2, 8)] == ["x", "y", "z", "u", "v", "w"]


def test_it_refuses_a_reexport_without_the_target_columns(tmp_path, book):
    out = book.parent / "filled.xlsx"
    with pytest.raises(EngineError, match=r"no column 'Sales Order Number'.*add it to the view"):
        fill_xlsx(book, out, ["Company", ("Sales Order Number", "msdyn_salesordernumber")], _values(6))
    assert not out.exists()
    assert list(book.parent.iterdir()) == [book]  # no temp file left either


def test_it_refuses_more_values_than_rows_and_writes_nothing(tmp_path, book):
    out = book.parent / "filled.xlsx"
    with pytest.raises(EngineError, match="values for 2 more rows than the sheet holds"):
        fill_xlsx(book, out, TARGETS, _values(8))
    assert list(book.parent.iterdir()) == [book]


def test_it_matches_logical_names_and_case(tmp_path, book):
    out = tmp_path / "filled.xlsx"
    fill_xlsx(book, out, [("msdyn_company", "  company "), "ORDER TYPE"], [["USMF", "Item based"]] * 6)
    ws = openpyxl.load_workbook(out)["All Orders"]
    assert ws["G7"].value == "USMF" and ws["I7"].value == "Item based"


def test_it_fills_the_sales_reexport_sample_in_place(tmp_path):
    sample = Path(__file__).resolve().parents[1] / "samples" / "reexport" / "order.xlsx"
    out = tmp_path / "order.xlsx"
    targets = ["Company", "Language", "Order Type"]
    result = fill_xlsx(sample, out, targets, [["USMF", "en-us", "Item based"]] * 285)
    assert result.rows == 285 and result.cells_written == 855
    old, new = _cells(sample), _cells(out)
    assert old["hiddenSheet"] == new["hiddenSheet"]
    changed = {k for k in new["All Orders"] if old["All Orders"].get(k) != new["All Orders"][k]}
    assert {re.sub(r"\d", "", k) for k in changed} == {"O", "S", "T"}


_ODD_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
    b'<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c>'
    b'<x:c r="C1" t="s"><x:v>2</x:v></x:c><x:c r="D1" t="s"><x:v>3</x:v></x:c></x:row>'
    b'<x:row r="2"><x:c r="A2" t="s"><x:v>4</x:v></x:c><x:c s="0" r="C2"><x:v>12.5</x:v></x:c></x:row>'
    b'<x:row r="3"><x:c t="s"><x:v>5</x:v></x:c><x:c><x:v>3</x:v></x:c><x:c><x:v>8</x:v></x:c></x:row>'
    b'<x:row r="4"><x:c r="A4" t="s"><x:v>6</x:v></x:c><x:c r="B4"><x:v>9</x:v></x:c>'
    b'<x:c r="D4"><x:v>4</x:v></x:c></x:row>'
    b'<x:row r="5"><x:c r="A5" t="s"><x:v>7</x:v></x:c><x:c r="C5"><x:v>1</x:v></x:c></x:row>'
    b'<x:row r="6"><x:c r="A6" t="s"><x:v>7</x:v></x:c><x:c r="B6"><x:v>2</x:v></x:c><x:c><x:v>5</x:v></x:c>'
    b"</x:row>"
    b"</x:sheetData></x:worksheet>"
)


def _odd_workbook(path: Path, sheet: bytes = _ODD_SHEET) -> Path:
    """Cells as other writers than Excel write them: a namespace prefix, cells without their
    reference, a cell whose style comes before its reference; shared strings."""
    strings = ["(Do Not Modify) Order", "Name", "Amount", "Kind", "g-2", "g-3", "g-4", "g-5"]
    sst = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + "".join(f"<si><t>{s}</t></si>" for s in strings)
        + "</sst>"
    )
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override '
        'PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {ns} xmlns:r="{rel}"><sheets><sheet name="Data" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/sharedStrings.xml": sst,
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def test_it_fills_cells_written_without_their_reference_in_a_sheet_without_a_prefix(tmp_path):
    """The same odd cells in the default namespace, as most writers but Excel's own use it."""
    sheet = _ODD_SHEET.replace(b"<x:", b"<").replace(b"</x:", b"</").replace(b"xmlns:x=", b"xmlns=")
    src = _odd_workbook(tmp_path / "odd.xlsx", sheet)
    out = tmp_path / "out.xlsx"
    fill_xlsx(
        src, out, ["Name", "Kind"], [("n2", "k2"), ("n3", "k3"), ("n4", "k4"), (None, "k5"), ("n6", "k6")]
    )
    got = [[cell for cell in row] for b in open_source(out).batches() for row in b.rows]
    assert got == [
        ["g-2", "n2", 12.5, "k2"],  # C2's style came before its reference
        ["g-3", "n3", 8.0, "k3"],
        ["g-4", "n4", "", "k4"],
        ["g-5", "", 1.0, "k5"],
        ["g-5", "n6", 5.0, "k6"],
    ]
    xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml")
    for row in re.findall(rb"<row [^>]*>(.*?)</row>", xml):
        columns = [col for col, *_ in cell_spans(row, b"</c>")]
        assert columns == sorted(set(columns))  # each cell once, in order: else Excel repairs the file
    assert (
        b'<row r="3"><c t="s"><v>5</v></c><c r="B3" t="inlineStr"><is><t>n3</t></is></c><c><v>8</v></c>'
        b'<c r="D3" t="inlineStr"><is><t>k3</t></is></c></row>'
    ) in xml


def test_it_fills_cells_written_without_their_reference_or_with_a_prefix(tmp_path):
    src = _odd_workbook(tmp_path / "odd.xlsx")
    out = tmp_path / "out.xlsx"
    fill_xlsx(
        src, out, ["Name", "Kind"], [("n2", "k2"), ("n3", "k3"), ("n4", "k4"), (None, "k5"), ("n6", "k6")]
    )
    got = [[cell for cell in row] for b in open_source(out).batches() for row in b.rows]
    assert got == [
        ["g-2", "n2", 12.5, "k2"],
        ["g-3", "n3", 8.0, "k3"],  # B3 and C3 had no reference: B3 replaced, D3 added after C3
        ["g-4", "n4", "", "k4"],
        ["g-5", "", 1.0, "k5"],
        ["g-5", "n6", 5.0, "k6"],  # C6, after a target, had no reference
    ]
