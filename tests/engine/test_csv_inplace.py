"""CSV fill in place: encoding, BOM, delimiter, line ends and untouched fields' quoting stay."""

from __future__ import annotations

import pytest

from migration.engine import EngineError
from migration.engine.files.csv_inplace import fill_csv
from migration.engine.files.reading import open_source


def _fill(tmp_path, raw: bytes, columns, values, name="in.csv"):
    src = tmp_path / name
    src.write_bytes(raw)
    out = tmp_path / "out.csv"
    result = fill_csv(src, out, columns, values)
    return out.read_bytes(), result


def test_it_keeps_an_excel_utf8_bom_csv_byte_for_byte_apart_from_the_targets(tmp_path):
    raw = (
        "\ufeffOrder ID,Name,Description,Company,Language\r\n"
        'ORD-1,"Müller, Söhne","two\r\nlines ""quoted""",,\r\n'
        'ORD-2,Plain,"quoted for no reason",OLD,"de"\r\n'
    ).encode("utf-8")
    got, result = _fill(tmp_path, raw, ["Company", "language"], [["USMF", "en-us"], ["US, MF", ""]])
    assert got == (
        "\ufeffOrder ID,Name,Description,Company,Language\r\n"
        'ORD-1,"Müller, Söhne","two\r\nlines ""quoted""",USMF,en-us\r\n'
        'ORD-2,Plain,"quoted for no reason","US, MF",\r\n'
    ).encode("utf-8")
    assert result.rows == 2 and result.cells_written == 3 and result.cells_cleared == 1
    assert result.delimiter == "," and "with BOM" in result.encoding


def test_it_keeps_cp1252_semicolons_and_lf_without_bom(tmp_path):
    raw = "Nom;Société;Company\nA;Café;\nB;Crème;\n".encode("cp1252")
    got, _ = _fill(tmp_path, raw, ["Company"], [["FRRT"], ["FRRT"]])
    assert got == "Nom;Société;Company\nA;Café;FRRT\nB;Crème;FRRT\n".encode("cp1252")
    assert not got.startswith(b"\xef\xbb\xbf")


def test_it_keeps_utf16_tabs_a_sep_line_and_a_last_line_without_end(tmp_path):
    text = 'sep=\t\r\nName\tCompany\r\n"Tab\tName"\t\r\nOther\tX'
    raw = b"\xff\xfe" + text.encode("utf-16-le")
    got, result = _fill(tmp_path, raw, ["Company"], [["DEMF"], [None]])
    assert got == b"\xff\xfe" + 'sep=\t\r\nName\tCompany\r\n"Tab\tName"\tDEMF\r\nOther\tX'.encode("utf-16-le")
    assert result.rows == 2


def test_it_skips_empty_lines_as_the_reader_does(tmp_path):
    raw = b"A,Company\r\n1,\r\n\r\n2,\r\n"
    got, _ = _fill(tmp_path, raw, ["Company"], [["X"], ["Y"]])
    assert got == b"A,Company\r\n1,X\r\n\r\n2,Y\r\n"
    src = tmp_path / "check.csv"
    src.write_bytes(got)
    assert [b.text(1).to_pylist() for b in open_source(src).batches()] == [["X", "Y"]]


def test_it_refuses_a_file_without_the_target_column_and_writes_nothing(tmp_path):
    (tmp_path / "in").mkdir()
    with pytest.raises(EngineError, match=r"no column 'Party Number'.*add it to the view"):
        _fill(tmp_path / "in", b"A,B\r\n1,2\r\n", ["Party Number"], [["x"]])
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["in.csv"]


def test_it_refuses_more_values_than_rows(tmp_path):
    (tmp_path / "in").mkdir()
    with pytest.raises(EngineError, match="values for 1 more rows"):
        _fill(tmp_path / "in", b"A,B\r\n1,2\r\n", ["B"], [["x"], ["y"]])
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["in.csv"]


def test_it_refuses_a_value_the_encoding_cannot_hold(tmp_path):
    with pytest.raises(EngineError, match="cannot be written in the file's encoding"):
        _fill(tmp_path, "A;B\nÉ;\n".encode("cp1252"), ["B"], [["株式会社"]])
