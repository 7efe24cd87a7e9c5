"""Fill an .xlsx in place: only the target cells change, every other byte of the package stays.

The Import data wizard updates records from a workbook exported from Sales only when the
workbook is as exported apart from edited cells (p2c-rules.md, "Fill in place keeps the
workbook"). So the data sheet's XML is streamed and rewritten row by row, touching only the
cells of the target columns, and every other zip member is copied raw (``zipraw``).

New values are inline strings (``t="inlineStr"``), as Sales' own export writes its text:
appending to sharedStrings.xml would change a second part of the package, and its counts sit
at the top of that part, so the whole table would have to be rewritten after the sheet. A
cell keeps its style ``s``; a new cell takes its row's or column's style, as Excel would. A
text value that is an ISO date, written into a cell whose style is a date format, becomes a
date serial (the column is a date column in the workbook); other text stays text.

API::

    fill_xlsx(input_path, output_path, columns, rows, *, sheet=None, progress=None) -> FillResult
    rows_from_batches(batches) -> Iterator[tuple]      # per-batch columns -> per-row values
    open_sheet(path, sheet=None) -> SheetInfo           # the data sheet, its headers and styles
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice, repeat
from operator import add
from typing import Any

from ..errors import EngineError
from .reading import sha256_file
from .writing import AtomicFile
from .xlsx_sheet import (
    LayoutRecorder,
    Row,
    SheetInfo,
    cell_spans,
    col_letters,
    open_sheet,
    remember_layout,
    scan_sheet,
    sheet_chunks,
)
from .zipraw import PackageWriter, quick_switches

_PFX = rb"(?:[A-Za-z_][\w.-]*:)?"
S_ATTR_RE = re.compile(rb'\ss="(\d+)"')
SPANS_RE = re.compile(rb'\sspans="(\d+):(\d+)"')
_COL_RE = re.compile(rb"<" + _PFX + rb"col\s[^>]*>")
_ATTR_RE = re.compile(rb'([\w:]+)="([^"]*)"')
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?Z?$")
_ESCAPE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
XLSX_MAX_CHARS = 32767


# --- writing cells ------------------------------------------------------------------------


def xml_text(value: str) -> bytes:
    """Text for a <t> element: XML-escaped; characters XML cannot hold as Excel escapes them."""
    if _ESCAPE_RE.search(value):
        value = _ESCAPE_RE.sub(lambda m: "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value.encode("utf-8")


def _serial(day: dt.date | dt.datetime, date1904: bool) -> float:
    """Excel's serial number of a calendar date/time (wall-clock: no time-zone conversion)."""
    base = dt.datetime(1904, 1, 1, tzinfo=dt.UTC) if date1904 else dt.datetime(1899, 12, 30, tzinfo=dt.UTC)
    if not isinstance(day, dt.datetime):
        day = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    delta = day.replace(tzinfo=dt.UTC) - base
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6


def _number(v: float) -> bytes:
    if isinstance(v, float):
        if not math.isfinite(v):
            raise EngineError(f"the value {v!r} cannot be written to a cell: fix the rule that produced it")
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v)).encode()
        return repr(v).encode()
    return str(v).encode()


# Text that xml_text would change, or that _cell writes with xml:space (spaces at an end, a
# line break): such values take the general path.
_NEEDS_CARE = re.compile(r"[&<>\x00-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_").search


class CellWriter:
    """Renders one new cell's XML with the document's namespace prefix."""

    def __init__(self, prefix: bytes, date_styles: set[int], date1904: bool) -> None:
        p = prefix + b":" if prefix else b""
        self.p = p
        self.end_c = b"</" + p + b"c>"
        self.is_open = b"<" + p + b"is><" + p + b"t>"
        self.is_open_ws = b"<" + p + b"is><" + p + b't xml:space="preserve">'
        self.is_close = b"</" + p + b"t></" + p + b"is></" + p + b"c>"
        self.v_open, self.v_close = b"<" + p + b"v>", b"</" + p + b"v></" + p + b"c>"
        self.date_styles, self.date1904 = date_styles, date1904
        self.c_r = b"<" + p + b'c r="'
        self._ref_at = len(self.c_r)
        self.known: dict[tuple[bytes | None, str], bytes] = {}

    def cell(self, ref: bytes, style: bytes | None, value: Any) -> bytes:
        """The cell's XML; b'' for an empty cell without a style (no element at all)."""
        if type(value) is str and len(value) <= XLSX_MAX_CHARS:
            rest = self.text_rest(style, value)
            return self.c_r + ref + rest if rest else b""
        return self._cell(ref, style, value)

    def text_rest(self, style: bytes | None, value: str) -> bytes:
        """A text cell's XML after `<c r="REF` (b'' for '' without a style). A column's values
        repeat (a company, a language): their XML is made once."""
        key = (style, value)
        rest = self.known.get(key)
        if rest is None:
            if len(self.known) >= 4096:
                self.known.clear()
            rest = self.known[key] = self._text_rest(style, value)
        return rest

    def _text_rest(self, style: bytes | None, value: str) -> bytes:
        if (
            value
            and not self._is_date_style(style)  # there an ISO date becomes a date serial
            and not value[0].isspace()
            and not value[-1].isspace()
            and not _NEEDS_CARE(value)
        ):  # plain text, as _cell writes it, without its checks
            s = b' s="' + style + b'"' if style else b""
            return b'"' + s + b' t="inlineStr">' + self.is_open + value.encode() + self.is_close
        return self._cell(b"", style, value)[self._ref_at :]

    def _is_date_style(self, style: bytes | None) -> bool:
        return bool(style) and int(style) in self.date_styles

    def _cell(self, ref: bytes, style: bytes | None, value: Any) -> bytes:
        s = b' s="' + style + b'"' if style else b""
        head = b"<" + self.p + b'c r="' + ref + b'"' + s
        t = type(value)
        if t is str:
            if value == "":
                return head + b"/>" if style else b""
            if self._is_date_style(style) and (m := _ISO_RE.match(value)):
                try:
                    parts = [int(x) if x else 0 for x in m.groups()]
                    when = dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]
                except ValueError:
                    pass
                else:
                    return head + b">" + self.v_open + _number(_serial(when, self.date1904)) + self.v_close
            if len(value) > XLSX_MAX_CHARS:
                raise EngineError(
                    f"cell {ref.decode()} would hold {len(value):,} characters, more than an Excel cell's "
                    f"{XLSX_MAX_CHARS:,}: write a .csv output instead"
                )
            ws = value[0].isspace() or value[-1].isspace() or "\n" in value
            return (
                head
                + b' t="inlineStr">'
                + (self.is_open_ws if ws else self.is_open)
                + xml_text(value)
                + (self.is_close)
            )
        if t is bool:
            return head + b' t="b">' + self.v_open + (b"1" if value else b"0") + self.v_close
        if t is int or t is float:
            return head + b">" + self.v_open + _number(value) + self.v_close
        if isinstance(value, dt.date | dt.datetime):
            return head + b">" + self.v_open + _number(_serial(value, self.date1904)) + self.v_close
        return self._cell(ref, style, str(value))


_BAD_REF = re.compile(rb'<c r="(?![A-Z]{1,3}\d)').search
_FIRST_ROW = re.compile(rb'<row r="(\d+)">').match
_NEXT_ROWS = re.compile(rb'</c></row><row r="(\d+)">').findall


def _plain_cells(body: bytes, end: int) -> bool:
    """Whether each cell start in body[:end] is `<c r="` and a reference (no namespace prefix
    in the document): then the odd pattern of _Filler._cells_by_ref cannot match there. Every
    `<c` counted, cells or not, and no ':c' at all (a prefixed cell): when unsure, False."""
    return (
        body.count(b"<c", 0, end) == body.count(b'<c r="', 0, end)
        and body.find(b":c", 0, end) < 0
        and _BAD_REF(body, 0, end) is None
    )


def _letters_at_least(letters: str) -> str:
    """A regular expression for the column letters (A..XFD) at or after `letters`, followed by
    the row's digits in the pattern that uses it."""
    longer = f"[A-Z]{{{len(letters) + 1},3}}" if len(letters) < 3 else ""
    return "|".join(x for x in (_same_length_at_least(letters), longer) if x)


def _letters_below(letters: str) -> str:
    """A regular expression for the column letters before `letters` ('' for A: none)."""
    shorter = f"[A-Z]{{1,{len(letters) - 1}}}" if len(letters) > 1 else ""
    return "|".join(x for x in (_same_length_below(letters), shorter) if x)


def _same_length_below(letters: str) -> str:
    head, rest = letters[0], letters[1:]
    options = [f"[A-{chr(ord(head) - 1)}][A-Z]{{{len(rest)}}}"] if head > "A" else []
    if rest:
        inner = _same_length_below(rest)
        if inner:
            options.append(f"{head}(?:{inner})")
    return "|".join(options)


def _same_length_at_least(letters: str) -> str:
    head, rest = letters[0], letters[1:]
    if not rest:
        return f"[{head}-Z]"
    options = [f"{head}(?:{_same_length_at_least(rest)})"]
    if head < "Z":
        options.append(f"[{chr(ord(head) + 1)}-Z][A-Z]{{{len(rest)}}}")
    return "|".join(options)


# --- fill in place ------------------------------------------------------------------------


@dataclass
class FillResult:
    sheet: str
    columns: dict[str, str]  # header -> column letter
    rows: int = 0  # data rows the sheet holds
    cells_written: int = 0
    cells_cleared: int = 0
    rows_inserted: int = 0
    output_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rows_from_batches(batches: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """Per-batch target columns (pyarrow arrays or lists, None/null = keep) as per-row tuples."""
    for cols in batches:
        lists = [c.to_pylist() if hasattr(c, "to_pylist") else list(c) for c in cols]
        yield from zip(*lists, strict=True)


class _Filler:
    def __init__(self, info: SheetInfo, targets: list[int], rows: Iterable[Sequence[Any] | None]) -> None:
        self.info = info
        order = sorted(range(len(targets)), key=lambda i: targets[i])
        self.order = order  # value positions sorted by column
        self.tcols = [targets[i] for i in order]
        self.letters = [col_letters(c).encode() for c in self.tcols]
        self.values = iter(rows)
        self.next_index = 0  # data-row index the next value belongs to
        self.col_styles: dict[int, bytes] = {}
        self.heads: list[bytes] = []  # per target: b'<c r="' and its column letters
        self.styles: list[bytes | None] = []  # per target: its column's style, if any
        self.result = FillResult(info.sheet_name, {})
        self.writer: CellWriter | None = None
        self.layout: LayoutRecorder | None = None
        self.end_c = b"</c>"

    def _take(self, index: int) -> Iterator[tuple[int, Sequence[Any] | None]]:
        """Values for data rows next_index..index (inclusive)."""
        while self.next_index <= index:
            v = next(self.values, None)
            yield self.next_index, v
            self.next_index += 1

    def _head(self, head: bytes) -> None:
        for tag in _COL_RE.findall(head):
            a = dict(_ATTR_RE.findall(tag))
            if a.get(b"style", b"0") not in (b"0", b""):
                lo, hi = int(a.get(b"min", b"1")), int(a.get(b"max", b"1"))
                for c in self.tcols:
                    if lo <= c + 1 <= hi:
                        self.col_styles[c] = a[b"style"]

    def _new_row(self, number: int, values: Sequence[Any]) -> bytes:
        cells = b"".join(self._new_cells(number, values, 0, len(self.tcols), None))
        if not cells:
            return b""
        self.result.rows_inserted += 1
        return (
            b"<"
            + self.writer.p
            + b'row r="'
            + str(number).encode()
            + b'">'
            + cells
            + (b"</" + self.writer.p + b"row>")
        )

    def _new_cells(
        self, number: int, values: Sequence[Any], lo: int, hi: int, row_style: bytes | None
    ) -> list[bytes]:
        """The XML of the target cells lo..hi-1 a row does not have yet (none for a None value)."""
        num = str(number).encode()
        order, heads, styles = self.order, self.heads, self.styles
        cell, known = self.writer.cell, self.writer.known
        out = []
        written = 0
        for k in range(lo, hi):
            v = values[order[k]]
            if v is None:
                continue
            style = row_style or styles[k]
            if type(v) is str and (rest := known.get((style, v))) is not None:  # cell(), made before
                if rest:
                    written += v != ""
                    out.append(heads[k] + num + rest)
                continue
            xml = cell(self.letters[k] + num, style, v)
            if xml:
                written += v != ""
                out.append(xml)
        self.result.cells_written += written
        return out

    def fill_row(self, row: Row, values: Sequence[Any] | None) -> bytes:
        if values is None or (
            values.count(None) == len(values)
            if type(values) is tuple or type(values) is list
            else all(v is None for v in values)
        ):
            return row.raw
        attrs, content = row.attrs, row.content
        row_style = None
        if b"customFormat" in attrs and re.search(rb'customFormat="(1|true)"', attrs):
            sm = S_ATTR_RE.search(attrs)
            row_style = sm.group(1) if sm else None
        nt = len(self.tcols)
        body = content or b""
        first = self._first_span(body)
        if first < 0:  # every target after the row's last cell, which ends it: append them
            new_body = b"".join([body, *self._new_cells(row.number, values, 0, nt, row_style)])
        else:
            new_body = self._fill_cells(row, values, body, first, row_style)
        if new_body == body:
            return row.raw
        return self._row_xml(attrs, content, new_body)

    def _fill_cells(
        self, row: Row, values: Sequence[Any], body: bytes, first: int, row_style: bytes | None
    ) -> bytes:
        """The row's content with its target cells set, the cells from `first` on read in turn."""
        num = str(row.number).encode()
        out: list[bytes] = []
        tcols, nt = self.tcols, len(self.tcols)
        k = pos = last_end = 0
        for col, start, end, cattrs in cell_spans(body, self.end_c, first):
            last_end = end
            while k < nt and tcols[k] < col:
                out.append(body[pos:start])
                pos = start
                out.extend(self._new_cells(row.number, values, k, k + 1, row_style))
                k += 1
            if k >= nt:
                break
            if tcols[k] == col:
                v = values[self.order[k]]
                if v is not None:
                    sm = S_ATTR_RE.search(cattrs)
                    out.append(body[pos:start])
                    out.append(self.writer.cell(self.letters[k] + num, sm.group(1) if sm else None, v))
                    pos = end
                    if v == "":
                        self.result.cells_cleared += 1
                    else:
                        self.result.cells_written += 1
                k += 1
                if k >= nt:
                    break
        if k < nt:
            out.append(body[pos:last_end])
            pos = max(pos, last_end)
            out.extend(self._new_cells(row.number, values, k, nt, row_style))
        out.append(body[pos:])
        return b"".join(out)

    def _row_xml(self, attrs: bytes, content: bytes | None, new_body: bytes) -> bytes:
        """The row element around its new content, its spans widened to the target columns."""
        new_attrs = attrs[:-1] if content is None and attrs.endswith(b"/") else attrs
        sp = SPANS_RE.search(new_attrs)
        if sp and int(sp.group(2)) < self.tcols[-1] + 1:
            lo = min(int(sp.group(1)), self.tcols[0] + 1)
            new_attrs = (
                new_attrs[: sp.start()] + b' spans="%d:%d"' % (lo, self.tcols[-1] + 1) + new_attrs[sp.end() :]
            )
        p = self.writer.p
        return b"<" + p + b"row" + new_attrs + b">" + new_body + b"</" + p + b"row>"

    def _cells_by_ref(self, prefix: bytes) -> None:
        """The patterns that let a row's cells before the first target column go unread."""
        p = re.escape(prefix + b":" if prefix else b"")
        # The first of: a cell start other than <c r="B7" (another prefix, no reference,
        # attributes before r), or a cell at or after the first target column.
        odd = rb"(?P<odd><(?!" + p + rb'c r="[A-Z]{1,3}\d)' + _PFX + rb"c(?=[\s/>]))"
        at_least = _letters_at_least(self.letters[0].decode()).encode()
        self._odd_or_target = re.compile(odd + rb"|<" + p + rb'c r="(?:' + at_least + rb")\d").search
        self._cell_head = b"<" + (prefix + b":" if prefix else b"") + b'c r="'
        # Without a prefix, the same answer from searches for literal text, which run in C
        # (the pattern above tries its lookahead at every '<' of the row): see _first_span.
        self._plain = not prefix
        self._target = re.compile(rb'<c r="(?:' + at_least + rb")\d").search
        # For whole blocks (plain_rows), per target k: a cell start that is not `<c r="` and a
        # column before target k's (k = all targets: any column).
        self._other_cells = []
        for letters in [*self.letters, b""]:
            below = _letters_below(letters.decode()).encode() if letters else rb"[A-Z]{1,3}"
            other = rb'<c(?! r="(?:' + below + rb")\d)" if below else rb"<c"
            self._other_cells.append(re.compile(other).search)
        self._appended = 0  # the first target appended to the rows' ends in the last block

    def _first_span(self, body: bytes) -> int:
        """Where the cell loop starts in a row: every cell before the first target column only
        moves on, so when each cell names its column (r="B7", first, as Excel and Sales write
        it), the loop starts at the first cell at or after that column, else at the row's last
        cell (after which new cells go); -1 when that cell ends the row (nothing to read). A row
        with a cell not written so before its first target is read from 0."""
        if self._plain:
            t = self._target(body)
            before = t.start() if t is not None else len(body)
            if _plain_cells(body, before):
                if t is not None:
                    return before  # cells after the target are read in turn
                return self._after_last(body)
        m = self._odd_or_target(body)
        if m is not None:
            return 0 if m.group("odd") else m.start()  # cells after the target are read in turn
        return self._after_last(body)

    def _after_last(self, body: bytes) -> int:
        """No target cell in the row: where the new cells go, -1 after the row's last cell."""
        if body.endswith(self.end_c) or body.endswith(b"/>"):
            return -1  # the last cell ends the row: the targets go after it
        last = body.rfind(self._cell_head)
        return len(body) if last < 0 else last

    # --- whole runs of rows at once ---------------------------------------------------------
    #
    # The common re-export (Sales', xlsxwriter's, the tests'): every row `<row r="N">` of cells
    # `<c r="B7"`; the dual-write columns after the last cell, which the fill appends, and maybe
    # targets among the exported columns (a country), set in their own cells. A run of such rows
    # is filled column by column in list operations, with the same bytes as row by row; anything
    # else (spans, a row style, gaps, a prefix, a target cell after the last exported one) goes
    # row by row.

    def plain_rows(self, block: bytes) -> list[int] | None:
        """The first and last numbers of a block's rows when the whole block can be filled at
        once, else None. Each check is one scan of the block in C (a megabyte: about 1 ms)."""
        if not self._plain or self.values is None or not block.endswith(b"</c></row>"):
            return None
        first = _FIRST_ROW(block)
        # Rows back to back, each `<row r="N">` and ending with a cell: the boundaries
        # between rows are all `</c></row><row r="N">`, one fewer than the rows.
        numbers = _NEXT_ROWS(block)
        n = len(numbers) + 1
        if first is None or block.count(b"</row>") != n:
            return None
        appended = self._appended_from(block)
        if appended is None or block.find(b":c") >= 0:  # no prefixed cell either
            return None
        start = self.info.header_row + 1 + self.next_index
        numbers.insert(0, first.group(1))
        if list(map(int, numbers)) != list(range(start, start + n)):
            return None
        self._numbers, self._appended = numbers, appended
        return [start, start + n - 1]

    def _appended_from(self, block: bytes) -> int | None:
        """The first target k whose column and every later one's no cell of the block reaches,
        every cell being `<c r="B7"`: targets k.. are appended to each row's end, those before
        are set where they are. None: no such k. The last block's k is tried first (with the
        one before it, which must not do)."""
        fits, tried = self._other_cells, self._appended
        if fits[tried](block) is None and (tried == 0 or fits[tried - 1](block) is not None):
            return tried
        return next((k for k in range(len(fits)) if fits[k](block) is None), None)

    def fill_rows(self, block: bytes) -> tuple[bytes, list[int]]:
        """A plain block filled (plain_rows said so), and each new row's length."""
        nums = self._numbers
        n = len(nums)
        values: list[Sequence[Any] | None] = list(islice(self.values, n))
        values += [None] * (n - len(values))
        self.next_index += n
        bodies = block.split(b"</row>")[:n]
        if self._appended:
            self._set_in_place(bodies, values, nums)
        lengths = [len(b) + 6 for b in bodies]
        columns = []
        for k in range(self._appended, len(self.tcols)):
            cells = self._column_cells(k, values, nums)
            lengths = list(map(add, lengths, map(len, cells)))
            columns.append(cells)
        out = b"".join(chain.from_iterable(zip(bodies, *columns, repeat(b"</row>", n), strict=True)))
        return out, lengths

    def _set_in_place(
        self, bodies: list[bytes], values: list[Sequence[Any] | None], nums: list[bytes]
    ) -> None:
        """The targets before the appended ones, set in each row's own cell (its own style). A
        row without that cell, where a value is to be written, is filled as row by row does it
        (the new cell goes between its neighbours), and then takes nothing more here."""
        order, letters = self.order, self.letters
        for i, t in enumerate(values):
            if t is None:
                continue
            body = bodies[i]
            for k in range(self._appended):
                v = t[order[k]]
                if v is None:
                    continue
                ref = letters[k] + nums[i]
                start = body.find(b'<c r="' + ref + b'"')
                if start < 0:
                    raw, num = bodies[i], nums[i]  # `<row r="N">` and the cells
                    row = Row(int(num), b' r="' + num + b'"', raw[raw.index(b">") + 1 :], raw + b"</row>")
                    bodies[i] = self.fill_row(row, t)[:-6]
                    values[i] = None
                    break
                gt = body.find(b">", start)
                end = gt + 1 if body[gt - 1] == 47 else body.find(b"</c>", gt) + 4  # 47: '/'
                sm = S_ATTR_RE.search(body, start, gt)
                body = body[:start] + self.writer.cell(ref, sm.group(1) if sm else None, v) + body[end:]
                if v == "":
                    self.result.cells_cleared += 1
                else:
                    self.result.cells_written += 1
            else:
                bodies[i] = body

    def _column_cells(self, k: int, values: list[Sequence[Any] | None], nums: list[bytes]) -> list[bytes]:
        """Target k's new cell in each row of a block (b'' where it stays as it is)."""
        j, style, head, letters = self.order[k], self.styles[k], self.heads[k], self.letters[k]
        text_rest = self.writer.text_rest
        out: list[bytes] = []
        written = 0
        for t, num in zip(values, nums, strict=True):
            v = t[j] if t is not None else None
            if v is None:
                out.append(b"")
            elif type(v) is str and len(v) <= XLSX_MAX_CHARS:
                rest = text_rest(style, v)
                if rest:
                    written += v != ""
                    out.append(head + num + rest)
                else:
                    out.append(b"")
            else:  # a number, a date, a yes/no, or text too long (the error names the cell)
                xml = self.writer.cell(letters + num, style, v)
                if xml:
                    written += v != ""
                out.append(xml)
        self.result.cells_written += written
        return out

    def run(self, chunks: Iterable[bytes], progress: Callable[[int], None] | None) -> Iterator[bytes]:
        """The filled sheet's XML; `self.layout` records where its rows are as they go out."""
        header_row = self.info.header_row
        layout = self.layout = LayoutRecorder(header_row, rechunk=True)
        pending: list[bytes] = []
        for kind, piece in scan_sheet(chunks, self.info.path, self.plain_rows):
            if kind == "prefix":
                self.writer = CellWriter(piece, self.info.date_styles, self.info.date1904)
                self.end_c = self.writer.end_c
                self._cells_by_ref(piece)
            elif kind == "head":
                self._head(piece)
                self.heads = [self.writer.c_r + letters for letters in self.letters]
                self.styles = [self.col_styles.get(c) for c in self.tcols]
                layout.head(piece)
                yield piece
            elif kind == "rows":
                block, (first, last) = piece
                out, lengths = self.fill_rows(block)
                layout.rows_run((first, last), lengths)
                yield out
                done = self.result.rows
                self.result.rows = last - header_row
                if progress is not None:
                    for mark in range((done // 10000 + 1) * 10000, self.result.rows + 1, 10000):
                        progress(mark)
            elif kind == "row":
                if piece.number <= header_row:
                    layout.row(piece.number, piece.raw)
                    yield piece.raw
                    continue
                index = piece.number - header_row - 1
                if index == self.next_index:  # the row after the last (nothing pending): its values
                    self.next_index += 1
                    raw = self.fill_row(piece, next(self.values, None))
                    layout.row(piece.number, raw)
                    yield raw
                    self.result.rows = index + 1
                    if progress is not None and index % 10000 == 9999:
                        progress(index + 1)
                    continue
                for i, values in self._take(index):
                    if i < index:  # no <row> element for this data row: blank in the sheet
                        if values is not None and any(v not in (None, "") for v in values):
                            new = self._new_row(header_row + 1 + i, values)
                            if new:
                                layout.row(header_row + 1 + i, new)
                                pending.append(new)
                    else:
                        if pending:
                            yield b"".join(pending)
                            pending.clear()
                        raw = self.fill_row(piece, values)
                        layout.row(piece.number, raw)
                        yield raw
                self.result.rows = index + 1
                if progress is not None and index % 10000 == 9999:
                    progress(index + 1)
            elif kind == "tail":
                if self.values is not None:
                    self._check_rest()
                    self.values = None
                layout.tail(piece)
                yield piece
            else:
                layout.gap(piece)
                yield piece

    def _check_rest(self) -> None:
        extra = 0
        for values in self.values:
            if values is not None and any(v not in (None, "") for v in values):
                extra += 1
        if extra:
            raise EngineError(
                f"there are values for {extra:,} more rows than the sheet holds "
                f"({self.result.rows:,} data rows): fill the workbook the values were computed from"
            )


def fill_xlsx(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    columns: Sequence[int | str | Sequence[str]],
    rows: Iterable[Sequence[Any] | None],
    *,
    sheet: str | None = None,
    progress: Callable[[int], None] | None = None,
    compresslevel: int = 6,
) -> FillResult:
    """Write output_path: input_path with the target columns' cells set, and nothing else changed.

    columns: the target columns, each a 0-based index, a header, or a tuple of accepted headers
    (display name, logical name, ...; matched trimmed and without case). rows: one item per data
    row, in sheet order (the row under the header first): a sequence of values aligned with
    columns, or None to leave the row alone. A value None leaves its cell alone; '' empties it
    (its style stays); str, int, float, bool, date and datetime are written as such.
    A fatal problem (missing target column, more values than rows) raises EngineError and leaves
    nothing at output_path.
    """
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    if os.path.abspath(input_path) == os.path.abspath(output_path):
        raise EngineError("the output path is the input file: choose another output path")
    info = open_sheet(input_path, sheet)
    targets, missing = [], []
    for names in columns:
        i = info.column(names)
        if i is None:
            missing.append(
                names if isinstance(names, str) else str(names) if isinstance(names, int) else names[0]
            )
        targets.append(i)
    if missing:
        raise EngineError(
            f"the workbook's sheet {info.sheet_name!r} has no column {', '.join(map(repr, missing))}: add "
            f"{'it' if len(missing) == 1 else 'them'} to the view in Sales and export the table again"
        )
    if len(set(targets)) != len(targets):
        raise EngineError("two target columns are the same column of the workbook: name each column once")
    filler = _Filler(info, targets, rows)
    filler.result.columns = {
        (info.headers[c] if c < len(info.headers) else col_letters(c)): col_letters(c) for c in targets
    }
    out = AtomicFile(output_path)
    try:
        with out.open_bytes() as f:
            writer = PackageWriter(f, input_path)
            for member in info.members:
                if member.name == info.sheet_part:
                    chunks = filler.run(sheet_chunks(input_path, info.sheet_part), progress)
                    with quick_switches():
                        writer.stream(member, chunks, compresslevel)
                else:
                    writer.copy(member)
            writer.close()
        out.commit()
    except BaseException:
        out.abort()
        raise
    remember_layout(out.path, filler.layout.layout())  # cutting it into import parts reads it once
    filler.result.output_sha256 = sha256_file(out.path)
    return filler.result
