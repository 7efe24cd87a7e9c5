"""Copy chosen data rows of an export into a new file of the same shape.

Used for the "issues file": the rows a consultant must fix, with the source's
headers, hidden columns and cell values, ready to be corrected and uploaded again.
People open that file in Excel, so the web app writes it as xlsx with every cell
a string (`as_text`): a CSV cell such as `=HYPERLINK(...)` would run as a formula.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..files.reading import ISSUES_COLUMN, Batch, Source, cell_text, open_source
from ..files.writing import open_writer
from ..files.xlsx_text import TextXlsxWriter
from ..rules.report import IssueLog

_NOTES_TYPE = pa.dictionary(pa.int32(), pa.string())


@dataclass
class RowNotes:
    """Data row -> what is wrong in it (the issues file's last column), for a million rows:
    the sorted row numbers and their notes as arrow text, a quarter of a dict of Python strings."""

    rows: np.ndarray  # int64, sorted, unique
    # One per row, dictionary-encoded: a million rows share a few thousand distinct notes (the
    # same issue on the same value), so they cost 4 bytes a row, not their text.
    notes: pa.Array | pa.ChunkedArray

    @classmethod
    def from_chunks(cls, chunks: Iterable[tuple[list[int], list[str]]]) -> RowNotes:
        """From (rows, notes) chunks in any order; a row's several notes joined with "; " in the
        order given."""
        rows, notes = [], []
        for chunk_rows, chunk_notes in chunks:
            rows.append(np.asarray(chunk_rows, np.int64))
            # Encoded a chunk at a time: a million notes are never all text at once (~130 MB).
            notes.append(pa.array(chunk_notes, pa.string()).dictionary_encode())
        every = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        # One dictionary for every chunk: each batch's lookup then needs no merging of them.
        encoded = pa.chunked_array(notes, _NOTES_TYPE).unify_dictionaries()
        if np.all(every[1:] > every[:-1]):  # the usual: in row order, one note a row
            return cls(every, encoded)
        said = pa.chunked_array([c.dictionary_decode() for c in encoded.chunks], pa.string())
        order = np.argsort(every, kind="stable")
        every, said = every[order], said.take(pa.array(order)).combine_chunks()
        unique, first, count = np.unique(every, return_index=True, return_counts=True)
        joined = said.take(pa.array(first))
        several = np.flatnonzero(count > 1)
        if len(several):  # a row with more than one issue
            fixed = [
                "; ".join(said.slice(a, n).to_pylist())
                for a, n in zip(first[several].tolist(), count[several].tolist(), strict=True)
            ]
            mask = np.zeros(len(unique), bool)
            mask[several] = True
            joined = pc.replace_with_mask(joined, pa.array(mask), pa.array(fixed, pa.string()))
        return cls(unique, joined.dictionary_encode())

    @classmethod
    def from_mapping(cls, notes: Mapping[int, str]) -> RowNotes:
        return cls.from_chunks([(list(notes), list(notes.values()))])

    def __len__(self) -> int:
        return len(self.rows)


def row_notes(issues: IssueLog, file: str | None = None, exclude: frozenset[str] = frozenset()) -> RowNotes:
    """Data row -> what is wrong in it, in words ("Warning, Currency: ..."): the issues file's last
    column. `file`: only the rows of that part; `exclude`: codes whose rows are another file's.
    Built from the issues' arrow tables: a million notes never are Python strings."""
    skip = pa.array(sorted(exclude), pa.string())

    def chunks() -> Iterator[tuple[np.ndarray, pa.Array]]:
        for table in issues.iter_tables():
            keep = pc.invert(pc.is_in(table["code"], value_set=skip))
            if file is not None:  # an issue naming no file is the one file's
                keep = pc.and_(keep, pc.fill_null(pc.equal(table["file"], file), True))
            kept = table.filter(keep)
            column = kept["column"]
            where = pc.if_else(pc.equal(column, ""), "", pc.binary_join_element_wise(column, ": ", ""))
            severity = pc.utf8_capitalize(kept["severity"])
            notes = pc.binary_join_element_wise(severity, ", ", where, kept["message"], "")
            yield kept["row"].to_numpy(), notes.combine_chunks()

    return RowNotes.from_chunks(chunks())


def picked_rows(source: Source, wanted: Sequence[int] | np.ndarray) -> Iterator[tuple[Batch, np.ndarray]]:
    """Each batch with the positions in it of the `wanted` data rows (sorted, 1 = first row under
    the header); stops reading once the last wanted row is passed. Found by binary search: a
    million wanted rows are never a million Python integers."""
    wanted = np.asarray(wanted, np.int64)
    if not len(wanted):  # nothing to copy: the file is not read (a job without issues, say)
        return
    for batch in source.batches():
        first, last = batch.start + 1, batch.start + batch.num_rows
        begin, end = np.searchsorted(wanted, [first, last + 1])
        yield batch, wanted[begin:end] - first
        if end >= len(wanted):
            return


def write_rows(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    rows: Iterable[int],
    *,
    as_text: bool = False,
    notes: Mapping[int, str] | RowNotes | None = None,
) -> int:
    """Write the data rows numbered `rows` (1 = first row under the header); returns how many.

    `as_text`: every cell as the text a CSV would hold (xlsx dates and numbers included).
    `notes`: row number -> what is wrong in it, written in a last column (`ISSUES_COLUMN`) that
    the readers leave out when the fixed file comes back.
    """
    wanted = np.unique(np.fromiter(rows, np.int64))
    if notes is not None and not isinstance(notes, RowNotes):
        notes = RowNotes.from_mapping(notes)
    source = open_source(input_path)
    headers = [*source.headers, ISSUES_COLUMN] if notes is not None else source.headers
    output_path = os.fspath(output_path)
    if as_text and output_path.lower().endswith(".xlsx"):  # text cells: rendered a batch at a time
        writer = TextXlsxWriter(output_path, headers, source.hidden, "Issues")
    else:
        writer = open_writer(output_path, headers, source.hidden, "Issues")
    written = 0
    try:
        for batch, picked in picked_rows(source, wanted):
            first = batch.start + 1
            if len(picked):
                said = None if notes is None else _notes_of(notes, first, picked)
                _write_picked(writer, batch, picked, len(source.headers), as_text, said)
                written += len(picked)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return written


def _notes_of(notes: RowNotes, first: int, picked: np.ndarray) -> pa.Array:
    """The picked rows' notes; a wanted row without a note has an empty one."""
    rows = np.asarray(picked, np.int64) + first
    if not len(notes):
        return pa.array([""] * len(rows), pa.string())
    at = np.minimum(np.searchsorted(notes.rows, rows), len(notes) - 1)
    found = notes.notes.take(pa.array(at))
    if isinstance(found, pa.ChunkedArray):
        found = found.combine_chunks()
    if pa.types.is_dictionary(found.type):
        found = found.dictionary_decode()
    return pc.if_else(pa.array(notes.rows[at] == rows), found, "")


def _write_picked(
    writer, batch, picked: np.ndarray, width: int, as_text: bool, said: pa.Array | None
) -> None:
    extra = [] if said is None else [said]
    if batch.arrow is not None:  # CSV: already text
        taken = batch.arrow.take(pa.array(picked, pa.int64()))
        writer.write_columns([taken.column(i) for i in range(width)] + extra)
        return
    rows = [[cell_text(v) for v in batch.rows[i]] if as_text else list(batch.rows[i]) for i in picked]
    if said is not None:
        rows = [[*row[:width], note] for row, note in zip(rows, said.to_pylist(), strict=True)]
    writer.write_rows(rows, width + len(extra))
