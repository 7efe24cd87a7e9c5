"""An xlsx whose every cell is text, written a batch at a time by pyarrow's kernels.

The issues file holds a million rows when every row of a big export has an issue; xlsxwriter
writes ~7,000 such rows a second (a Python call and a regex per cell), minutes for the file.
Here each batch's sheet XML is built column-wise in C: XML escapes, the cell's reference and
its inline string joined element-wise, then the rows joined. Cells are inline strings
(`t="inlineStr"`), the same XML xlsxwriter's constant-memory mode writes: Excel shows a cell
holding `=HYPERLINK(...)` as that text and never runs it. Control characters and text that
looks like Excel's `_xHHHH_` escape are escaped as xlsxwriter does (the rare values that need
it go through Python). The package is written with fixed dates: the same rows give the same bytes.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from xml.sax.saxutils import quoteattr

import pyarrow as pa
import pyarrow.compute as pc

from .errors import EngineError
from .writing import XLSX_MAX_CHARS, AtomicFile, column_bytes, sha256_of

_FIXED_DATE = (2000, 1, 1, 0, 0, 0)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# xlsxwriter's escapes (xmlwriter._escape_control_characters): what XML cannot hold, and text
# that Excel would read as one of its escapes.
_NEEDS_PYTHON = r"[\x00-\x08\x0b-\x1f\x{FFFE}\x{FFFF}]|_x[0-9a-fA-F]{4}_"
_ESCAPE_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")


def _parts(sheet_name: str) -> dict[str, str]:
    """The package's parts other than the sheet: the least a workbook needs, and one cell style."""
    return {
        "[Content_Types].xml": _HEAD
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>",
        "_rels/.rels": _HEAD + f'<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}">'
        f'<bookViews><workbookView/></bookViews><sheets><sheet name={quoteattr(sheet_name)} sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": _HEAD + f'<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": _HEAD + f'<styleSheet xmlns="{_MAIN}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>",
    }


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _python_escape(value: str) -> str:
    value = _ESCAPE_ESCAPE.sub(r"_x005F\1", value)
    value = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", value)
    return value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def _escaped(column: pa.Array) -> pa.Array:
    """The column's text as an inline string's XML content (nulls as empty)."""
    text = pc.fill_null(column.cast(pa.string()), "")
    odd = pc.match_substring_regex(text, _NEEDS_PYTHON)
    if pc.any(odd).as_py():
        mask = odd.to_numpy(zero_copy_only=False)
        fixed = [_python_escape(v) for v in pc.filter(text, odd).to_pylist()]
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(fixed, pa.string()))
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, char, entity)
    return text


class TextXlsxWriter:
    """An xlsx of text cells, streamed: each batch is rendered and compressed, then dropped."""

    format = "xlsx"

    def __init__(self, path: str, headers: list[str], hidden: set[int], sheet_name: str = "Sheet1") -> None:

        self.file = AtomicFile(path)
        self.row = 0
        try:
            self.zip = zipfile.ZipFile(self.file.tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
            for name, text in _parts(sheet_name[:31] or "Sheet1").items():
                self.zip.writestr(self._info(name), text)
            sheet = self._info("xl/worksheets/sheet1.xml")
            # The fastest deflate: a million rows' XML is a gigabyte, level 6 takes most of the
            # file's time for a file a fifth smaller.
            sheet._compresslevel = 1
            self.sheet = self.zip.open(sheet, "w", force_zip64=True)
            cols = "".join(
                f'<col min="{i + 1}" max="{i + 1}" width="13" hidden="1" customWidth="1"/>'
                for i in sorted(hidden)
            )
            self.sheet.write(
                (
                    _HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheetViews><sheetView '
                    'workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
                    + (f"<cols>{cols}</cols>" if cols else "")
                    + "<sheetData>"
                ).encode()
            )
            self.write_rows([headers], len(headers))
        except BaseException:
            self.abort()
            raise

    @staticmethod
    def _info(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def write_rows(self, rows: list[list], width: int) -> None:
        """Rows of text (None or "" for an empty cell), at most `width` cells each."""
        if rows:
            columns = [[row[c] if c < len(row) else None for row in rows] for c in range(width)]
            self.write_columns([pa.array(column, pa.string()) for column in columns])

    def write_columns(self, columns: list[pa.Array]) -> None:
        n = len(columns[0]) if columns else 0
        if not n:
            return
        numbers = pc.cast(pa.array(range(self.row + 1, self.row + n + 1), pa.int64()), pa.string())
        cells = [self._cells(c, column, numbers) for c, column in enumerate(columns)]
        rows = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
        # The rows' XML lies end to end in the array's data buffer: written without a copy.
        offsets, data = column_bytes(rows)
        self.sheet.write(data[offsets[0] : offsets[-1]])
        self.row += n

    def _cells(self, c: int, column: pa.Array, numbers: pa.Array) -> pa.Array:
        lengths = pc.fill_null(pc.utf8_length(column.cast(pa.string())), 0)
        longest = pc.max(lengths).as_py() or 0
        if longest > XLSX_MAX_CHARS:  # Excel would cut it: never lose data silently
            raise EngineError(
                f"a cell of column {c + 1} holds {longest:,} characters, more than an Excel cell's "
                f"{XLSX_MAX_CHARS:,}: write a .csv output instead"
            )
        text = _escaped(column)
        cell = pc.binary_join_element_wise(
            f'<c r="{column_letters(c)}',
            numbers,
            '" t="inlineStr"><is><t xml:space="preserve">',
            text,
            "</t></is></c>",
            "",
        )
        return pc.if_else(pc.equal(lengths, 0), "", cell)

    def commit(self) -> str:
        self.sheet.write(b"</sheetData></worksheet>")
        self.sheet.close()
        self.zip.close()
        self.file.commit()
        return sha256_of(self.file.path)

    def abort(self) -> None:
        with contextlib.suppress(
            Exception
        ):  # a half-written package may not close; the temp file goes anyway
            self.sheet.close()
        with contextlib.suppress(Exception):
            self.zip.close()
        self.file.abort()
