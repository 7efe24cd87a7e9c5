"""Copy chosen data rows of an export into a new file of the same shape.

Used for the "issues file": the rows a consultant must fix, with the source's
headers, hidden columns and cell values, ready to be corrected and uploaded again.
People open that file in Excel, so the web app writes it as xlsx with every cell
a string (`as_text`): a CSV cell such as `=HYPERLINK(...)` would run as a formula.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping

import pyarrow as pa

from .reading import ISSUES_COLUMN, Batch, Source, cell_text, open_source
from .writing import open_writer


def picked_rows(source: Source, wanted: list[int]) -> Iterator[tuple[Batch, list[int]]]:
    """Each batch with the positions in it of the `wanted` data rows (sorted, 1 = first row under
    the header); stops reading once the last wanted row is passed."""
    position = 0
    for batch in source.batches():
        first, last = batch.start + 1, batch.start + batch.num_rows
        picked = []
        while position < len(wanted) and wanted[position] <= last:
            if wanted[position] >= first:
                picked.append(wanted[position] - first)
            position += 1
        yield batch, picked
        if position >= len(wanted):
            return


def write_rows(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    rows: Iterable[int],
    *,
    as_text: bool = False,
    notes: Mapping[int, str] | None = None,
) -> int:
    """Write the data rows numbered `rows` (1 = first row under the header); returns how many.

    `as_text`: every cell as the text a CSV would hold (xlsx dates and numbers included).
    `notes`: row number -> what is wrong in it, written in a last column (`ISSUES_COLUMN`) that
    the readers leave out when the fixed file comes back.
    """
    wanted = sorted(set(rows))
    source = open_source(input_path)
    headers = [*source.headers, ISSUES_COLUMN] if notes is not None else source.headers
    writer = open_writer(os.fspath(output_path), headers, source.hidden, "Issues")
    written = 0
    try:
        for batch, picked in picked_rows(source, wanted):
            first = batch.start + 1
            if picked:
                said = None if notes is None else [notes.get(first + i, "") for i in picked]
                _write_picked(writer, batch, picked, len(source.headers), as_text, said)
                written += len(picked)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return written


def _write_picked(
    writer, batch, picked: list[int], width: int, as_text: bool, said: list[str] | None
) -> None:
    extra = [] if said is None else [said]
    if batch.arrow is not None:  # CSV: already text
        taken = batch.arrow.take(pa.array(picked, pa.int64()))
        notes = [pa.array(column, pa.string()) for column in extra]
        writer.write_columns([taken.column(i) for i in range(width)] + notes)
        return
    rows = [[cell_text(v) for v in batch.rows[i]] if as_text else list(batch.rows[i]) for i in picked]
    if said is not None:
        rows = [[*row[:width], note] for row, note in zip(rows, said, strict=True)]
    writer.write_rows(rows, width + len(extra))
