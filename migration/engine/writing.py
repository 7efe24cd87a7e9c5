"""Output writers: CSV (UTF-8 BOM, comma, CRLF, RFC 4180) and xlsx, both atomic.

Each writes to a temporary file beside the output and moves it into place only
on commit, so a failed run never leaves a partial file at the output path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import EngineError
from .reading import cell_text

_NEEDS_QUOTES = r'[",\r\n]'
XLSX_MAX_CHARS = 32767


class AtomicFile:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise EngineError(f"output folder {folder!r} does not exist: create it or choose another path")
        fd, self.tmp = tempfile.mkstemp(prefix=".p2c-", suffix=".part", dir=folder)
        os.close(fd)

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


def render_csv(columns: list[pa.Array]) -> pa.Array:
    """One string per row, each ending in CRLF; quotes only the cells that need them."""
    parts = []
    for col in columns:
        col = col.fill_null("") if col.null_count else col
        needs = pc.match_substring_regex(col, _NEEDS_QUOTES)
        if pc.any(needs).as_py():
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
            col = pc.if_else(needs, quoted, col)
        parts.append(col)
    if len(parts) == 1:  # an empty line would be skipped by readers: quote the empty cell
        parts[0] = pc.if_else(pc.equal(parts[0], ""), '""', parts[0])
    parts[-1] = pc.binary_join_element_wise(parts[-1], "\r\n", "")
    return pc.binary_join_element_wise(*parts, ",") if len(parts) > 1 else parts[0]


def _buffer_of(lines: pa.Array) -> memoryview:
    """The contiguous bytes of a string array (all rows, no copies)."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = lines.buffers()[1]
    data = lines.buffers()[2]
    width = 8 if pa.types.is_large_string(lines.type) else 4
    first = int.from_bytes(memoryview(offsets)[lines.offset * width : lines.offset * width + width], "little")
    end = (lines.offset + len(lines)) * width
    last = int.from_bytes(memoryview(offsets)[end : end + width], "little")
    return memoryview(data)[first:last] if data is not None else memoryview(b"")


class CsvWriter:
    format = "csv"

    def __init__(self, path: str, headers: list[str], hidden: set[int]) -> None:
        self.file = AtomicFile(path)
        self.out = open(self.file.tmp, "wb", buffering=1 << 20)  # noqa: SIM115 (closed in commit/abort)
        self.sha = hashlib.sha256()
        self._write(b"\xef\xbb\xbf")
        self.write_columns([pa.array([h], pa.string()) for h in headers])

    def _write(self, data: bytes | memoryview) -> None:
        self.out.write(data)
        self.sha.update(data)

    def write_columns(self, columns: list[pa.Array]) -> None:
        if len(columns[0]):
            self._write(_buffer_of(render_csv(columns)))

    def write_rows(self, rows: list[list[Any]], width: int) -> None:
        columns = [pa.array([cell_text(r[i]) for r in rows], pa.string()) for i in range(width)]
        self.write_columns(columns)

    def commit(self) -> str:
        self.out.close()
        self.file.commit()
        return self.sha.hexdigest()

    def abort(self) -> None:
        self.out.close()
        self.file.abort()


class XlsxWriter:
    """xlsxwriter in constant-memory mode; strings are always written as strings."""

    format = "xlsx"

    def __init__(self, path: str, headers: list[str], hidden: set[int], sheet_name: str = "Sheet1") -> None:
        import xlsxwriter

        self.file = AtomicFile(path)
        self.book = xlsxwriter.Workbook(
            self.file.tmp,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "use_zip64": True,
            },
        )
        self.sheet = self.book.add_worksheet(sheet_name[:31] or "Sheet1")
        self.date_fmt = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime_fmt = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.time_fmt = self.book.add_format({"num_format": "hh:mm:ss"})
        for i in sorted(hidden):
            self.sheet.set_column(i, i, 13, None, {"hidden": True})
        self.row = 0
        self.truncated = 0
        self.write_rows([headers], len(headers))

    def write_columns(self, columns: list[pa.Array]) -> None:
        lists = [c.to_pylist() for c in columns]
        self.write_rows(list(zip(*lists, strict=True)), len(columns))

    def write_rows(self, rows: list[Any], width: int) -> None:
        ws, r = self.sheet, self.row
        write_string, write_number = ws.write_string, ws.write_number
        for row in rows:
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                t = type(v)
                if t is str:
                    if len(v) > XLSX_MAX_CHARS:
                        self.truncated += 1
                    write_string(r, c, v)
                elif t is float or t is int:
                    write_number(r, c, v)
                else:
                    self._write_other(r, c, v)
            r += 1
        self.row = r

    def _write_other(self, r: int, c: int, v: Any) -> None:
        if isinstance(v, bool):
            self.sheet.write_boolean(r, c, v)
        elif isinstance(v, dt.datetime):
            self.sheet.write_datetime(r, c, v, self.datetime_fmt if v.time() != dt.time() else self.date_fmt)
        elif isinstance(v, dt.date):
            self.sheet.write_datetime(r, c, v, self.date_fmt)
        elif isinstance(v, dt.time | dt.timedelta):
            self.sheet.write_datetime(r, c, v, self.time_fmt)
        else:
            self.sheet.write_string(r, c, str(v))

    def commit(self) -> str:
        self.book.close()
        self.file.commit()
        return sha256_of(self.file.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # a half-written book may not close; the temp file goes anyway
            self.book.close()
        self.file.abort()


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def open_writer(path: str, headers: list[str], hidden: set[int], sheet_name: str) -> CsvWriter | XlsxWriter:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        return CsvWriter(path, headers, hidden)
    if ext == ".xlsx":
        return XlsxWriter(path, headers, hidden, sheet_name)
    raise EngineError(
        f"output {os.path.basename(path)!r} must end in .csv or .xlsx: the extension picks the format"
    )
