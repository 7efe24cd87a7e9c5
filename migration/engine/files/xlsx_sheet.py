"""An .xlsx data sheet read as Sales exports it: the workbook around the sheet (which sheet,
its headers, its date styles, the 1904 date system) and the sheet's XML streamed row by row
without loading it, for fill in place (xlsx_inplace) and the import pack's cuts (packs).

API::

    open_sheet(path, sheet=None) -> SheetInfo           # the data sheet, its headers and styles
    sheet_chunks(path, part) -> Iterator[bytes]         # the sheet's XML as it inflates
    scan_sheet(chunks, path) -> Iterator[(kind, piece)] # text between rows, and each row
    sheet_layout(info) -> SheetLayout | None            # where the rows are, for the import parts
    LayoutRecorder(header_row, rechunk=True)            # the same, of a sheet as it is written
    remember_layout(path, layout)                       # a fill's layout of the file it wrote
"""

from __future__ import annotations

import html
import os
import re
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from defusedxml import ElementTree

from ..errors import EngineError
from .reading import norm, refuse_dtd
from .zipraw import Member, read_members

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PFX = rb"(?:[A-Za-z_][\w.-]*:)?"
SHEETDATA_RE = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?sheetData(?=[\s/>])[^>]*?(/?)>")
ROW_START_RE = re.compile(rb"<" + _PFX + rb"row(?=[\s/>])([^>]*?)(/?)>")
CELL_RE = re.compile(rb"<" + _PFX + rb"c(?=[\s/>])([^>]*)>")
R_ATTR_RE = re.compile(rb'\sr="([A-Z]{1,3})?(\d*)"')
T_ATTR_RE = re.compile(rb'\st="(\w+)"')
_TEXT_RE = re.compile(rb"<" + _PFX + rb"t(?:\s[^>]*)?>(.*?)</" + _PFX + rb"t>", re.S)
_V_RE = re.compile(rb"<" + _PFX + rb"v(?:\s[^>]*)?>(.*?)</" + _PFX + rb"v>", re.S)
_UNESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
READ_CHUNK = 1 << 20
_BUILTIN_DATE_FORMATS = {*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)}


def col_index(letters: bytes | str) -> int:
    """'A' -> 0, 'AA' -> 26."""
    n = 0
    for ch in letters.encode() if isinstance(letters, str) else letters:
        n = n * 26 + (ch - 64)
    return n - 1


def col_letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _not_workbook(path: str, why: str) -> EngineError:
    return EngineError(
        f"{os.path.basename(path)!r} is not a readable Excel workbook ({why}): export it from Sales again, "
        "or open it in Excel and save it as .xlsx"
    )


# --- the workbook around the sheet -------------------------------------------------------


@dataclass
class SheetInfo:
    """The data sheet of a workbook and what filling it needs to know."""

    path: str
    members: list[Member]
    sheet_name: str
    sheet_part: str  # e.g. xl/worksheets/sheet1.xml
    date1904: bool
    date_styles: set[int]
    headers: list[str] = field(default_factory=list)
    header_row: int = 1

    def column(self, names: int | str | Sequence[str]) -> int | None:
        """A column's 0-based index by index, header, or any of several accepted headers."""
        if isinstance(names, int):
            return names if 0 <= names < max(len(self.headers), 16384) else None
        wanted = [names] if isinstance(names, str) else list(names)
        normed = [norm(h) for h in self.headers]
        for name in wanted:
            if norm(name) in normed:
                return normed.index(norm(name))
        return None


def open_sheet(path: str | os.PathLike[str], sheet: str | None = None) -> SheetInfo:
    """The named sheet (default: the first visible one, as the reader takes it) and its headers."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise EngineError(f"input file {path!r} does not exist: check the path")
    try:
        members = read_members(path)
        names = {m.name for m in members}
        with zipfile.ZipFile(path) as zf:
            refuse_dtd(zf)
            wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            styles = zf.read("xl/styles.xml") if "xl/styles.xml" in names else b""
    except KeyError as e:
        raise _not_workbook(path, f"missing part {e}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise _not_workbook(path, f"damaged or truncated: {e}") from None
    except ElementTree.ParseError as e:
        raise _not_workbook(path, f"bad workbook XML: {e}") from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    pr = wb.find(f"{_NS}workbookPr")
    date1904 = pr is not None and pr.get("date1904", "0") in ("1", "true")
    found = None
    for el in wb.iter(f"{_NS}sheet"):
        name = el.get("name", "")
        if (sheet is None and el.get("state", "visible") == "visible") or (
            sheet is not None and norm(name) == norm(sheet)
        ):
            target = targets.get(el.get(f"{_REL_NS}id"), "")
            found = name, target.lstrip("/") if target.startswith("/") else "xl/" + target
            break
    if found is None:
        what = f"no sheet named {sheet!r}" if sheet is not None else "no visible worksheet"
        raise _not_workbook(path, what)
    if found[1] not in names:
        raise _not_workbook(path, f"missing {found[1]}")
    info = SheetInfo(path, members, found[0], found[1], date1904, _date_styles(styles))
    info.header_row, info.headers = _read_headers(info)
    return info


def _date_styles(styles: bytes) -> set[int]:
    """Indexes of the cell formats (cellXfs) whose number format shows a date or time."""
    if not styles:
        return set()
    root = ElementTree.fromstring(styles)
    custom = {}
    fmts = root.find(f"{_NS}numFmts")
    for f in fmts if fmts is not None else ():
        custom[int(f.get("numFmtId", "0"))] = f.get("formatCode", "")
    out = set()
    xfs = root.find(f"{_NS}cellXfs")
    for i, xf in enumerate(xfs if xfs is not None else ()):
        fid = int(xf.get("numFmtId", "0"))
        if fid in _BUILTIN_DATE_FORMATS or (fid in custom and _is_date_format(custom[fid])):
            out.add(i)
    return out


def _is_date_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code.split(";")[0])
    return bool(re.search(r"[dmyhs]", code, re.I)) and "general" not in code.lower()


def sheet_chunks(path: str, part: str) -> Iterator[bytes]:
    try:
        with zipfile.ZipFile(path) as zf, zf.open(part) as f:
            while data := f.read(READ_CHUNK):
                yield data
    except (zipfile.BadZipFile, OSError, EOFError, zlib_error()) as e:
        raise _not_workbook(path, f"damaged or truncated: {e}") from None


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


# --- streaming the sheet XML --------------------------------------------------------------


@dataclass
class Row:
    number: int
    attrs: bytes  # the start tag's attributes
    content: bytes | None  # None: self-closing
    raw: bytes


def scan_sheet(
    chunks: Iterable[bytes], path: str, plain_rows: Callable[[bytes], list[int] | None] | None = None
) -> Iterator[tuple[str, Any]]:
    """The sheet as ('head', bytes), ('row', Row), ('gap', bytes), ('tail', bytes) pieces.

    Only the structure that matters is tokenized: <sheetData>, its <row> elements and the text
    between them; everything before and after is passed on as bytes. Excel and Sales never put
    comments or CDATA in sheetData; a sheet that does is refused rather than misread.

    plain_rows: a reader that takes whole runs of rows at once. Each time a read arrives, the
    rows it completes are offered to it as one block of bytes; when it answers their row
    numbers, the block comes as ('rows', (block, numbers)), else row by row as usual. A
    Python step per row costs more than the work on the row (fill in place at 100,000 rows).
    """
    it = iter(chunks)
    buf = b""
    for chunk in it:
        buf += chunk
        m = SHEETDATA_RE.search(buf)
        if m:
            break
    else:
        raise _not_workbook(path, "the sheet has no sheetData")
    yield "prefix", (m.group(1) or b"")
    end_row = b"</" + (m.group(1) + b":" if m.group(1) else b"") + b"row>"
    yield "head", buf[: m.end()]
    if m.group(2):  # <sheetData/>: no rows at all
        yield "tail", buf[m.end() :]
        for chunk in it:
            yield "tail", chunk
        return
    buf = buf[m.end() :]
    last = 0
    eof = False
    while True:
        pos = 0
        n = len(buf)
        if plain_rows is not None and buf.startswith(b"<"):
            end = buf.rfind(end_row) + len(end_row)
            numbers = plain_rows(buf[:end]) if end >= len(end_row) else None
            if numbers:
                yield "rows", (buf[:end], numbers)
                last, pos = numbers[-1], end
        while pos < n:
            lt = buf.find(b"<", pos)
            if lt < 0:
                break
            if lt > pos:
                yield "gap", buf[pos:lt]
                pos = lt
            if buf.startswith(b"</", lt):
                close = buf.find(b">", lt)
                if close < 0:
                    break
                if b"sheetData" not in buf[lt:close]:
                    raise _not_workbook(path, "unexpected XML in sheetData")
                yield "tail", buf[lt:]
                for chunk in it:
                    yield "tail", chunk
                return
            if buf.startswith(b"<!", lt) or buf.startswith(b"<?", lt):
                raise EngineError(
                    f"{os.path.basename(path)!r} holds XML comments or CDATA in its rows, which Excel never "
                    "writes: open it in Excel, save it, and upload it again"
                )
            rm = ROW_START_RE.match(buf, lt)
            if rm is None:
                if eof or buf.find(b">", lt) >= 0:
                    raise _not_workbook(
                        path, "unexpected XML in sheetData" if not eof else "a row is cut off"
                    )
                break
            if rm.group(2):
                content, end = None, rm.end()
            else:
                close = buf.find(end_row, rm.end())
                if close < 0:
                    if eof:
                        raise _not_workbook(path, "a row of the sheet is cut off")
                    break
                content, end = buf[rm.end() : close], close + len(end_row)
            ra = R_ATTR_RE.search(rm.group(1))
            last = int(ra.group(2)) if ra and ra.group(2) else last + 1
            yield "row", Row(last, rm.group(1) + rm.group(2), content, buf[lt:end])
            pos = end
        buf = buf[pos:]
        if eof:
            raise _not_workbook(path, "the sheet ends inside sheetData")
        chunk = next(it, None)
        if chunk is None:
            eof = True
        else:
            buf += chunk


def cell_spans(
    content: bytes, end_tag: bytes, pos: int = 0, col: int = -1
) -> Iterator[tuple[int, int, int, bytes]]:
    """(column, start, end, attributes) of each cell of a row's content, from pos on (col: the
    column of the cell before pos, for a cell without a reference)."""
    search = CELL_RE.search
    while (m := search(content, pos)) is not None:
        attrs = m.group(1)
        ra = R_ATTR_RE.search(attrs)
        col = col_index(ra.group(1)) if ra and ra.group(1) else col + 1
        if attrs.endswith(b"/"):
            end = m.end()
        else:
            end = content.find(end_tag, m.end())
            if end < 0:
                raise EngineError("a cell of the sheet is cut off: export the workbook again")
            end += len(end_tag)
        yield col, m.start(), end, attrs
        pos = end


def cell_text(content: bytes, attrs: bytes, shared: Callable[[int], str] | None = None) -> str:
    """The text of one cell's XML (inline string, shared string, or value)."""
    t = T_ATTR_RE.search(attrs)
    kind = t.group(1) if t else b"n"
    if kind == b"inlineStr":
        raw = b"".join(_TEXT_RE.findall(content))
    else:
        v = _V_RE.search(content)
        raw = v.group(1) if v else b""
        if kind == b"s" and shared is not None and raw.strip():
            return shared(int(raw))
    return _unescape(raw.decode("utf-8"))


def _unescape(text: str) -> str:
    text = html.unescape(text) if "&" in text else text
    return _UNESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _read_headers(info: SheetInfo) -> tuple[int, list[str]]:
    shared_needed: dict[int, int] = {}
    header: list[tuple[int, bytes, bytes]] = []
    number = 1
    prefix = b""
    for kind, piece in scan_sheet(sheet_chunks(info.path, info.sheet_part), info.path):
        if kind == "prefix":
            prefix = piece
        elif kind == "row":
            number = piece.number
            end_tag = b"</" + (prefix + b":" if prefix else b"") + b"c>"
            content = piece.content or b""
            for col, start, end, attrs in cell_spans(content, end_tag):
                header.append((col, attrs, content[start:end]))
            break
        elif kind == "tail":
            break
    for col, attrs, xml in header:
        t = T_ATTR_RE.search(attrs)
        if t and t.group(1) == b"s":
            v = _V_RE.search(xml)
            if v and v.group(1).strip():
                shared_needed[int(v.group(1))] = col
    strings = _shared_strings(info, set(shared_needed)) if shared_needed else {}
    width = max((c for c, _, _ in header), default=-1) + 1
    headers = [""] * width
    for col, attrs, xml in header:
        headers[col] = cell_text(xml, attrs, lambda i: strings.get(i, "")).strip()
    while headers and not headers[-1]:
        headers.pop()
    return number, headers


def _shared_strings(info: SheetInfo, wanted: set[int]) -> dict[int, str]:
    """Just the shared strings the header uses: the table is streamed up to the last of them."""
    if not wanted or not any(m.name == "xl/sharedStrings.xml" for m in info.members):
        return {}
    found: dict[int, str] = {}
    top = max(wanted)
    with zipfile.ZipFile(info.path) as zf, zf.open("xl/sharedStrings.xml") as f:
        i = 0
        for _, el in ElementTree.iterparse(f, events=("end",)):
            if el.tag == f"{_NS}si":
                if i in wanted:
                    found[i] = _unescape("".join(t.text or "" for t in el.iter(f"{_NS}t")))
                el.clear()
                i += 1
                if i > top:
                    break
    return found


# --- the sheet's layout, for cutting it into parts -----------------------------------------


@dataclass
class SheetLayout:
    """Where things are in the sheet's XML: offsets in the inflated part."""

    head: bytes = b""  # up to and including <sheetData>
    header_rows: bytes = b""  # the rows at or above the header row
    tail: list[bytes] = field(default_factory=list)  # from </sheetData> on, as scan_sheet gives it
    indexes: array = field(default_factory=lambda: array("q"))  # each data row's index (0 = under the header)
    starts: array = field(default_factory=lambda: array("q"))  # where each data row starts
    rows_end: int = 0  # where the last data row ends
    rows: int = 0  # data rows, by the last row's number (rows without an element count)

    def size(self, k: int) -> int:
        """The XML bytes of the k-th data row element."""
        end = self.starts[k + 1] if k + 1 < len(self.starts) else self.rows_end
        return end - self.starts[k]


class LayoutRecorder:
    """Builds a SheetLayout from the pieces of a sheet as they are written (or read), in order;
    `layout()` is None when the sheet has text between rows or rows out of order."""

    def __init__(self, header_row: int, rechunk: bool = False) -> None:
        """rechunk: the tail comes in other pieces than a read of this sheet would give (a fill
        writing it): cut it as scan_sheet cuts it when it reads the sheet."""
        self.header_row, self.rechunk = header_row, rechunk
        self.at = 0
        self.last_number = 0
        self.plain = True
        self.got = SheetLayout()
        self._header: list[bytes] = []
        self._tail: list[bytes] = []

    def head(self, data: bytes) -> None:
        self.got.head += data
        self.at += len(data)

    def row(self, number: int, raw: bytes) -> None:
        if number <= self.last_number or self._tail:
            self.plain = False
        self.last_number = number
        if number <= self.header_row:
            if self.got.starts:
                self.plain = False
            self._header.append(raw)
        else:
            self.got.indexes.append(number - self.header_row - 1)
            self.got.starts.append(self.at)
            self.got.rows = number - self.header_row
        self.at += len(raw)
        self.got.rows_end = self.at if self.got.starts else 0

    def rows_run(self, numbers: Sequence[int], lengths: Iterable[int]) -> None:
        """Data rows written back to back: their numbers (consecutive, under the header) and sizes."""
        if numbers[0] <= self.last_number or self._tail:
            self.plain = False
        got = self.got
        got.indexes.extend(range(numbers[0] - self.header_row - 1, numbers[-1] - self.header_row))
        starts = list(accumulate(lengths, initial=self.at))
        self.at = starts.pop()
        got.starts.extend(starts)
        self.last_number = numbers[-1]
        got.rows = numbers[-1] - self.header_row
        got.rows_end = self.at

    def gap(self, data: bytes) -> None:
        if data:
            self.plain = False
        self.at += len(data)

    def tail(self, data: bytes) -> None:
        self._tail.append(data)

    def layout(self) -> SheetLayout | None:
        if not self.plain:
            return None
        self.got.header_rows = b"".join(self._header)
        self.got.tail = _as_read(b"".join(self._tail), self.at) if self.rechunk else self._tail
        return self.got


def _as_read(tail: bytes, at: int) -> list[bytes]:
    """The tail (starting at offset `at` of the sheet) in the pieces scan_sheet yields: the first
    runs to the end of the read that brought the end of </sheetData>'s tag, then one per read."""
    close = tail.find(b">") + 1
    cut = -(-(at + close) // READ_CHUNK) * READ_CHUNK - at  # the first read boundary at or after it
    pieces = [tail[:cut]]
    while cut < len(tail):
        pieces.append(tail[cut : cut + READ_CHUNK])
        cut += READ_CHUNK
    return pieces


def sheet_layout(info: SheetInfo) -> SheetLayout | None:
    """The sheet's layout: remembered from the fill that wrote it, else read in one pass."""
    known = _recall(info.path)
    if known is not None:
        return known
    rec = LayoutRecorder(info.header_row)
    for kind, piece in scan_sheet(sheet_chunks(info.path, info.sheet_part), info.path):
        if kind == "head":
            rec.head(piece)
        elif kind == "row":
            rec.row(piece.number, piece.raw)
        elif kind == "gap":
            rec.gap(piece)
        elif kind == "tail":
            rec.tail(piece)
    return rec.layout()


# A fill's layout of the file it just wrote, so that cutting that file needs no pass to size it.
# Keyed by the file's path and checked against its size, time and inode: a file changed since
# is read again. A few entries: a re-export in parts is filled part by part, then each is cut.
_remembered: dict[str, tuple[tuple[int, int, int], SheetLayout]] = {}
REMEMBERED = 8


def _stamp(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def remember_layout(path: str, layout: SheetLayout | None) -> None:
    key = os.path.abspath(path)
    _remembered.pop(key, None)
    while len(_remembered) >= REMEMBERED:
        del _remembered[next(iter(_remembered))]  # the oldest
    if layout is not None:
        _remembered[key] = (_stamp(path), layout)


def _recall(path: str) -> SheetLayout | None:
    entry = _remembered.get(os.path.abspath(path))
    if entry is None:
        return None
    try:
        same = entry[0] == _stamp(path)
    except OSError:
        same = False
    return entry[1] if same else None
