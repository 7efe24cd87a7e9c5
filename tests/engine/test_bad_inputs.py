"""Bad files are refused with one line, quickly, and leave nothing at the output path."""

from pathlib import Path

import pytest

from migration.engine import EngineError, check_workbook_parts, inspect_file, transform_file
from migration.engine.files.xlsx_sheet import open_sheet

from .helpers import (
    HOSTILE_DTDS,
    ORDER_HEADERS,
    minimal_workbook,
    order_rows,
    settings,
    with_dtd,
    write_csv,
    write_xlsx,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _refuse(tmp_path, src, fragment, table="order"):
    out = tmp_path / "out" / "result.csv"
    out.parent.mkdir(exist_ok=True)
    with pytest.raises(EngineError) as e:
        transform_file(table, src, out, settings())
    message = str(e.value)
    assert fragment in message
    assert "\n" not in message
    assert list(out.parent.iterdir()) == []  # no output, no temp file
    return message


def test_it_refuses_an_empty_file(tmp_path):
    src = tmp_path / "order.csv"
    src.write_bytes(b"")
    _refuse(tmp_path, src, "empty")


def test_it_refuses_a_binary_file(tmp_path):
    src = tmp_path / "order.csv"
    src.write_bytes(bytes(range(256)) * 50)
    _refuse(tmp_path, src, "binary")


def test_it_refuses_text_named_xlsx(tmp_path):
    src = tmp_path / "order.xlsx"
    src.write_text("Order ID,Customer\r\nORD-1,Contoso\r\n")
    _refuse(tmp_path, src, "not an Excel workbook")


def test_it_refuses_a_truncated_workbook(tmp_path):
    whole = write_xlsx(tmp_path / "whole.xlsx", ORDER_HEADERS, order_rows(200))
    src = tmp_path / "order.xlsx"
    src.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    _refuse(tmp_path, src, "truncated")


def test_it_refuses_a_decompression_bomb(tmp_path):
    src = minimal_workbook(tmp_path / "order.xlsx", b"<worksheet><sheetData>", sheet_size_hint=160)
    assert src.stat().st_size < 2 << 20
    _refuse(tmp_path, src, "decompression bomb")


def test_it_refuses_more_rows_than_excel_allows(tmp_path):
    sheet = b'<worksheet><dimension ref="A1:B2000000"/><sheetData></sheetData></worksheet>'
    src = minimal_workbook(tmp_path / "order.xlsx", sheet)
    _refuse(tmp_path, src, "more than Excel")


def test_it_refuses_a_missing_file(tmp_path):
    _refuse(tmp_path, tmp_path / "nope.csv", "does not exist")


def test_it_refuses_an_unknown_table(tmp_path):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(1))
    _refuse(tmp_path, src, "unknown table", table="orders")


def test_it_names_the_missing_column_its_names_and_the_headers_found(tmp_path):
    headers = [h for h in ORDER_HEADERS if h != "Customer"]
    rows = [r[:5] + r[6:] for r in order_rows(1)]
    src = write_csv(tmp_path / "order.csv", headers, rows)
    message = _refuse(tmp_path, src, "'Customer'")
    assert "'customerid'" in message and "'Order ID'" in message


def test_it_refuses_a_ragged_csv(tmp_path):
    src = tmp_path / "order.csv"
    src.write_bytes(b"Order ID,Customer\r\nORD-1,Contoso\r\nORD-2,Contoso,extra\r\n")
    _refuse(tmp_path, src, "fields")


def test_it_refuses_an_output_of_another_format(tmp_path):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(1))
    with pytest.raises(EngineError, match=r"\.csv or \.xlsx"):
        transform_file("order", src, tmp_path / "out.txt", settings())


def test_it_leaves_an_existing_output_untouched_on_failure(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("previous result")
    rows = order_rows(2)
    rows[0][6], rows[1][6] = "27/01/2020", "01/27/2020"  # auto cannot decide: fatal
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    with pytest.raises(EngineError):
        transform_file("order", src, out, settings())
    assert out.read_text() == "previous result"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_it_refuses_to_cut_text_longer_than_an_excel_cell(tmp_path):
    rows = order_rows(1)
    rows[0][4] = "x" * 40000
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    out = tmp_path / "out.xlsx"
    with pytest.raises(EngineError, match=r"write a \.csv output"):
        transform_file("order", src, out, settings())
    assert not out.exists()


def test_it_refuses_a_workbook_too_big_for_memory(tmp_path, monkeypatch):
    from migration.engine.files import reading

    monkeypatch.setattr(reading, "MAX_UNZIPPED_BYTES", 1 << 20)
    src = minimal_workbook(tmp_path / "order.xlsx", b"<worksheet><sheetData>", sheet_size_hint=2)
    _refuse(tmp_path, src, "save it as CSV")


def test_it_names_a_missing_customer_list_or_step2_export(tmp_path):
    src = write_csv(tmp_path / "account.csv", ["Account Number"], [["ACC-1"]])
    with pytest.raises(EngineError, match="customer list"):
        transform_file(
            "account", src, tmp_path / "o.csv", settings(party_numbers_path=str(tmp_path / "no.csv"))
        )
    with pytest.raises(EngineError, match="step-2 export"):
        transform_file("account", src, tmp_path / "o.csv", settings(), merge_source_path=tmp_path / "no.csv")


def test_it_refuses_an_output_path_that_is_a_folder(tmp_path):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(1))
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(EngineError, match="is a folder"):
        transform_file("order", src, tmp_path / "out.csv", settings())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


# --- hostile headers: refused from a bounded prefix, in small memory ---------------


def _wide_csv(path, columns: int, header_chars: int = 6):
    header = ",".join(f"c{i:0{header_chars - 1}d}" for i in range(columns))
    path.write_bytes((header + "\r\n" + "," * (columns - 1) + "\r\n").encode())
    return path


def test_it_refuses_more_columns_than_excel_allows(tmp_path):
    _refuse(
        tmp_path, _wide_csv(tmp_path / "wide.csv", 16_385), "has 16,385 columns, more than Excel's 16,384"
    )


def test_it_accepts_as_many_columns_as_excel_allows():
    from migration.engine import check_csv_head

    header = ",".join(f"c{i}" for i in range(16_384)).encode()
    check_csv_head(header + b"\r\n", whole=True)


def test_it_refuses_a_header_over_a_thousand_characters(tmp_path):
    src = write_csv(tmp_path / "order.csv", [*ORDER_HEADERS, "x" * 1001], [])
    _refuse(tmp_path, src, "a header is 1,001 characters long")


def test_it_refuses_a_huge_header_line_reading_only_its_first_megabyte(tmp_path):
    import tracemalloc

    from migration.engine import inspect_file

    src = tmp_path / "huge.csv"
    with open(src, "wb") as f:  # 500,000 columns, 8 MB of header line
        for _ in range(500):
            f.write((b"a" * 15 + b",") * 1000)
        f.write(b"\r\n")
    tracemalloc.start()
    try:
        with pytest.raises(EngineError, match="header row is longer than 1 MB"):
            inspect_file(src)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 << 20  # the file's header is never parsed whole


def test_it_refuses_a_workbook_declaring_columns_past_xfd(tmp_path):
    src = tmp_path / "wide.xlsx"
    minimal_workbook(
        src,
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:XFE2"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c>'
        b"</row></sheetData></worksheet>",
    )
    _refuse(tmp_path, src, "past Excel's last column XFD")


def test_it_caps_the_preview_in_columns_and_characters(tmp_path):
    from migration.engine import inspect_file
    from migration.engine.step2.inspect import PREVIEW_CHARS, PREVIEW_COLUMNS

    headers = [f"Column {i}" for i in range(PREVIEW_COLUMNS + 20)]
    src = write_csv(tmp_path / "wide.csv", headers, [["y" * 5000] * len(headers)] * 3)
    result = inspect_file(src)
    assert len(result.preview_headers) == PREVIEW_COLUMNS and result.columns_not_previewed == 20
    assert {len(row) for row in result.preview} == {PREVIEW_COLUMNS}
    assert {len(cell) for row in result.preview for cell in row} == {PREVIEW_CHARS}
    assert len(result.headers) == PREVIEW_COLUMNS + 20  # the column matching still sees them all


DTD_MESSAGE = "this workbook contains a DTD, which Excel never writes: export it again"
ACCOUNT_XLSX = SAMPLES / "sales-excel" / "account.xlsx"
PARTS = ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml", "[Content_Types].xml"]


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("dtd", HOSTILE_DTDS)
def test_it_refuses_a_workbook_with_a_dtd_in_any_part(tmp_path, part, dtd):
    src = with_dtd(ACCOUNT_XLSX, tmp_path / "account.xlsx", part, HOSTILE_DTDS[dtd])
    with pytest.raises(EngineError, match=DTD_MESSAGE):
        inspect_file(src, table="account", settings=settings())
    _refuse(tmp_path, src, DTD_MESSAGE, table="account")


def test_it_refuses_a_reexport_with_a_dtd_before_filling_it(tmp_path):
    src = with_dtd(SAMPLES / "reexport" / "order.xlsx", tmp_path / "order.xlsx")
    with pytest.raises(EngineError, match=DTD_MESSAGE):
        open_sheet(src)


def test_it_reads_the_workbook_it_refuses_once_the_dtd_is_gone(tmp_path):
    """The sample itself passes: the refusal is the DTD's, not the copy's."""
    check_workbook_parts(ACCOUNT_XLSX)
    assert inspect_file(ACCOUNT_XLSX, table="account", settings=settings()).rows > 0
