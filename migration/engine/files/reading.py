"""Open an export (.csv or .xlsx), detect how it is written, and read it in batches.

Every check that can refuse a bad file runs before the bulk of it is parsed, so
a bad upload fails within seconds and in small memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from defusedxml import DefusedXmlException, ElementTree

from ..errors import EngineError

EXCEL_MAX_ROWS = 1_048_576  # rows per sheet, header included
CSV_BLOCK_BYTES = 2 << 20  # pyarrow block (~5k order rows): the reader keeps several in flight;
# 2 MB measured fastest on a 1M-row export (cache-friendly) and keeps memory near 400 MB
XLSX_BATCH_ROWS = 20_000
SAMPLE_BYTES = 1 << 20
# A Sales export of 100,000 rows inflates to ~110 MB. A workbook declaring far more
# (bigger ones belong in CSV), or inflating suspiciously well, is refused before a
# byte of it is parsed.
MAX_UNZIPPED_BYTES = 512 << 20  # calamine holds the whole sheet: ~3x this in memory
MAX_RATIO = 150
RATIO_FLOOR_BYTES = 50 << 20
DELIMITERS = (",", ";", "\t")
# A hostile or broken file can hold 100,000 columns in 3 MB: refused from a
# bounded prefix (the header record must end within SAMPLE_BYTES), before the
# row reader or the preview allocates anything per column.
MAX_COLUMNS = 16_384  # Excel's own limit (column XFD)
MAX_HEADER_CHARS = 1_000


# The last column of an issues file (extract.write_rows): what is wrong in each row. People fix the
# rows and upload the file again; every reader here leaves the column out, so it never reaches a
# check, a part's column comparison or an output.
ISSUES_COLUMN = "What is wrong (P2C Wizard; ignored when the file is uploaded again)"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """A file's SHA-256 (hex), read in 4 MB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def norm(header: object) -> str:
    """How headers are compared everywhere: spaces trimmed and collapsed, case-insensitive."""
    return " ".join(str(header if header is not None else "").split()).casefold()


def _without_issues_column(headers: list[str]) -> tuple[list[str], bool]:
    if headers and headers[-1] == ISSUES_COLUMN:
        return headers[:-1], True
    return headers, False


@dataclass
class Batch:
    """A slice of data rows. CSV: an all-string arrow batch; xlsx: Python rows (cells typed)."""

    start: int  # 0-based index of the first data row in the file
    num_rows: int
    arrow: pa.RecordBatch | None = None
    rows: list[list[Any]] | None = None
    # CSV: about how many bytes of the file are read once this batch is (pyarrow reads blocks of
    # CSV_BLOCK_BYTES, one batch each): progress when the number of rows is unknown.
    bytes_read: int | None = None
    _text: dict[int, pa.Array] = field(default_factory=dict)
    _cells: list[tuple[Any, ...]] | None = None

    def text(self, i: int) -> pa.Array:
        """Column i as text ('' when empty); xlsx dates become ISO text."""
        if self.arrow is not None:
            return self.arrow.column(i)
        if i not in self._text:
            cells = self.cells(i)
            if all_text(cells):  # calamine gives '' for an empty cell: a text column is all str
                self._text[i] = pa.array(cells, pa.string())
            else:
                self._text[i] = pa.array([cell_text(v) for v in cells], pa.string())
        return self._text[i]

    def cells(self, i: int) -> tuple[Any, ...]:
        """The xlsx variant's column i as read (typed cells), the rows turned into columns once."""
        if self._cells is None:
            self._cells = list(zip(*self.rows, strict=True)) if self.rows else []
        return self._cells[i] if self._cells else ()


def all_text(cells: tuple[Any, ...]) -> bool:
    """Whether every cell is a str: checked in C, without a Python step per cell."""
    return set(map(type, cells)) <= {str}


def cell_text(value: Any) -> str:
    """A typed xlsx cell as the text a CSV would hold."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class Source:
    format: str
    headers: list[str]
    hidden: set[int]
    description: str

    def batches(self) -> Iterator[Batch]:
        raise NotImplementedError

    def rows_hint(self) -> int | None:
        return None


def open_source(path: str | os.PathLike[str]) -> Source:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise EngineError(f"input file {path!r} does not exist: check the path")
    size = os.path.getsize(path)
    if size == 0:
        raise EngineError(f"input file {os.path.basename(path)!r} is empty: export the table again")
    try:
        with open(path, "rb") as f:
            head = f.read(SAMPLE_BYTES)
    except OSError as e:
        raise EngineError(
            f"cannot read {os.path.basename(path)!r} ({e.strerror}): check its permissions"
        ) from None
    ext = os.path.splitext(path)[1].lower()
    if head.startswith(b"PK\x03\x04") or ext in (".xlsx", ".xlsm"):
        if not head.startswith(b"PK"):
            raise EngineError(
                f"{os.path.basename(path)!r} is named .xlsx but is not an Excel workbook: "
                "upload the .xlsx that Export to Excel wrote, or save it as CSV and upload that"
            )
        return XlsxSource(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise EngineError("this is an old .xls workbook: open it in Excel and save it as .xlsx or CSV")
    return CsvSource(path, head, size)


# --- CSV -------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even_nuls, odd_nuls = sample[0:4000:2].count(0), sample[1:4000:2].count(0)
    if odd_nuls > 100 and even_nuls == 0:  # UTF-16 without a BOM: ASCII has a NUL high byte
        return "utf-16-le"
    if even_nuls > 100 and odd_nuls == 0:
        return "utf-16-be"
    if b"\x00" in sample:
        raise EngineError("the file is binary, not a CSV export: upload the .csv or .xlsx that Sales wrote")
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if e.start >= len(sample) - 3 and len(sample) == SAMPLE_BYTES:
            return "utf-8"  # only the sample's cut split a character
    from charset_normalizer import from_bytes  # late: only legacy-encoded files need it

    best = from_bytes(sample).best()
    if best is None:
        raise EngineError(
            "the file is binary or in an unknown encoding: save it as CSV UTF-8 and upload again"
        )
    try:  # Western exports: Excel's "CSV" is cp1252, which charset-normalizer may call latin-1.
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return best.encoding


def _decode_sample(sample: bytes, encoding: str) -> str:
    if encoding.startswith("utf-16") and len(sample) % 2:
        sample = sample[:-1]
    return sample.decode(encoding, errors="ignore")


def detect_delimiter(text: str) -> str:
    """The candidate that splits the header record into the most fields."""
    counts = {}
    for d in DELIMITERS:
        try:
            counts[d] = len(next(csv.reader(io.StringIO(text), delimiter=d)))
        except (StopIteration, csv.Error):
            counts[d] = 0
    try:  # csv.Sniffer breaks ties sensibly when the header is a single field
        sniffed = csv.Sniffer().sniff(text[:20000], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = ","
    best = max(counts.values())
    return sniffed if counts.get(sniffed) == best else max(counts, key=lambda d: counts[d])


def check_headers(headers: list[str]) -> None:
    """Refuse more columns than Excel allows and absurdly long header names."""
    if len(headers) > MAX_COLUMNS:
        raise EngineError(
            f"the header row has {len(headers):,} columns, more than Excel's {MAX_COLUMNS:,}: "
            "this is not an export Sales wrote; export the table again with the view's columns only"
        )
    longest = max((len(h) for h in headers), default=0)
    if longest > MAX_HEADER_CHARS:
        raise EngineError(
            f"a header is {longest:,} characters long, more than {MAX_HEADER_CHARS:,}: "
            "this is not an export Sales wrote; export the table again"
        )
    check_duplicate_headers(headers)


def column_letters(position: int) -> str:
    """Excel's name of the 1-based column `position` (1 -> A, 28 -> AB)."""
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def check_duplicate_headers(headers: list[str]) -> None:
    """Refuse two columns of one name: every reader matches columns by name, so the second would
    be silently ignored. Names compare as matching does (blanks and case aside); empty ones are
    never matched, so they may repeat."""
    seen: dict[str, int] = {}
    for position, header in enumerate(headers, start=1):
        name = " ".join(str(header).split()).casefold()
        if not name:
            continue
        if name in seen:
            first = seen[name]
            raise EngineError(
                f"two columns are named {header.strip()!r}: column {first} ({column_letters(first)}) and "
                f"column {position} ({column_letters(position)}); every column is read by its name, so "
                "rename or remove one of them and upload the file again"
            )
        seen[name] = position


def check_csv_head(sample: bytes, whole: bool) -> None:
    """The header checks of a CSV from its first SAMPLE_BYTES (`whole`: the sample is the whole file)."""
    CsvSource.read_header(sample, whole)


class CsvSource(Source):
    format = "csv"

    def __init__(self, path: str, sample: bytes, size: int) -> None:
        self.path, self.size = path, size
        self.encoding, self.skip, self.delimiter, headers = self.read_header(sample, size <= len(sample))
        self.width = len(headers)  # the file's columns, the issues column included
        self.headers, self.dropped_issues = _without_issues_column(headers)
        self.hidden = set()
        self.description = f"CSV, {self.encoding}, delimiter {self.delimiter!r}"

    @staticmethod
    def read_header(sample: bytes, whole: bool) -> tuple[str, int, str, list[str]]:
        """(encoding, lines to skip, delimiter, headers) from the file's first bytes."""
        encoding = detect_encoding(sample)
        text = _decode_sample(sample, encoding).lstrip("\ufeff")
        if not text.strip():
            raise EngineError("the file has no header row: export the table again")
        # Excel honours (and some tools write) a first line "sep=;" naming the delimiter.
        hint = re.match(r"sep=([,;\t|])\r?\n", text)
        text = text[hint.end() :] if hint else text
        delimiter = hint[1] if hint else detect_delimiter(text)
        lines = io.StringIO(text)
        try:
            headers = next(csv.reader(lines, delimiter=delimiter))
        except csv.Error as e:
            raise EngineError(f"the header row cannot be read ({e}): save the file as CSV again") from None
        if not whole and lines.tell() >= len(text) and not text.endswith("\n"):
            raise EngineError(
                f"the header row is longer than {SAMPLE_BYTES >> 20} MB: this is not an export Sales "
                "wrote; export the table again with the view's columns only"
            )
        check_headers(headers)
        if len(headers) < 2 and len(text) > 4 and not text.isprintable() and "\n" not in text[:2000]:
            raise EngineError("the file is not a CSV export: upload the .csv or .xlsx that Sales wrote")
        return encoding, 1 if hint else 0, delimiter, headers

    def _reader(self, columns: list[int] | None = None) -> pacsv.CSVStreamingReader:
        names = [f"c{i}" for i in range(self.width)]
        if columns is None and self.dropped_issues:
            columns = list(range(len(self.headers)))
        read = pacsv.ReadOptions(
            column_names=names,
            skip_rows=self.skip,
            skip_rows_after_names=1,
            block_size=CSV_BLOCK_BYTES,
            encoding="utf8" if self.encoding in ("utf-8", "utf-8-sig") else self.encoding,
        )
        parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            include_columns=[names[i] for i in columns] if columns is not None else None,
        )
        return pacsv.open_csv(self.path, read_options=read, parse_options=parse, convert_options=convert)

    def batches(self, columns: list[int] | None = None) -> Iterator[Batch]:
        start, blocks, held = 0, 0, None
        try:
            reader = self._reader(columns)
            # One batch is held back, so that the last one says the whole file is read.
            for rb in reader:
                blocks += 1
                if rb.num_rows:
                    if held is not None:
                        yield held
                    held = Batch(
                        start, rb.num_rows, arrow=rb, bytes_read=min(self.size, blocks * CSV_BLOCK_BYTES)
                    )
                    start += rb.num_rows
            if held is not None:
                held.bytes_read = self.size
                yield held
        except (pa.ArrowInvalid, UnicodeDecodeError) as e:
            raise EngineError(_csv_problem(e, start)) from None


def _csv_problem(e: Exception, rows_done: int) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if isinstance(e, UnicodeDecodeError) or "UTF8" in text or "utf8" in text:
        return (
            f"the file's text encoding changes after row {rows_done}: save it in Excel as "
            "'CSV UTF-8 (Comma delimited)' and upload again"
        )
    m = re.search(r"Expected (\d+) columns, got (\d+)", text)
    if m:
        return (
            f"a row after data row {rows_done} has {m[2]} fields where the header has {m[1]}: "
            "the CSV is damaged or its delimiter varies; save it from Excel again"
        )
    return f"the CSV cannot be read after data row {rows_done} ({text[:200]}): save it from Excel again"


# --- xlsx ------------------------------------------------------------------

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_DIM_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_COL_RE = re.compile(rb"<(?:\w+:)?col\s[^>]*>")
_ATTR_RE = re.compile(rb'(\w+)="([^"]*)"')


def _not_workbook(name: str, why: str) -> EngineError:
    return EngineError(
        f"{name!r} is not a readable Excel workbook ({why}): export it from Sales again, "
        "or open it in Excel and save it as .xlsx"
    )


def _column_number(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + c - 64
    return n


DTD_MESSAGE = "this workbook contains a DTD, which Excel never writes: export it again"
# What may come before an XML part's root element: the declaration, processing instructions,
# comments and space. A DTD would come there too; Excel writes none, so any is refused before a
# parser (defusedxml raises on entities, calamine would read on) sees the part.
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.S)
_PROLOG_LIMIT = 1 << 20


def _part_has_dtd(part) -> bool:
    """Whether the part declares a DTD: its prolog read as far as the first element."""
    head, pos = b"", 0
    while True:
        chunk = part.read(64 << 10)
        head += chunk
        while match := _PROLOG_ITEM.match(head, pos):
            pos = match.end()
        rest = head[pos:].lstrip(b"\xef\xbb\xbf \t\r\n")
        if rest.startswith(b"<!DOCTYPE"):
            return True
        unfinished = rest.startswith((b"<?", b"<!")) or len(rest) < len(b"<!DOCTYPE")
        if not chunk or not unfinished:
            return False
        if len(head) > _PROLOG_LIMIT:
            return True  # a megabyte of comments before the root: nothing Excel wrote either


def refuse_dtd(zf: zipfile.ZipFile) -> None:
    """EngineError if any XML part of the workbook declares a DTD (entities, external ones)."""
    for info in zf.infolist():
        if info.filename.endswith((".xml", ".rels", ".vml")):
            with zf.open(info) as part:
                if _part_has_dtd(part):
                    raise EngineError(DTD_MESSAGE)


def check_workbook_parts(file) -> None:
    """The upload's check of a workbook (a path or an open file): its XML parts hold no DTD."""
    try:
        with zipfile.ZipFile(file) as zf:
            refuse_dtd(zf)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise EngineError(f"the workbook is damaged or truncated ({e}): export it again") from None


class XlsxSource(Source):
    format = "xlsx"

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = os.path.basename(path)
        try:
            with zipfile.ZipFile(path) as zf:
                self._check_sizes(zf)
                refuse_dtd(zf)
                self.sheet_name, sheet_path = self._first_sheet(zf)
                self.hidden, self.dim_rows = self._sheet_prefix(zf, sheet_path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
            raise _not_workbook(self.name, f"damaged or truncated: {e}") from None
        except ElementTree.ParseError as e:
            raise _not_workbook(self.name, f"bad workbook XML: {e}") from None
        if self.dim_rows and self.dim_rows > EXCEL_MAX_ROWS:
            raise EngineError(
                f"the sheet declares {self.dim_rows:,} rows, more than Excel's {EXCEL_MAX_ROWS:,}: "
                "this is not an export Sales wrote; export the table again"
            )
        self._open_calamine()
        self.description = f"xlsx, sheet {self.sheet_name!r}"

    def _check_sizes(self, zf: zipfile.ZipFile) -> None:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_UNZIPPED_BYTES:
            raise EngineError(
                f"the workbook inflates to {total >> 20:,} MB, far more than a Sales export of 100,000 rows: "
                "save it as CSV (Excel: Save As > CSV UTF-8) and upload that, or export in smaller parts"
            )
        for i in infos:
            if i.file_size > RATIO_FLOOR_BYTES and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise EngineError(
                    f"{i.filename} inflates {i.file_size // max(i.compress_size, 1)}x to "
                    f"{i.file_size >> 20} MB: refused as a decompression bomb; export the table again"
                )

    def _first_sheet(self, zf: zipfile.ZipFile) -> tuple[str, str]:
        try:
            wb = ElementTree.fromstring(zf.read("xl/workbook.xml"), forbid_dtd=True)
            rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
        except KeyError as e:
            raise _not_workbook(self.name, f"missing part {e}") from None
        except DefusedXmlException:  # a DTD the prolog check missed (a part not in UTF-8, say)
            raise EngineError(DTD_MESSAGE) from None
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        for sheet in wb.iter(f"{_NS}sheet"):
            if sheet.get("state", "visible") != "visible":
                continue  # Sales adds a hidden metadata sheet; the data is the visible one
            target = targets.get(sheet.get(f"{_REL_NS}id"), "")
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            return sheet.get("name", ""), target
        raise _not_workbook(self.name, "no visible worksheet")

    def _sheet_prefix(self, zf: zipfile.ZipFile, sheet_path: str) -> tuple[set[int], int | None]:
        """Hidden columns and declared rows, read from the XML before <sheetData>."""
        try:
            with zf.open(sheet_path) as f:
                head = b""
                while b"sheetData" not in head and len(head) < (4 << 20):
                    chunk = f.read(64 << 10)
                    if not chunk:
                        break
                    head += chunk
        except KeyError:
            raise _not_workbook(self.name, f"missing {sheet_path}") from None
        head = head.split(b"sheetData")[0]
        hidden: set[int] = set()
        for tag in _COL_RE.findall(head):
            attrs = dict(_ATTR_RE.findall(tag))
            if attrs.get(b"hidden") in (b"1", b"true"):
                lo, hi = int(attrs.get(b"min", 1)), int(attrs.get(b"max", 1))
                hidden.update(range(lo - 1, min(hi, 16384)))
        m = _DIM_RE.search(head)
        rows = int(m[4] or m[2]) if m else None
        if m and _column_number(m[3] or m[1]) > MAX_COLUMNS:
            raise EngineError(
                f"the sheet declares columns up to {(m[3] or m[1]).decode()}, past Excel's last column XFD: "
                "this is not an export Sales wrote; export the table again"
            )
        return hidden, rows

    def _open_calamine(self) -> None:
        from python_calamine import CalamineWorkbook

        try:
            self._wb = CalamineWorkbook.from_path(self.path)
            sheet = self._wb.get_sheet_by_name(self.sheet_name)
            self._rows = sheet.iter_rows()
            first = next(self._rows, None)
        except Exception as e:  # calamine raises its own error types for damaged parts
            raise _not_workbook(
                self.name, str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            ) from None
        if first is None or not any(cell_text(c) for c in first):
            raise EngineError(f"{self.name!r} has no header row: export the table again")
        width = len(first)
        while width and cell_text(first[width - 1]) == "":
            width -= 1  # trailing unnamed, empty columns are formatting, not data
        self.headers, self.dropped_issues = _without_issues_column([cell_text(c) for c in first[:width]])
        self.width = len(self.headers)
        check_headers(self.headers)
        self._total = sheet.height - 1 if sheet.height else None

    def rows_hint(self) -> int | None:
        return self._total

    def batches(self, fresh: bool = False) -> Iterator[Batch]:
        if fresh:  # a second pass (date order detection) reads the sheet again
            self._open_calamine()
        start, rows = 0, []
        width = self.width
        for row in self._rows:
            if len(row) != width:
                row = (
                    (list(row) + [""] * width)[:width]
                    if self.dropped_issues or not any(cell_text(c) for c in row[width:])
                    else row
                )
                if len(row) != width:
                    raise EngineError(
                        f"data row {start + len(rows) + 1} has cells beyond the last header column: "
                        "give every column a header, or delete the stray cells, and upload again"
                    )
            rows.append(row)
            if len(rows) >= XLSX_BATCH_ROWS:
                yield Batch(start, len(rows), rows=rows)
                start, rows = start + len(rows), []
            if start + len(rows) >= EXCEL_MAX_ROWS:
                raise EngineError(f"the sheet has more rows than Excel's {EXCEL_MAX_ROWS:,}: refused")
        if rows:
            yield Batch(start, len(rows), rows=rows)
