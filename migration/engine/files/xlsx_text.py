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
import queue
import re
import threading
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from .reading import sha256_file
from .writing import XLSX_MAX_CHARS, AtomicFile, column_bytes
from .xlsx_sheet import col_letters

_FIXED_DATE = (2000, 1, 1, 0, 0, 0)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# xlsxwriter's escapes (xmlwriter._escape_control_characters): what XML cannot hold, and text
# that Excel would read as one of its escapes.
_CONTROL_OR_NONCHAR = r"[\x00-\x08\x0b-\x1f\x{FFFE}\x{FFFF}]"
# Any value needing more than its text: XML's markup, the above, or spaces to preserve.
_SPECIAL = r"[&<>\x00-\x08\x0b-\x1f\x{FFFE}\x{FFFF}]|_x[0-9a-fA-F]{4}_|^\s|\s$"
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")


def _parts(sheet_name: str) -> dict[str, str]:
    """The package's parts other than the sheet: the least a workbook needs, and one cell style."""
    from xml.sax.saxutils import quoteattr  # here, not at the top: it loads urllib and http (10 ms)

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


def _python_escape(value: str) -> str:
    value = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", value)
    return value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def _escaped(text: pa.Array) -> pa.Array:
    """Text as an inline string's XML content, escaped as xlsxwriter does: Excel's own escapes
    first (`_x0041_` -> `_x005F_x0041_`), then control characters (`\\r` -> `_x000D_`), then markup."""
    text = pc.replace_substring_regex(text, "(_x[0-9a-fA-F]{4}_)", "_x005F\\1")
    text = pc.replace_substring(text, "\r", "_x000D_")  # the one control character common in exports
    odd = pc.match_substring_regex(text, _CONTROL_OR_NONCHAR)
    if pc.any(odd).as_py():
        fixed = [_python_escape(v) for v in pc.filter(text, odd).to_pylist()]
        text = pc.replace_with_mask(text, odd, pa.array(fixed, pa.string()))
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, char, entity)
    return text


class TextXlsxWriter:
    """An xlsx of text cells, streamed: each batch is rendered and compressed on a background
    thread (pyarrow's kernels and zlib release the GIL, so this overlaps reading the next rows),
    then dropped."""

    format = "xlsx"

    def __init__(self, path: str, headers: list[str], hidden: set[int], sheet_name: str = "Sheet1") -> None:
        self.file = AtomicFile(path)
        self.row = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue[tuple[int, list[pa.Array]] | None] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._drain, name="p2c-xlsx-text-writer", daemon=True)
        try:
            self.zip = zipfile.ZipFile(self.file.tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
            for name, text in _parts(sheet_name[:31] or "Sheet1").items():
                self.zip.writestr(self._info(name), text)
            sheet = self._info("xl/worksheets/sheet1.xml")
            # The fastest deflate: a million rows' XML is a gigabyte, level 6 takes most of the
            # file's time for a file a fifth smaller.
            sheet._compresslevel = 1
            self.sheet = self.zip.open(sheet, "w", force_zip64=True)
            self.sheet.write(_sheet_head(hidden).encode())
            self._thread.start()
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
        self._check()
        n = len(columns[0]) if columns else 0
        if n:
            self._queue.put((self.row + 1, columns))
            self.row += n

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._render(*item)
                except BaseException as e:  # re-raised on the caller's thread
                    self._error = e

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def _render(self, first: int, columns: list[pa.Array]) -> None:
        numbers = pc.cast(pa.array(range(first, first + len(columns[0])), pa.int64()), pa.string())
        cells = [_cells(c, column, numbers) for c, column in enumerate(columns)]
        rows = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
        # The rows' XML lies end to end in the array's data buffer: written without a copy.
        offsets, data = column_bytes(rows)
        self.sheet.write(data[offsets[0] : offsets[-1]])

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def commit(self) -> str:
        self._stop()
        self._check()
        self.sheet.write(b"</sheetData></worksheet>")
        self.sheet.close()
        self.zip.close()
        self.file.commit()
        return sha256_file(self.file.path)

    def abort(self) -> None:
        self._stop()
        with contextlib.suppress(Exception):  # a half-written package may not close; the file goes anyway
            self.sheet.close()
        with contextlib.suppress(Exception):
            self.zip.close()
        self.file.abort()


def _sheet_head(hidden: set[int]) -> str:
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="13" hidden="1" customWidth="1"/>' for i in sorted(hidden)
    )
    return (
        _HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheetViews><sheetView workbookViewId="0"/>'
        '</sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
    )


def _cells(c: int, column: pa.Array, numbers: pa.Array) -> pa.Array:
    """One column's cells of a batch: an inline string each, nothing for an empty one. Most
    values need no escape: one regex scan finds the few that do, and only they are rewritten."""
    text = pc.fill_null(column.cast(pa.string()), "")
    size = pc.binary_length(text)
    if (pc.max(size).as_py() or 0) > XLSX_MAX_CHARS:  # bytes first: characters only when it may matter
        longest = pc.max(pc.utf8_length(text)).as_py()
        if longest > XLSX_MAX_CHARS:  # Excel would cut it: never lose data silently
            raise EngineError(
                f"a cell of column {c + 1} holds {longest:,} characters, more than an Excel cell's "
                f"{XLSX_MAX_CHARS:,}: write a .csv output instead"
            )
    attr: pa.Array | str = ""
    special = pc.match_substring_regex(text, _SPECIAL)
    if pc.any(special).as_py():
        some = pc.filter(text, special)
        text = pc.replace_with_mask(text, special, _escaped(some))
        # xml:space="preserve" where a space starts or ends the text, as xlsxwriter writes it.
        spaced = pc.match_substring_regex(some, r"^\s|\s$").to_numpy(zero_copy_only=False)
        if spaced.any():
            flags = np.zeros(len(text), bool)
            flags[np.flatnonzero(special.to_numpy(zero_copy_only=False))[spaced]] = True
            attr = pc.if_else(pa.array(flags), ' xml:space="preserve"', "")
    cell = pc.binary_join_element_wise(
        f'<c r="{col_letters(c)}', numbers, '" t="inlineStr"><is><t', attr, ">", text, "</t></is></c>", ""
    )
    return pc.if_else(pc.equal(size, 0), "", cell)
