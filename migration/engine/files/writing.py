"""Output writers: CSV (UTF-8 BOM, comma, CRLF, RFC 4180) and xlsx, both atomic.

Each writes to a temporary file beside the output and moves it into place only
on commit, so a failed run never leaves a partial file at the output path.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import os
import queue
import secrets
import threading
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import EngineError
from .reading import cell_text, sha256_file

XLSX_MAX_CHARS = 32767


class AtomicFile:
    """A temporary file beside the output, moved over it only on commit."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise EngineError(f"output folder {folder!r} does not exist: create it or choose another path")
        if os.path.isdir(self.path):
            raise EngineError(f"output {self.path!r} is a folder: give a file name ending in .csv or .xlsx")
        # Not mkstemp: its 0600 mode would stick to the output; O_EXCL keeps the name ours.
        self.tmp = os.path.join(folder, f".p2c-{secrets.token_hex(8)}.part")
        try:
            os.close(os.open(self.tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except OSError as e:
            raise EngineError(
                f"cannot write in {folder!r} ({e.strerror}): choose another output folder"
            ) from None

    def open_bytes(self) -> BinaryIO:
        """The temporary file, open for writing as it was created: empty.

        Not open(tmp, "wb"): truncating a file, even an empty one, makes ext4 write all of it out
        when it is closed (its auto_da_alloc), and the replace at commit writes it out again:
        0.2 s of waiting at the end of a 400 MB output.
        """
        return open(os.open(self.tmp, os.O_WRONLY), "wb", buffering=1 << 20)

    def commit(self) -> None:
        try:
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.abort()
            raise EngineError(
                f"cannot replace {self.path!r} ({e.strerror}): close it or choose another path"
            ) from None

    def abort(self) -> None:
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


def column_bytes(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of a string array as numpy views: byte-level scans without copies."""
    _, offset_buffer, data = col.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int32)[col.offset : col.offset + len(col) + 1]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, eol="\r\n", quoting_style="needed")


def render_csv(columns: list[pa.Array]) -> pa.Buffer:
    """CSV bytes of one batch: every field quoted, quotes doubled, CRLF (RFC 4180).

    pyarrow's writer quotes every text field; cell values are unchanged. Quoting only the cells
    that need it (as Excel does) costs a scan of every byte of long text columns, twice the
    writer's time on a 1M-row export, for no difference to any CSV reader or to the import.
    """
    names = [f"c{i}" for i in range(len(columns))]
    columns = [c.cast(pa.string()) if c.type != pa.string() else c for c in columns]
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.RecordBatch.from_arrays(columns, names=names), sink, _WRITE_OPTIONS)
    return sink.getvalue()


class CsvWriter:
    """Renders and writes batches on a background thread: pyarrow's kernels release the GIL,
    so rendering batch k overlaps reading and applying the rules to batch k+1."""

    format = "csv"

    def __init__(self, path: str, headers: list[str], hidden: set[int]) -> None:
        self.file = AtomicFile(path)
        self.out = self.file.open_bytes()  # closed in commit/abort
        self.sha = hashlib.sha256()
        self._queue: queue.Queue[list[pa.Array] | None] = queue.Queue(maxsize=2)
        self._hash_queue: queue.Queue[memoryview | bytes | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="p2c-csv-writer", daemon=True)
        self._hasher = threading.Thread(target=self._hash, name="p2c-csv-sha256", daemon=True)
        self._thread.start()
        self._hasher.start()
        self._write(b"\xef\xbb\xbf" + _header_line(headers))

    def _write(self, data: bytes | memoryview) -> None:
        self.out.write(data)
        self._hash_queue.put(data)  # the view keeps its arrow buffer alive until hashed

    def _hash(self) -> None:
        while (data := self._hash_queue.get()) is not None:
            self.sha.update(data)

    def _drain(self) -> None:
        while (columns := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write(memoryview(render_csv(columns)))
                except BaseException as e:  # re-raised on the caller's thread
                    self._error = e

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write_columns(self, columns: list[pa.Array]) -> None:
        self._check()
        if len(columns[0]):
            self._queue.put(columns)

    def write_rows(self, rows: list[list[Any]], width: int) -> None:
        columns = [pa.array([cell_text(r[i]) for r in rows], pa.string()) for i in range(width)]
        self.write_columns(columns)

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._hasher.is_alive():
            self._hash_queue.put(None)
            self._hasher.join()
        self.out.close()

    def commit(self) -> str:
        self._stop()
        self._check()
        self.file.commit()
        return self.sha.hexdigest()

    def abort(self) -> None:
        self._stop()
        self.file.abort()


def _header_line(headers: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerow(headers)
    return buf.getvalue().encode("utf-8")


REPRODUCIBLE_CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


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
                # Its constant-memory row files go beside the output, not to the system's
                # temporary folder: a killed run's leftovers stay where its caller cleans.
                "tmpdir": os.path.dirname(self.file.tmp),
            },
        )
        # A fixed creation date: the same input then gives a byte-identical
        # workbook (a redelivered job must reproduce its output exactly).
        self.book.set_properties({"created": REPRODUCIBLE_CREATED})
        self.sheet = self.book.add_worksheet(sheet_name[:31] or "Sheet1")
        self.date_fmt = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime_fmt = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.time_fmt = self.book.add_format({"num_format": "hh:mm:ss"})
        for i in sorted(hidden):
            self.sheet.set_column(i, i, 13, None, {"hidden": True})
        self.row = 0
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
                    if len(v) > XLSX_MAX_CHARS:  # xlsxwriter would cut it: never lose data silently
                        raise EngineError(
                            f"data row {r} column {c + 1} holds {len(v):,} characters, more than an Excel "
                            f"cell's {XLSX_MAX_CHARS:,}: write a .csv output instead"
                        )
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
        return sha256_file(self.file.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # a half-written book may not close; the temp file goes anyway
            self.book.close()
        self.file.abort()


class Writers:
    """The outputs of one pass: every batch goes to each writer; the first is the report's output."""

    def __init__(self, writers: list[CsvWriter | XlsxWriter]) -> None:
        self.writers = writers
        self.format = writers[0].format

    def write_columns(self, columns: list[pa.Array]) -> None:
        for writer in self.writers:
            writer.write_columns(columns)

    def write_rows(self, rows: list[Any], width: int) -> None:
        for writer in self.writers:
            writer.write_rows(rows, width)

    def commit(self) -> str:
        """Commits each output; returns the first one's SHA-256. On a failure none is left."""
        shas = []
        try:
            for writer in self.writers:
                shas.append(writer.commit())
        except BaseException:
            self.abort()
            for writer in self.writers[: len(shas)]:
                with contextlib.suppress(OSError):
                    os.remove(writer.file.path)
            raise
        return shas[0]

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()


def open_writers(paths: list[str], headers: list[str], hidden: set[int], sheet_name: str) -> Writers:
    writers: list[CsvWriter | XlsxWriter] = []
    try:
        for path in paths:
            writers.append(open_writer(path, headers, hidden, sheet_name))
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return Writers(writers)


def open_writer(path: str, headers: list[str], hidden: set[int], sheet_name: str) -> CsvWriter | XlsxWriter:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        return CsvWriter(path, headers, hidden)
    if ext == ".xlsx":
        return XlsxWriter(path, headers, hidden, sheet_name)
    raise EngineError(
        f"output {os.path.basename(path)!r} must end in .csv or .xlsx: the extension picks the format"
    )
