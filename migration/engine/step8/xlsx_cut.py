"""An xlsx import file cut into parts in one pass over its sheet (packs' xlsx split, faster).

The parts are the ones ``packs`` has always cut (same rows, same bytes): a part's rows are as
many as fit a budget of XML bytes, from the workbook's own compression ratio, and a part that
still comes out larger than the limit is cut shorter. Instead of one pass to size the rows and
then one pass over the whole sheet per part, the sheet is read twice: once for its layout (the
text before the rows, the header rows, where each data row starts, the text after the rows),
and once more reading the data rows in order, each part's sheet written as the read crosses
its last row (the other members copied raw). A layout the fill has just written is taken from
it (``remember_layout``), and then the sheet is read once. A sheet with text between its rows,
or rows out of order, which Excel and Sales never write, is left to the per-part rescans.

The layout comes from ``files.xlsx_sheet.sheet_layout`` (None: cut it the per-part way).

API::

    write_parts(info, layout, limit, target, budget, cuts, written)  # (path, rows, first, last, size)
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import EngineError
from ..files.writing import AtomicFile
from ..files.xlsx_sheet import SheetInfo, SheetLayout
from ..files.zipraw import PackageWriter

MB = 1 << 20
READ_BLOCK = 1 << 20  # inflated bytes of rows read at once


# --- writing the parts --------------------------------------------------------------------


@dataclass
class Cuts:
    """How a part's sheet and workbook are cut to its rows (packs' own functions)."""

    head: Callable[[bytes, int, int], bytes]  # (head, header_row, last_row): the dimension cut
    tail: Callable[[bytes, int, int], bytes]  # the ranges after the rows cut (filter, validations)
    renumber: Callable[[bytes, int], bytes]  # a row moved to another row number
    workbook_xml: Callable[[int], bytes | None]  # workbook.xml's defined names cut; None: unchanged


class _Rows:
    """The data rows' XML, read in order from the inflated sheet; `seek` back to cut a part again."""

    def __init__(self, path: str, part: str, layout: SheetLayout, start: int) -> None:
        """Opened at data row `start` (its element, or the next one's)."""
        self.zf = zipfile.ZipFile(path)
        self.f = self.zf.open(part)
        self.layout = layout
        self.seek(bisect_left(layout.indexes, start))

    def seek(self, k: int) -> None:
        starts = self.layout.starts
        at = starts[k] if k < len(starts) else self.layout.rows_end
        if at < self.f.tell():
            self.f.seek(0)
        # Forward a megabyte at a time: zipfile's own seek inflates 16 MB at a time, and those
        # blocks, freed, stay in the process (a 200,000-row cut peaked 90 MB higher).
        while (left := at - self.f.tell()) > 0:
            self.f.read(min(left, READ_BLOCK))
        self.k = k

    def runs(self, stop_index: int) -> Iterator[tuple[int, int, bytes]]:
        """(k, last, XML) of the row elements k..last-1, all before data row `stop_index`, a
        megabyte of rows at a time (a read per row would cost more than the rows' inflating)."""
        layout, f = self.layout, self.f
        starts = layout.starts
        stop = bisect_left(layout.indexes, stop_index, self.k)
        while self.k < stop:
            k = self.k
            last = min(bisect_left(starts, starts[k] + READ_BLOCK, k + 1), stop)
            yield k, last, f.read(self.end_of(last - 1) - starts[k])
            self.k = last

    def end_of(self, k: int) -> int:
        """Where row element k ends."""
        starts = self.layout.starts
        return starts[k + 1] if k + 1 < len(starts) else self.layout.rows_end

    def close(self) -> None:
        self.f.close()
        self.zf.close()


def write_parts(
    info: SheetInfo,
    layout: SheetLayout,
    limit: int,
    target: Callable[[int], str],
    budget: float,
    cuts: Cuts,
    written: list[tuple[str, int, int, int, int]],
) -> None:
    """Write the parts (target(n) names part n, from 1) into `written` as (path, rows, first,
    last, size); rows [start, end) by data-row index, `end` the first row over the budget.

    The parts as planned are written side by side, each with its own read of the sheet and its
    own deflate (zlib lets go of the GIL: two parts take the time of one on two cores). A part
    that comes out over the limit is cut shorter and the rest written again in turn, as the
    parts were always cut: the same files either way."""
    planned = _plan(layout, budget)
    with ThreadPoolExecutor(max_workers=min(len(planned), PARTS_AT_ONCE) or 1) as pool:
        futures = [
            pool.submit(_write_part_alone, info, layout, target(n), start, end, cuts)
            for n, (start, end) in enumerate(planned, start=1)
        ]
        done = [f.exception() or f.result() for f in futures]
    failed = next((d for d in done if isinstance(d, BaseException)), None)
    sizes = [d for d in done if not isinstance(d, BaseException)]
    if failed is not None:
        for n, d in enumerate(done, start=1):
            if not isinstance(d, BaseException):
                _remove(target(n))
        raise failed
    for n, ((start, end), size) in enumerate(zip(planned, sizes, strict=True), start=1):
        if size > limit:  # the rest in turn, from this part on
            for later in range(n, len(planned) + 1):
                _remove(target(later))
            _write_in_turn(info, layout, limit, target, budget, cuts, written, start)
            return
        written.append((target(n), end - start, start + 1, end, size))


PARTS_AT_ONCE = 2  # parts written side by side: a worker's two cores


def _plan(layout: SheetLayout, budget: float) -> list[tuple[int, int]]:
    planned, start = [], 0
    while start < layout.rows:
        end = _planned_end(layout, start, budget)
        planned.append((start, end))
        start = end
    return planned


def _write_part_alone(
    info: SheetInfo, layout: SheetLayout, path: str, start: int, end: int, cuts: Cuts
) -> int:
    """One part, from a read of the sheet of its own; its size."""
    rows_in = _Rows(info.path, info.sheet_part, layout, start)
    try:
        _write_part(info, layout, rows_in, path, start, end, cuts)
    finally:
        rows_in.close()
    return os.path.getsize(path)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def _write_in_turn(
    info: SheetInfo,
    layout: SheetLayout,
    limit: int,
    target: Callable[[int], str],
    budget: float,
    cuts: Cuts,
    written: list[tuple[str, int, int, int, int]],
    start: int,
) -> None:
    """The parts from data row `start` on, one after the other, each cut shorter while it
    comes out over the limit."""
    rows_in = _Rows(info.path, info.sheet_part, layout, start)
    try:
        while start < layout.rows:
            end = _planned_end(layout, start, budget)
            first_k = rows_in.k
            while True:
                path = target(len(written) + 1)
                _write_part(info, layout, rows_in, path, start, end, cuts)
                size = os.path.getsize(path)
                if size <= limit:
                    break
                if end - start <= 1:
                    raise EngineError(
                        f"one row of {os.path.basename(info.path)!r} alone makes a file larger than "
                        f"{limit / MB:g} MB: raise the part size"
                    )
                end = start + max(1, int((end - start) * limit / size * 0.97))
                rows_in.seek(first_k)
            written.append((path, end - start, start + 1, end, size))
            start = end
    finally:
        rows_in.close()


def _planned_end(layout: SheetLayout, start: int, budget: float) -> int:
    """As many rows from `start` as fit the budget (at least one): the first data row that does
    not fit. Rows without an element weigh nothing, so they stay with the rows before them."""
    indexes, n = layout.indexes, len(layout.indexes)
    k = bisect_left(indexes, start)
    used, i = 0, start
    while i < layout.rows:
        if k < n and indexes[k] == i:
            size = layout.size(k)
            if used + size > budget and i != start:
                return i
            used += size
            i += 1
            k += 1
        else:  # rows i.. up to the next element have no element
            if used > budget and i != start:
                return i
            i = indexes[k] if k < n else layout.rows
    return layout.rows


def _write_part(
    info: SheetInfo,
    layout: SheetLayout,
    rows_in: _Rows,
    path: str,
    start: int,
    end: int,
    cuts: Cuts,
) -> None:
    header_row = info.header_row
    last_row = header_row + (end - start)
    wb_xml = cuts.workbook_xml(last_row)

    def sheet() -> Iterator[bytes]:
        yield cuts.head(layout.head, header_row, last_row)
        yield layout.header_rows
        new = header_row  # the number of the part's last row so far
        indexes, starts = layout.indexes, layout.starts
        for k, last, block in rows_in.runs(end):
            # Rows that keep their numbers (the first part's, without blank rows) go as read.
            if header_row + 1 + indexes[k] == new + 1 and indexes[last - 1] - indexes[k] == last - 1 - k:
                new += last - k
                yield block
                continue
            base, rows = starts[k], []
            for j in range(k, last):
                raw = block[starts[j] - base : rows_in.end_of(j) - base]
                new += 1
                rows.append(raw if new == header_row + 1 + indexes[j] else cuts.renumber(raw, new))
            yield b"".join(rows)
        for piece in layout.tail:
            yield cuts.tail(piece, header_row, last_row)

    out = AtomicFile(path)
    try:
        with out.open_bytes() as f:
            writer = PackageWriter(f, info.path)
            for member in info.members:
                if member.name == info.sheet_part:
                    writer.stream(member, sheet())
                elif member.name == "xl/workbook.xml" and wb_xml is not None:
                    writer.stream(member, [wb_xml])
                else:
                    writer.copy(member)
            writer.close()
        out.commit()
    except BaseException:
        out.abort()
        raise
