"""Fill a CSV in place: only the target fields change; the rest of every record stays as written.

The input's encoding (BOM or not), delimiter, a leading ``sep=`` line, each record's line end
and the quoting of untouched fields are kept: records are split on the raw text, so an
untouched field is copied character for character. A new value is quoted when it needs it
(delimiter, quote, line break) or when the field it replaces was quoted.

API::

    fill_csv(input_path, output_path, columns, rows, *, progress=None) -> CsvFillResult
    detect_csv(path) -> CsvFormat                       # encoding, BOM, delimiter, line end
    iter_records(path, fmt) -> Iterator[Record]         # raw records (header first), streamed
    split_fields(body, delimiter) -> list[str]          # raw fields of one record
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import EngineError
from .reading import SAMPLE_BYTES, detect_delimiter, detect_encoding, norm, sha256_file
from .writing import AtomicFile

READ_CHUNK = 1 << 20
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class CsvFormat:
    bom: bytes
    codec: str  # the body's codec, without BOM handling
    delimiter: str
    sep_line: bool  # a first line "sep=;" (Excel's delimiter hint)
    newline: str  # "\n" (LF or CRLF records) or "\r" (old Mac)

    @property
    def description(self) -> str:
        return f"{self.codec}{' with BOM' if self.bom else ''}, delimiter {self.delimiter!r}"


@dataclass
class Record:
    raw: str  # the record as written, line end included
    body: str  # without the line end
    end: str  # "\r\n", "\n", "\r" or "" (last record without a line end)


def detect_csv(path: str | os.PathLike[str]) -> CsvFormat:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise EngineError(f"input file {path!r} does not exist: check the path")
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    if not sample:
        raise EngineError(f"input file {os.path.basename(path)!r} is empty: export the table again")
    bom = next((b for b in _BOMS if sample.startswith(b)), b"")
    encoding = detect_encoding(sample)
    codec = {
        "utf-8-sig": "utf-8",
        "utf-16": "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be",
    }.get(encoding, encoding)
    body = sample[len(bom) :]
    if codec.startswith("utf-16") and len(body) % 2:
        body = body[:-1]
    text = body.decode(codec, errors="ignore")
    hint = re.match(r"sep=([,;\t|])\r?\n", text)
    delimiter = hint[1] if hint else detect_delimiter(text)
    newline = "\n" if "\n" in text or "\r" not in text else "\r"
    return CsvFormat(bom, codec, delimiter, bool(hint), newline)


def _text_chunks(path: str, fmt: CsvFormat) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(fmt.codec)()
    with open(path, "rb") as f:
        f.seek(len(fmt.bom))
        try:
            while data := f.read(READ_CHUNK):
                yield decoder.decode(data)
            yield decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise EngineError(
                f"the file's text is not all {fmt.codec}: save it in Excel as 'CSV UTF-8 (Comma delimited)' "
                "and upload again"
            ) from None


def iter_records(path: str | os.PathLike[str], fmt: CsvFormat) -> Iterator[Record]:
    """Raw records in file order (the sep= line, if any, first): a quoted field may span lines."""
    nl = fmt.newline
    buf, pos = "", 0
    chunks = _text_chunks(os.fspath(path), fmt)
    eof = False
    while True:
        while True:
            end = buf.find(nl, pos)
            if end < 0:
                break
            # A record is complete when its quotes balance (RFC 4180 doubles quotes in fields).
            quotes = buf.count('"', pos, end)
            while quotes % 2:
                nxt = buf.find(nl, end + 1)
                if nxt < 0:
                    break
                quotes += buf.count('"', end, nxt)
                end = nxt
            if quotes % 2:
                break
            raw = buf[pos : end + 1]
            line_end = "\r\n" if nl == "\n" and raw.endswith("\r\n") else nl
            yield Record(raw, raw[: -len(line_end)], line_end)
            pos = end + 1
        if eof:
            if pos < len(buf):
                raw = buf[pos:]
                if raw.count('"') % 2:
                    raise EngineError(
                        "the CSV ends inside a quoted field: the file is cut off; export it again"
                    )
                yield Record(raw, raw, "")
            return
        buf = buf[pos:]
        pos = 0
        chunk = next(chunks, None)
        if chunk is None:
            eof = True
        else:
            buf += chunk


_FIELD_RES: dict[str, re.Pattern[str]] = {}


def split_fields(body: str, delimiter: str) -> list[str]:
    """The raw fields of one record: quotes kept, so each can be written back as it was."""
    if '"' not in body:
        return body.split(delimiter)
    pattern = _FIELD_RES.get(delimiter)
    if pattern is None:
        d = re.escape(delimiter)
        pattern = _FIELD_RES[delimiter] = re.compile(rf'(?:"[^"]*"|[^{d}"]+)*')
    fields, pos, n = [], 0, len(body)
    while True:
        m = pattern.match(body, pos)
        fields.append(m.group())  # type: ignore[union-attr]
        pos = m.end()  # type: ignore[union-attr]
        if pos < n and body[pos] == delimiter:
            pos += 1
            continue
        break
    if pos != n:  # a stray quote inside an unquoted field: keep the rest as one field
        fields[-1] += body[pos:]
    return fields


def unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def quote(value: str, delimiter: str, always: bool = False) -> str:
    if always or delimiter in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class CsvFillResult:
    encoding: str
    delimiter: str
    columns: dict[str, int]  # header -> 0-based field index
    rows: int = 0
    cells_written: int = 0
    cells_cleared: int = 0
    output_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_header(path: str | os.PathLike[str], fmt: CsvFormat | None = None) -> list[str]:
    fmt = fmt or detect_csv(path)
    for i, rec in enumerate(iter_records(path, fmt)):
        if i == 0 and fmt.sep_line:
            continue
        return [unquote(f).strip() for f in split_fields(rec.body, fmt.delimiter)]
    raise EngineError("the file has no header row: export the table again")


def resolve_columns(headers: list[str], columns: Sequence[int | str | Sequence[str]], what: str) -> list[int]:
    normed = [norm(h) for h in headers]
    out, missing = [], []
    for names in columns:
        if isinstance(names, int):
            out.append(names)
            continue
        wanted = [names] if isinstance(names, str) else list(names)
        hit = next((normed.index(norm(n)) for n in wanted if norm(n) in normed), None)
        if hit is None:
            missing.append(wanted[0])
        out.append(hit)
    if missing:
        raise EngineError(
            f"{what} has no column {', '.join(map(repr, missing))}: add "
            f"{'it' if len(missing) == 1 else 'them'} to the view in Sales and export the table again"
        )
    return out  # type: ignore[return-value]


def fill_csv(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    columns: Sequence[int | str | Sequence[str]],
    rows: Iterable[Sequence[Any] | None],
    *,
    progress: Callable[[int], None] | None = None,
) -> CsvFillResult:
    """Write output_path: input_path with the target columns' fields set, and nothing else changed.

    columns and rows as for ``fill_xlsx``: one item per data record (empty lines, which the
    reader skips, take none), a value None keeps the field, '' empties it; other values are
    written as their text.
    """
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    if os.path.abspath(input_path) == os.path.abspath(output_path):
        raise EngineError("the output path is the input file: choose another output path")
    fmt = detect_csv(input_path)
    headers = read_header(input_path, fmt)
    targets = resolve_columns(headers, columns, f"{os.path.basename(input_path)!r}")
    result = CsvFillResult(
        fmt.description, fmt.delimiter, {headers[i]: i for i in targets if i < len(headers)}
    )
    d = fmt.delimiter
    values_it = iter(rows)
    out = AtomicFile(output_path)
    try:
        with out.open_bytes() as f:
            f.write(fmt.bom)
            encoder = codecs.getincrementalencoder(fmt.codec)()
            pending: list[str] = []
            size = 0
            header_seen = False
            skip = 1 if fmt.sep_line else 0
            for rec in iter_records(input_path, fmt):
                text = rec.raw
                if skip:
                    skip -= 1
                elif not header_seen:
                    header_seen = True
                elif rec.body:  # the reader skips empty lines: they take no values
                    values = next(values_it, None)
                    result.rows += 1
                    if values is not None and any(v is not None for v in values):
                        text = _fill_record(rec, values, targets, d, result)
                    if progress is not None and result.rows % 50000 == 0:
                        progress(result.rows)
                pending.append(text)
                size += len(text)
                if size >= READ_CHUNK:
                    f.write(_encode(encoder, "".join(pending)))
                    pending, size = [], 0
            f.write(_encode(encoder, "".join(pending), final=True))
            extra = sum(1 for v in values_it if v is not None and any(x not in (None, "") for x in v))
            if extra:
                raise EngineError(
                    f"there are values for {extra:,} more rows than the file holds ({result.rows:,} data "
                    "rows): fill the file the values were computed from"
                )
        out.commit()
    except BaseException:
        out.abort()
        raise
    result.output_sha256 = sha256_file(out.path)
    return result


def _encode(encoder: codecs.IncrementalEncoder, text: str, final: bool = False) -> bytes:
    try:
        return encoder.encode(text, final)
    except UnicodeEncodeError as e:
        bad = e.object[max(0, e.start - 20) : e.end + 20]
        raise EngineError(
            f"a value cannot be written in the file's encoding {e.encoding} (near {bad!r}): "
            "save the export as 'CSV UTF-8' in Excel and run again"
        ) from None


def _fill_record(
    rec: Record, values: Sequence[Any], targets: list[int], d: str, result: CsvFillResult
) -> str:
    fields = split_fields(rec.body, d)
    for v, i in zip(values, targets, strict=True):
        if v is None:
            continue
        if i >= len(fields):
            fields.extend([""] * (i + 1 - len(fields)))
        old = fields[i]
        text = v if isinstance(v, str) else str(v)
        fields[i] = quote(text, d, always=old.startswith('"') and text != "")
        if text:
            result.cells_written += 1
        elif old:
            result.cells_cleared += 1
    return d.join(fields) + rec.end
