"""Reading every CSV/xlsx flavour the contract lists, and writing the output exactly."""

import datetime as dt
import zipfile

import pytest

from migration.engine import EngineError

from .helpers import ORDER_HEADERS, column, guid, order_rows, read_csv, read_xlsx, run, write_csv, write_xlsx


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_it_reads_each_encoding_and_delimiter(tmp_path, encoding, delimiter):
    rows = order_rows(2)
    rows[0][5] = "Müller & Söhne; Café"
    rows[1][4] = 'two\r\nlines, "quoted"'
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows, encoding=encoding, delimiter=delimiter)
    report, out = run(tmp_path, "order", src)
    result = read_csv(out)
    assert [r[: len(ORDER_HEADERS)] for r in result] == [ORDER_HEADERS, *rows]
    assert column(result, "Invoice Customer") == ["Müller & Söhne; Café", "Contoso Ltd"]
    assert report.rows_in == 2


def test_it_reads_utf16_without_a_bom(tmp_path):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(40), encoding="utf-16-le")
    report, _ = run(tmp_path, "order", src)
    assert report.rows_in == 40


def test_it_matches_headers_by_logical_name_case_and_spaces(tmp_path):
    headers = ["salesorderid", "  ORDERNUMBER ", "CustomerId", "requestdeliveryby"]
    src = write_csv(tmp_path / "o.csv", headers, [[guid(1), "ORD-1", "Contoso", "3/27/2020"]])
    report, out = run(tmp_path, "order", src)
    rows = read_csv(out)
    assert rows[0][:4] == headers  # input headers are never renamed
    assert column(rows, "Sales Order Number") == ["ORD-1"]
    assert report.to_dict()["issues"] == []


def test_it_keeps_unknown_columns_and_cells_byte_for_byte(tmp_path):
    headers = [*ORDER_HEADERS, "Total Amount", "Odd"]
    rows = [[*r, "0012.50", " padded  "] for r in order_rows(2)]
    src = write_csv(tmp_path / "order.csv", headers, rows)
    _, out = run(tmp_path, "order", src)
    assert [r[: len(headers)] for r in read_csv(out)] == [headers, *rows]


def test_it_writes_csv_with_bom_comma_crlf_and_rfc4180_quoting(tmp_path):
    headers = ["(Do Not Modify) Order Product", "Existing Product", "Note"]
    rows = [[guid(1), 'Laptop 15"', "a,b"], [guid(2), "Desk", "line1\nline2"]]
    src = write_csv(tmp_path / "l.csv", headers, rows, delimiter=";")
    _, out = run(tmp_path, "order_products", src)
    expected = (
        '\ufeff"(Do Not Modify) Order Product","Existing Product","Note","Company"\r\n'
        f'"{guid(1)}","Laptop 15""","a,b","USMF"\r\n'
        f'"{guid(2)}","Desk","line1\nline2","USMF"\r\n'
    )
    assert out.read_bytes() == expected.encode()


def test_it_keeps_hidden_columns_hidden_and_dates_as_dates_in_xlsx(tmp_path):
    rows = [
        [
            guid(1),
            "ck==",
            dt.datetime(2021, 1, 3, 6, 30),
            "ORD-1",
            "=1+1",
            "Contoso",
            dt.date(2020, 3, 27),
            None,
            None,
            "Germany",
        ]
    ]
    src = write_xlsx(tmp_path / "order.xlsx", ORDER_HEADERS, rows)
    report, out = run(tmp_path, "order", src, out_name="out.xlsx")
    result = read_xlsx(out)
    assert result[1][:7] == [
        guid(1),
        "ck==",
        dt.datetime(2021, 1, 3, 6, 30),
        "ORD-1",
        "=1+1",
        "Contoso",
        dt.datetime(2020, 3, 27),
    ]
    assert column(result, "Requested Receipt Date") == ["2020-03-27T00:00:00Z"]
    sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # never a formula
    assert 'hidden="1"' in sheet
    import openpyxl

    ws = openpyxl.load_workbook(out).active
    assert ws.column_dimensions["A"].hidden and ws.column_dimensions["A"].max == 3
    assert not ws.column_dimensions["D"].hidden
    assert ("formula_like_text" in report.issues.counts) and report.rows_out == 1


def test_it_writes_xlsx_cells_from_csv_as_text(tmp_path):
    rows = order_rows(1)
    rows[0][4] = "00123"
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    _, out = run(tmp_path, "order", src, out_name="out.xlsx")
    result = read_xlsx(out)
    assert result[1][4] == "00123" and result[1][2] == "1/3/2021 6:30 AM"


def test_it_writes_xlsx_input_to_csv(tmp_path):
    rows = [
        [
            guid(1),
            "ck==",
            dt.datetime(2021, 1, 3, 6, 30),
            "ORD-1",
            "N",
            "C",
            dt.date(2020, 3, 27),
            None,
            None,
            12.5,
        ]
    ]
    src = write_xlsx(tmp_path / "order.xlsx", ORDER_HEADERS, rows)
    _, out = run(tmp_path, "order", src)
    result = read_csv(out)
    assert result[1][:10] == [
        guid(1),
        "ck==",
        "2021-01-03 06:30:00",
        "ORD-1",
        "N",
        "C",
        "2020-03-27",
        "",
        "",
        "12.5",
    ]


def test_it_fills_target_columns_of_a_re_export_in_place(tmp_path):
    headers = [
        "(Do Not Modify) Account",
        "Account Number",
        "Company",
        "Party Number",
        "Relationship Type",
        "Customer Group Id",
    ]
    src = write_csv(tmp_path / "a.csv", headers, [[guid(1), "ACC-1", "", "OLD", "Prospect", ""]])
    report, out = run(tmp_path, "account", src)
    rows = read_csv(out)
    assert rows == [headers, [guid(1), "ACC-1", "USMF", "ACC-1", "Customer", "10"]]
    assert report.columns_added == []
    assert report.overwritten == {
        "Company": 0,
        "Party Number": 1,
        "Relationship Type": 1,
        "Customer Group Id": 0,
    }


def test_it_reports_progress_per_batch(tmp_path):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(5))
    seen = []
    from migration.engine import transform_file

    from .helpers import settings

    transform_file(
        "order", src, tmp_path / "o.csv", settings(), progress=lambda done, total: seen.append(done)
    )
    assert seen[-1] == 5


def test_it_reads_the_samples_of_every_transformed_table(tmp_path):
    from pathlib import Path

    samples = Path(__file__).resolve().parents[1] / "samples" / "sales-excel"
    for table in ("account", "contact", "order", "order_products", "quote", "quote_products"):
        for ext in ("csv", "xlsx"):
            report, _ = run(tmp_path, table, samples / f"{table}.{ext}", out_name=f"{table}-{ext}.{ext}")
            assert report.rows_in == report.rows_out > 0


def test_it_refuses_a_header_only_with_one_column_gracefully(tmp_path):
    src = tmp_path / "order.csv"
    src.write_text("Name\r\n")
    with pytest.raises(EngineError, match="Order ID"):
        run(tmp_path, "order", src)


def test_it_honours_an_excel_sep_line(tmp_path):
    src = tmp_path / "order.csv"
    body = write_csv(tmp_path / "body.csv", ORDER_HEADERS, order_rows(2), encoding="utf-8", delimiter="|")
    src.write_bytes(b"sep=|\r\n" + body.read_bytes())
    report, out = run(tmp_path, "order", src)
    assert read_csv(out)[0][: len(ORDER_HEADERS)] == ORDER_HEADERS and report.rows_in == 2


def test_it_hides_do_not_modify_columns_when_a_csv_becomes_xlsx(tmp_path):
    import openpyxl

    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(1))
    _, out = run(tmp_path, "order", src, out_name="out.xlsx")
    ws = openpyxl.load_workbook(out).active
    assert ws.column_dimensions["A"].hidden and ws.column_dimensions["A"].max == 3
    assert not ws.column_dimensions["D"].hidden


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_it_writes_what_is_wrong_in_the_issues_file_and_ignores_it_when_the_file_comes_back(tmp_path, suffix):
    from migration.engine import write_rows
    from migration.engine.files.reading import ISSUES_COLUMN, open_source
    from migration.engine.rules.layout import column_difference

    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(5))
    issues = tmp_path / f"issues{suffix}"
    write_rows(source, issues, [2, 4], as_text=True, notes={2: "Error, Order ID: too long", 4: "Warning"})
    back = read_xlsx(issues) if suffix == ".xlsx" else read_csv(issues)
    assert back[0] == [*ORDER_HEADERS, ISSUES_COLUMN]
    assert [row[-1] for row in back[1:]] == ["Error, Order ID: too long", "Warning"]

    reread = open_source(issues)  # a consultant fixed the rows and uploads the file again
    assert reread.headers == list(ORDER_HEADERS)
    cells = [row for batch in reread.batches() for row in _rows_of(batch, len(reread.headers))]
    assert [len(row) for row in cells] == [len(ORDER_HEADERS)] * 2
    assert column_difference(ORDER_HEADERS, reread.headers) == ""


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_it_writes_an_issues_file_of_headers_only_when_no_row_has_an_issue(tmp_path, suffix):
    from migration.engine import write_rows
    from migration.engine.files.reading import ISSUES_COLUMN

    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(5))
    issues = tmp_path / f"issues{suffix}"
    assert write_rows(source, issues, [], as_text=True, notes={}) == 0
    back = read_xlsx(issues) if suffix == ".xlsx" else read_csv(issues)
    assert back == [[*ORDER_HEADERS, ISSUES_COLUMN]]


def test_it_copies_wanted_rows_across_batches_and_ignores_rows_the_file_does_not_have(tmp_path, monkeypatch):
    from migration.engine import write_rows
    from migration.engine.files import reading

    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 1 << 10)  # many small batches
    rows = order_rows(40)
    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    out = tmp_path / "picked.csv"
    assert write_rows(source, out, [0, 1, 17, 17, 18, 40, 41, 99]) == 4
    assert [row[0] for row in read_csv(out)[1:]] == [rows[n - 1][0] for n in (1, 17, 18, 40)]


def _rows_of(batch, width):
    if batch.arrow is not None:
        return [[batch.arrow.column(i)[r].as_py() for i in range(width)] for r in range(batch.num_rows)]
    return batch.rows


def test_it_writes_the_issues_file_in_text_cells_only(tmp_path):
    """Formula-like text stays text: an inline string, never a formula, whatever the batch writer."""
    from migration.engine import write_rows

    rows = order_rows(3)
    rows[1][4] = '=HYPERLINK("http://evil.example","Click")'
    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    issues = tmp_path / "issues.xlsx"
    write_rows(source, issues, [2, 3], as_text=True, notes={2: "Warning, Name: formula-like", 3: ""})
    sheet = zipfile.ZipFile(issues).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="inlineStr"' in sheet
    back = read_xlsx(issues)
    assert back[1][4] == '=HYPERLINK("http://evil.example","Click")' and back[1][2] == "1/3/2021 6:30 AM"
    assert [row[0] for row in back[1:]] == [rows[1][0], rows[2][0]] and back[2][-1] is None


def test_it_refuses_a_cell_longer_than_excel_takes_in_the_issues_file(tmp_path):
    from migration.engine import EngineError, write_rows

    rows = order_rows(1)
    rows[0][4] = "x" * 32768
    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    with pytest.raises(EngineError, match="32,767"):
        write_rows(source, tmp_path / "issues.xlsx", [1], as_text=True, notes={1: "Warning"})
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "issues.xlsx").exists()


def test_it_keeps_row_notes_sorted_with_a_row_s_several_notes_joined_in_order():
    from migration.engine import RowNotes

    notes = RowNotes.from_chunks([([5, 2, 5], ["a", "b", "c"]), ([], []), ([2, 9], ["d", "e"])])
    assert notes.rows.tolist() == [2, 5, 9] and notes.notes.to_pylist() == ["b; d", "a; c", "e"]
    assert len(RowNotes.from_chunks([])) == 0
    assert RowNotes.from_mapping({3: "x", 1: "y"}).notes.to_pylist() == ["y", "x"]


def test_it_writes_each_row_s_note_from_chunks_of_different_notes_across_batches(tmp_path, monkeypatch):
    from migration.engine import RowNotes, write_rows
    from migration.engine.files import reading

    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 1 << 10)  # many small batches
    rows = order_rows(30)
    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    # In row order, chunk by chunk (as the issues come): each chunk's notes encoded on their own.
    notes = RowNotes.from_chunks([([1, 2, 3], ["a", "b", "a"]), ([20, 30], ["c", "b"]), ([], [])])
    out = tmp_path / "issues.csv"
    assert write_rows(source, out, notes.rows, notes=notes) == 5
    back = read_csv(out)[1:]
    assert [(r[0], r[-1]) for r in back] == [
        (rows[0][0], "a"), (rows[1][0], "b"), (rows[2][0], "a"), (rows[19][0], "c"), (rows[29][0], "b"),
    ]  # fmt: skip
