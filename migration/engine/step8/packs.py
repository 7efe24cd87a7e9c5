"""Import packs: outputs cut to the Import data wizard's file limit, and the pack's manifest.

The wizard takes files of at most 8 MB (p2c-rules.md, "Import packs"). An output that is
larger is cut into ``STEM_part01.xlsx``, ``STEM_part02.xlsx`` ... each a complete file of the
same shape: an xlsx part is the whole workbook (every other sheet, styles, validations, the
hidden columns, copied raw) with the header row and a slice of the data rows, renumbered
from row 2, and the sheet's ranges (dimension, filter, validations, the filter's defined
name) cut to the slice; a CSV part is the file's BOM, ``sep=`` line and header plus whole
records. Rows keep input order; none is lost or repeated.

An xlsx is cut in one read of its sheet (``xlsx_cut``), each part written as the read crosses
its last row; right after a fill, the fill's record of where the rows are spares the read that
sizes them. A sheet with text between its rows (never written by Excel or Sales) is cut the
older way, one pass to size the rows and one per part: the same parts either way.

API::

    split_for_import(path, *, part_mb=8, out_dir=None) -> list[PackPart]
    copy_xlsx_rows(src, dst, keep) -> int          # a workbook with only the kept data rows
    copy_csv_rows(src, dst, keep) -> int
    write_manifest(folder, files) -> (txt_path, json_path)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import EngineError
from ..files.csv_inplace import CsvFormat, detect_csv, iter_records
from ..files.reading import sha256_file
from ..files.writing import AtomicFile
from ..files.xlsx_sheet import SheetInfo, SheetLayout, open_sheet, scan_sheet, sheet_chunks, sheet_layout
from ..files.zipraw import PackageWriter, read_member
from ..tables import TABLES
from .xlsx_cut import Cuts, write_parts

DEFAULT_PART_MB = 8
MB = 1 << 20

# The order the contract gives for importing (p2c-rules.md, "Import packs"), which is also the
# order step 9 syncs them in: parties before contacts, quotes before the orders made from them,
# headers before their lines. The UI lists tables in the engine's order; the pack is imported.
IMPORT_ORDER = tuple(
    t.key for t in sorted(TABLES.values(), key=lambda t: t.import_position or 0) if t.import_position
)


@dataclass
class PackPart:
    path: str
    rows: int
    first_row: int  # data-row numbers in the unsplit output (1 = first row under the header)
    last_row: int
    part: int | None = None  # None: the output was not split
    sha256: str = ""
    size: int = 0

    @property
    def file(self) -> str:
        return os.path.basename(self.path)


# --- xlsx -------------------------------------------------------------------------------

_REF_ATTR_RE = re.compile(rb'(\s(?:sq)?ref=")([^"]*)(")')
_SQREF_EL_RE = re.compile(rb"(<(?:[A-Za-z_][\w.-]*:)?sqref>)([^<]*)(</)")
_CELL_REF_RE = re.compile(rb"(\$?[A-Z]{1,3}\$?)(\d+)")
_ROW_NUM_RE = re.compile(rb'(\sr="[A-Z]{0,3})(\d+)(")')


def _cut_ranges(text: bytes, header_row: int, last_row: int) -> bytes:
    """A space-separated list of ranges cut to the slice: a range that starts in the data rows
    starts at the first data row, one that ends in them ends at the slice's last row. Ranges
    within the header rows and single cells stay as they are."""
    out = []
    for rng in text.split(b" "):
        a, sep, b = rng.partition(b":")
        ma, mb = _CELL_REF_RE.fullmatch(a), _CELL_REF_RE.fullmatch(b) if sep else None
        if ma is None or mb is None:
            out.append(rng)
            continue
        r1, r2 = int(ma.group(2)), int(mb.group(2))
        if r1 > header_row:
            r1 = header_row + 1
        if r2 > header_row:
            r2 = max(last_row, r1)
        out.append(ma.group(1) + str(r1).encode() + b":" + mb.group(1) + str(r2).encode())
    return b" ".join(out)


def _cut_tail(tail: bytes, header_row: int, last_row: int) -> bytes:
    tail = _REF_ATTR_RE.sub(
        lambda m: m.group(1) + _cut_ranges(m.group(2), header_row, last_row) + m.group(3), tail
    )
    return _SQREF_EL_RE.sub(
        lambda m: m.group(1) + _cut_ranges(m.group(2), header_row, last_row) + m.group(3), tail
    )


def _cut_head(head: bytes, header_row: int, last_row: int) -> bytes:
    m = re.search(rb'(<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref=")([^"]*)(")', head)
    if not m:
        return head
    return head[: m.start(2)] + _cut_ranges(m.group(2), header_row, last_row) + head[m.end(2) :]


def _sheet_slice(info: SheetInfo, keep: Callable[[int], bool], total: int) -> Iterator[bytes]:
    """The sheet with the header row(s) and the kept data rows, renumbered; total = rows kept."""
    header_row = info.header_row
    last_row = header_row + total
    new = header_row
    for kind, piece in scan_sheet(sheet_chunks(info.path, info.sheet_part), info.path):
        if kind == "head":
            yield _cut_head(piece, header_row, last_row)
        elif kind == "row":
            if piece.number <= header_row:
                yield piece.raw
            elif keep(piece.number - header_row - 1):
                new += 1
                if new == piece.number:
                    yield piece.raw
                    continue
                num = str(new).encode()
                yield _ROW_NUM_RE.sub(lambda m, num=num: m.group(1) + num + m.group(3), piece.raw)
        elif kind == "tail":
            yield _cut_tail(piece, header_row, last_row)
        elif kind == "gap":
            yield piece


def _workbook_xml(info: SheetInfo, last_row: int) -> bytes | None:
    """workbook.xml with the data sheet's defined names (e.g. the filter range) cut; None: unchanged."""
    xml = read_member(info.path, info.members, "xl/workbook.xml")
    if xml is None:
        return None
    name = re.escape(info.sheet_name.encode("utf-8")).replace(b"'", b"''")
    ref_re = re.compile(rb"((?:'" + name + rb"'|" + name + rb")!)([$A-Z0-9:]+)")

    def fix(m: re.Match[bytes]) -> bytes:
        return m.group(1) + _cut_ranges(m.group(2), info.header_row, last_row)

    new = re.sub(
        rb"(<(?:[A-Za-z_][\w.-]*:)?definedName\b[^>]*>)([^<]*)(</)",
        lambda m: m.group(1) + ref_re.sub(fix, m.group(2)) + m.group(3),
        xml,
    )
    return None if new == xml else new


def _count_rows(info: SheetInfo) -> tuple[int, list[int]]:
    """Data rows (by the last row number) and each data row's XML size, for sizing parts."""
    sizes: list[int] = []
    rows = 0
    for kind, piece in scan_sheet(sheet_chunks(info.path, info.sheet_part), info.path):
        if kind == "row" and piece.number > info.header_row:
            index = piece.number - info.header_row - 1
            while len(sizes) < index:
                sizes.append(0)
            sizes.append(len(piece.raw))
            rows = index + 1
    return rows, sizes


def copy_xlsx_rows(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    keep: Container[int] | range,
    *,
    total: int | None = None,
) -> int:
    """Write dst: the workbook src with only the data rows whose 0-based index is in keep.

    Every other part is copied raw; the data sheet keeps its header and the kept rows, in
    order, renumbered from the row under the header. Returns the rows written.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    info = open_sheet(src)
    if total is None:
        rows, _ = _count_rows(info)
        total = sum(1 for i in range(rows) if i in keep)
    return _write_slice(info, dst, keep.__contains__, total)


def _write_slice(info: SheetInfo, dst: str, keep: Callable[[int], bool], total: int) -> int:
    wb_xml = _workbook_xml(info, info.header_row + total)
    out = AtomicFile(dst)
    try:
        with out.open_bytes() as f:
            writer = PackageWriter(f, info.path)
            for member in info.members:
                if member.name == info.sheet_part:
                    writer.stream(member, _sheet_slice(info, keep, total))
                elif member.name == "xl/workbook.xml" and wb_xml is not None:
                    writer.stream(member, [wb_xml])
                else:
                    writer.copy(member)
            writer.close()
        out.commit()
    except BaseException:
        out.abort()
        raise
    return total


def _split_xlsx(path: str, out_dir: str, stem: str, ext: str, limit: int) -> list[PackPart]:
    info = open_sheet(path)
    sheet = next(m for m in info.members if m.name == info.sheet_part)
    fixed = os.path.getsize(path) - sheet.compressed  # the other parts and the directory
    ratio = sheet.compressed / max(sheet.size, 1)  # compressed bytes per XML byte
    if fixed + 4096 >= limit:
        raise EngineError(
            f"the workbook's other parts alone take {fixed / MB:.1f} MB, more than the {limit / MB:g} MB "
            "limit per file: raise the part size or import CSV"
        )
    budget = (limit - fixed - 4096) / ratio * 0.97  # XML bytes that should fit
    layout = sheet_layout(info)
    if layout is not None:
        return _cut_in_one_pass(info, layout, out_dir, stem, ext, limit, budget)
    rows, sizes = _count_rows(info)
    parts: list[PackPart] = []
    start = 0
    try:
        while start < rows:
            end, used = start, 0
            while end < rows and (used + sizes[end] <= budget or end == start):
                used += sizes[end]
                end += 1
            while True:
                target = os.path.join(out_dir, f"{stem}_part{len(parts) + 1:02d}{ext}")
                lo, hi = start, end
                _write_slice(info, target, lambda i, lo=lo, hi=hi: lo <= i < hi, end - start)
                size = os.path.getsize(target)
                if size <= limit:
                    break
                if end - start <= 1:
                    raise EngineError(
                        f"one row of {os.path.basename(path)!r} alone makes a file larger than "
                        f"{limit / MB:g} MB: raise the part size"
                    )
                end = start + max(1, int((end - start) * limit / size * 0.97))
            parts.append(
                PackPart(target, end - start, start + 1, end, len(parts) + 1, sha256_file(target), size)
            )
            start = end
    except BaseException:
        for p in parts:
            with contextlib.suppress(OSError):
                os.remove(p.path)
        raise
    return _renumber(parts)


_ROW_OWN_NUMBER = re.compile(rb'<row r="(\d+)"').match


def _renumbered(raw: bytes, new: int) -> bytes:
    """A row's XML with its number and its cells' references moved to row `new`."""
    own = _ROW_OWN_NUMBER(raw)
    if own is not None:
        # Where every `r="` is the row's own (first, matched above) or a cell's `<c r="`, and
        # each is followed by letters and the row's number (the number and a quote occur as
        # often as they do), a replace gives what the pattern gives, in C (the pattern takes
        # ~13 µs a row of 30 cells: most of a cut's Python). The number followed by a quote
        # anywhere else (a style s="N", a quote in a text) makes the counts differ: the
        # pattern then. Excel refuses a cell whose reference is not in its row.
        old = own.group(1) + b'"'
        refs = raw.count(b'r="')
        if raw.count(old) == refs == raw.count(b'<c r="') + 1:
            return raw.replace(old, str(new).encode() + b'"')
    pieces = _ROW_NUM_RE.split(raw)  # text, then the three groups of each match, ...
    pieces[2::4] = [str(new).encode()] * (len(pieces) // 4)
    return b"".join(pieces)


def _cut_in_one_pass(
    info: SheetInfo, layout: SheetLayout, out_dir: str, stem: str, ext: str, limit: int, budget: float
) -> list[PackPart]:
    written: list[tuple[str, int, int, int, int]] = []
    try:
        write_parts(
            info, layout, limit, lambda n: os.path.join(out_dir, f"{stem}_part{n:02d}{ext}"), budget,
            Cuts(_cut_head, _cut_tail, _renumbered, lambda last_row: _workbook_xml(info, last_row)), written,
        )  # fmt: skip
    except BaseException:
        for path, *_ in written:
            with contextlib.suppress(OSError):
                os.remove(path)
        raise
    parts = [PackPart(p, rows, first, last, n, sha256_file(p), size)
             for n, (p, rows, first, last, size) in enumerate(written, start=1)]  # fmt: skip
    return _renumber(parts)


# --- CSV --------------------------------------------------------------------------------


def _csv_prefix(path: str, fmt: CsvFormat) -> tuple[list[str], Iterator[Any]]:
    records = iter_records(path, fmt)
    prefix = []
    for _ in range(2 if fmt.sep_line else 1):
        rec = next(records, None)
        if rec is None:
            raise EngineError("the file has no header row: nothing to split")
        prefix.append(rec.raw)
    if prefix and not prefix[-1].endswith(("\n", "\r")):
        prefix[-1] += "\r\n"
    return prefix, records


def copy_csv_rows(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], keep: Container[int] | range
) -> int:
    """Write dst: the CSV src (same encoding, BOM, delimiter, header) with only the kept records."""
    src, dst = os.fspath(src), os.fspath(dst)
    fmt = detect_csv(src)
    prefix, records = _csv_prefix(src, fmt)
    out = AtomicFile(dst)
    written = 0
    try:
        with out.open_bytes() as f:
            f.write(fmt.bom + "".join(prefix).encode(fmt.codec))
            index = 0
            for rec in records:
                if not rec.body:
                    continue
                if index in keep:
                    f.write(rec.raw.encode(fmt.codec))
                    written += 1
                index += 1
        out.commit()
    except BaseException:
        out.abort()
        raise
    return written


def _split_csv(path: str, out_dir: str, stem: str, ext: str, limit: int) -> list[PackPart]:
    fmt = detect_csv(path)
    prefix, records = _csv_prefix(path, fmt)
    head = fmt.bom + "".join(prefix).encode(fmt.codec)
    if len(head) >= limit:
        raise EngineError(f"the header alone is larger than {limit / MB:g} MB: raise the part size")
    parts: list[PackPart] = []
    current: dict[str, Any] = {}

    def close() -> None:
        f, out = current["f"], current["out"]
        f.close()
        out.commit()
        size = os.path.getsize(out.path)
        first = current["first"]
        parts.append(PackPart(out.path, current["rows"], first, first + current["rows"] - 1, len(parts) + 1,
                              sha256_file(out.path), size))  # fmt: skip
        current.clear()

    def open_part(first: int) -> None:
        out = AtomicFile(os.path.join(out_dir, f"{stem}_part{len(parts) + 1:02d}{ext}"))
        f = out.open_bytes()  # closed in close()
        f.write(head)
        current.update(out=out, f=f, size=len(head), rows=0, first=first)

    index = 0
    try:
        for rec in records:
            if not rec.body:
                continue
            data = (rec.raw if rec.end else rec.raw + "\r\n").encode(fmt.codec)
            if len(head) + len(data) > limit:
                raise EngineError(
                    f"data row {index + 1} alone makes a file larger than {limit / MB:g} MB: "
                    "raise the part size"
                )
            if current and current["size"] + len(data) > limit:
                close()
            if not current:
                open_part(index + 1)
            current["f"].write(data)
            current["size"] += len(data)
            current["rows"] += 1
            index += 1
        if current:
            close()
    except BaseException:
        if current:
            current["f"].close()
            current["out"].abort()
        for p in parts:
            with contextlib.suppress(OSError):
                os.remove(p.path)
        raise
    return _renumber(parts)


def _renumber(parts: list[PackPart]) -> list[PackPart]:
    for i, p in enumerate(parts, start=1):
        p.part = i
    return parts


# --- the pack ---------------------------------------------------------------------------


def split_for_import(
    path: str | os.PathLike[str],
    *,
    part_mb: float = DEFAULT_PART_MB,
    out_dir: str | os.PathLike[str] | None = None,
) -> list[PackPart]:
    """The files to import for one output: itself when it fits in part_mb, else its parts.

    Parts are written as STEM_partNN.EXT in out_dir (default: beside the output); the output
    itself is left in place. A failure leaves no part behind.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise EngineError(f"{path!r} does not exist: run the transformation first")
    if not part_mb or part_mb <= 0:
        raise EngineError(f"the part size must be a positive number of MB, not {part_mb!r}")
    limit = int(part_mb * MB)
    size = os.path.getsize(path)
    stem, ext = os.path.splitext(os.path.basename(path))
    if size <= limit:
        rows = _rows_of(path, ext.lower())
        return [PackPart(path, rows, 1 if rows else 0, rows, None, sha256_file(path), size)]
    out_dir = os.fspath(out_dir) if out_dir is not None else os.path.dirname(os.path.abspath(path))
    if ext.lower() == ".xlsx":
        return _split_xlsx(path, out_dir, stem, ext, limit)
    if ext.lower() == ".csv":
        return _split_csv(path, out_dir, stem, ext, limit)
    raise EngineError(f"{os.path.basename(path)!r} is neither .csv nor .xlsx: nothing to split")


def _rows_of(path: str, ext: str) -> int:
    if ext == ".xlsx":
        return _count_rows(open_sheet(path))[0]
    fmt = detect_csv(path)
    _, records = _csv_prefix(path, fmt)
    return sum(1 for r in records if r.body)


@dataclass
class PackFile:
    table: str
    part: PackPart
    format: str = ""  # "xlsx" | "csv"; default from the file name
    notes: list[str] = field(default_factory=list)

    def to_dict(self, order: int) -> dict[str, Any]:
        p = self.part
        return {
            "order": order,
            "table": self.table,
            "file": p.file,
            "part": p.part,
            "rows": p.rows,
            "first_row": p.first_row,
            "last_row": p.last_row,
            "bytes": p.size,
            "sha256": p.sha256,
            "wizard": wizard_choices(
                self.table, self.format or os.path.splitext(p.file)[1].lstrip(".").lower()
            ),
        }


def wizard_choices(table: str, fmt: str) -> str:
    """What to choose in the Import data wizard for one file of the pack."""
    name = getattr(TABLES.get(table), "import_name", "") or table
    if fmt == "xlsx":
        text = (
            f"Import from Excel: choose this file (record type {name}, taken from the workbook); "
            "data map: Default (Automatic mapping); the hidden record ID updates the existing records: "
            "import the file unchanged"
        )
    else:
        text = (
            f"Import from CSV: field delimiter Comma, data delimiter Quotation mark; record type {name}; "
            "data map: Default (Automatic mapping), then check every column is mapped"
        )
    if table in ("order", "quote"):
        text += "; map Invoice Customer to msdyn_invoicecustomerid by hand (two columns share that name)"
    return text


def write_manifest(folder: str | os.PathLike[str], files: Sequence[PackFile]) -> tuple[str, str]:
    """MANIFEST.txt and manifest.json for a pack: files in import order, then by part."""
    folder = os.fspath(folder)
    unknown = sorted({f.table for f in files} - set(IMPORT_ORDER))
    if unknown:
        raise EngineError(
            f"{', '.join(unknown)} is not imported (its table flows from Finance and Operations): "
            "leave it out of the pack"
        )
    ordered = sorted(files, key=lambda f: (IMPORT_ORDER.index(f.table), f.part.part or 0))
    entries = [f.to_dict(i) for i, f in enumerate(ordered, start=1)]
    data = {"import_order": list(IMPORT_ORDER), "files": entries}
    json_path, txt_path = os.path.join(folder, "manifest.json"), os.path.join(folder, "MANIFEST.txt")
    lines = [
        "Import pack: import the files in this order with the Import data wizard, one at a time,",
        "and wait for each import to finish before the next.",
        "",
    ]
    for e in entries:
        part = (
            f" (part {e['part']} of {sum(1 for x in entries if x['table'] == e['table'])})"
            if e["part"]
            else ""
        )
        lines += [
            f"{e['order']}. {e['file']}: {e['table']}{part}, {e['rows']:,} rows "
            f"(data rows {e['first_row']:,}-{e['last_row']:,})",
            f"   SHA-256 {e['sha256']}",
            f"   {e['wizard']}",
            "",
        ]
    for path, text in (
        (json_path, json.dumps(data, ensure_ascii=False, indent=1) + "\n"),
        (txt_path, "\r\n".join(lines)),
    ):
        out = AtomicFile(path)
        try:
            with open(out.tmp, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            out.commit()
        except BaseException:
            out.abort()
            raise
    return txt_path, json_path
