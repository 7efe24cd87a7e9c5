"""The lists step 9 writes for people: a report's list (CSV or xlsx, every cell text) and the
rows of our own files, in their shape, that did not arrive (to fix and import or sync again)."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import pyarrow as pa

from ..files.formulas import neutralised
from ..files.reading import norm, open_source
from ..files.writing import open_writer
from ..step8.extract import picked_rows


def flat(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    # A list joined from several frames (keyed and unkeyed missing rows) is chunked; writers take arrays.
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def write_frame(df: pd.DataFrame, output_path: str | os.PathLike[str], sheet: str) -> int:
    """A report list as CSV or xlsx (by extension), every cell as text, atomically. A list is read
    by people in a spreadsheet: in a CSV, text that would run as a formula gets an apostrophe first
    (an xlsx holds text cells, which never run)."""
    columns = [flat(pa.array(df[c].astype("string[pyarrow]").fillna(""), pa.string())) for c in df.columns]
    if os.fspath(output_path).lower().endswith(".csv"):
        columns = [neutralised(c) for c in columns]
    writer = open_writer(os.fspath(output_path), [str(c) for c in df.columns], set(), sheet)
    try:
        if len(df):
            writer.write_columns(columns)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return len(df)


# --- writing rows in the source's shape --------------------------------------------------------


def write_source_rows(
    files: list[str], rows_by_part: dict[int, list[int]], output_path: str | os.PathLike[str]
) -> int:
    """Copy the numbered data rows of each part into one file with the first part's header.

    Parts of one table have the same columns, possibly in another order: each part's columns are
    put in the first part's order by name.
    """
    first = open_source(files[0])
    headers = list(first.headers)
    writer = open_writer(os.fspath(output_path), headers, set(first.hidden), "Missing")
    written = 0
    try:
        for part, wanted in sorted(rows_by_part.items()):
            written += _copy_rows(files[part], wanted, headers, writer)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return written


def _copy_rows(path: str, wanted: list[int], headers: list[str], writer: Any) -> int:
    source = open_source(path)
    normed = [norm(h) for h in source.headers]
    order = [normed.index(norm(h)) if norm(h) in normed else None for h in headers]
    picked_total = 0
    for batch, picked in picked_rows(source, wanted):
        if len(picked) and batch.rows is not None and order == list(range(len(source.headers))):
            writer.write_rows([batch.rows[i] for i in picked], len(headers))  # xlsx: cells keep types
        elif len(picked):
            take = pa.array(picked, pa.int64())
            empty = pa.array([""] * len(picked), pa.string())
            writer.write_columns([batch.text(i).take(take) if i is not None else empty for i in order])
        picked_total += len(picked)
    return picked_total
