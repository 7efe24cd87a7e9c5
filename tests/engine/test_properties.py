"""Property: every input row and every untouched cell comes out unchanged, in every format pair."""

import datetime as dt
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration.engine import TransformSettings, transform_file
from migration.engine.files.reading import cell_text

from .helpers import read_csv, write_csv, write_xlsx

HEADERS = ["(Do Not Modify) Order Product", "Existing Product", "Quantity", "Note"]
CSV_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff")
    | st.sampled_from('\n\r\t",;=+-@ '),
    max_size=30,
)
XLSX_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " \"',;=+-@äöü中文\n", max_size=30)
XLSX_CELL = st.one_of(
    XLSX_TEXT,
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda f: round(f, 4)),
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 1, 1)),
)
SETTINGS = TransformSettings(company="USMF")
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _rows(cell):
    """Rows as exports have them: the first cell (the record GUID) is never empty."""
    guid = st.uuids().map(str)
    row = st.tuples(guid, *[cell] * (len(HEADERS) - 1)).map(list)
    return st.lists(row, min_size=1, max_size=12)


def read_xlsx(path: Path) -> list[list]:
    """Read back with calamine, which decodes OOXML escapes such as _x000D_ as Excel does."""
    from python_calamine import CalamineWorkbook

    return [list(r) for r in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()]


def _same_cell(a, b):
    if isinstance(a, dt.date):
        return b in (a, dt.datetime(a.year, a.month, a.day))
    if isinstance(a, float):
        return b == a or (a == 0 and b is None)
    return (a or None) == (b or None)


def _transform(tmp: Path, src: Path, out_name: str) -> Path:
    out = tmp / out_name
    transform_file("order_products", src, out, SETTINGS)
    return out


@FAST
@given(rows=_rows(CSV_TEXT))
def test_it_keeps_every_row_and_cell_csv_to_csv(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("p")
    src = write_csv(tmp / "in.csv", HEADERS, rows)
    result = read_csv(_transform(tmp, src, "out.csv"))
    assert [r[:-1] for r in result] == [HEADERS, *rows]
    assert {r[-1] for r in result[1:]} == {"USMF"}


@FAST
@given(rows=_rows(CSV_TEXT))
def test_it_keeps_text_as_text_csv_to_xlsx(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("p")
    src = write_csv(tmp / "in.csv", HEADERS, rows)
    result = read_xlsx(_transform(tmp, src, "out.xlsx"))
    assert len(result) == len(rows) + 1
    for got, want in zip(result[1:], rows, strict=True):
        assert [g or "" for g in got[:-1]] == [
            w.replace("\r\n", "\n").replace("\r", "\n") if False else w for w in want
        ]


@FAST
@given(rows=_rows(XLSX_CELL))
def test_it_keeps_every_row_and_cell_xlsx_to_xlsx(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("p")
    src = write_xlsx(tmp / "in.xlsx", HEADERS, rows, hidden=1)
    result = read_xlsx(_transform(tmp, src, "out.xlsx"))
    assert result[0] == [*HEADERS, "Company"]
    assert len(result) == len(rows) + 1
    for got, want in zip(result[1:], rows, strict=True):
        assert all(_same_cell(w, g) for w, g in zip(want, got, strict=False)), (want, got)


@FAST
@given(rows=_rows(XLSX_CELL))
def test_it_keeps_every_row_and_cell_as_text_xlsx_to_csv(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("p")
    src = write_xlsx(tmp / "in.xlsx", HEADERS, rows, hidden=1)
    result = read_csv(_transform(tmp, src, "out.csv"))
    assert len(result) == len(rows) + 1
    for got, want in zip(result[1:], rows, strict=True):
        assert got[:-1] == [cell_text(w) for w in want]


ORDER = [
    "(Do Not Modify) Order",
    "Order ID",
    "Customer",
    "Requested Delivery Date",
    "Ship To Country/Region",
    "Note",
]


@FAST
@given(rows=st.lists(st.tuples(st.uuids().map(str), *[CSV_TEXT] * 5).map(list), min_size=1, max_size=12))
def test_it_leaves_every_input_cell_of_an_order_unchanged(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("p")
    src = write_csv(tmp / "order.csv", ORDER, rows)
    out = tmp / "out.csv"
    report = transform_file("order", src, out, TransformSettings(company="USMF", date_order="mdy"))
    result = read_csv(out)
    assert [r[: len(ORDER)] for r in result] == [ORDER, *rows]
    assert report.rows_in == report.rows_out == len(rows)
    assert column_of(result, "Sales Order Number") == [r[1] for r in rows]


def column_of(rows, name):
    i = rows[0].index(name)
    return [r[i] for r in rows[1:]]


# Any text, with what the XML needs escaped: markup, control characters, Excel's _xHHHH_ escapes.
ANY_TEXT = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)
    | st.sampled_from(["_x0041_", "_x00", "&amp;", "<b>", "\r\n", "\x01", "=1+1", " "]),
    max_size=4,
).map("".join)


@FAST
@given(
    rows=st.lists(st.lists(st.one_of(st.none(), ANY_TEXT), min_size=4, max_size=4), min_size=1, max_size=8)
)
def test_it_writes_text_cells_as_xlsxwriter_does(tmp_path_factory, rows):
    """The issues file's batch writer and xlsxwriter give the same cells, as Excel reads them."""
    from migration.engine.files.writing import XlsxWriter
    from migration.engine.files.xlsx_text import TextXlsxWriter

    tmp = tmp_path_factory.mktemp("p")
    read = []
    for cls in (XlsxWriter, TextXlsxWriter):
        writer = cls(str(tmp / f"{cls.__name__}.xlsx"), HEADERS, {0}, "Issues")
        writer.write_rows(rows, len(HEADERS))
        writer.commit()
        read.append(read_xlsx(tmp / f"{cls.__name__}.xlsx"))
    assert read[1] == read[0]
