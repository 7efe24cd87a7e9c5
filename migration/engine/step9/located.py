"""Step 9 reads chosen columns of many files: our step-8 output (all its parts) and F&O's
exports after initial sync, each column found by any of its names. Shared by reconciliation and
by the triage of initial-sync errors."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import EngineError
from ..files.reading import CsvSource, norm, open_source

Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def as_list(paths: Paths) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    out = [os.fspath(p) for p in paths]
    if not out:
        raise EngineError("no file given: upload the export (all its parts)")
    return out


@dataclass
class LocatedFile:
    path: str
    headers: list[str]
    found: dict[str, int]  # role -> column index


def locate(path: str, roles: dict[str, tuple[str, ...]]) -> LocatedFile:
    source = open_source(path)
    normed = [norm(h) for h in source.headers]
    found = {}
    for role, names in roles.items():
        for name in names:
            if name.casefold() in normed:
                found[role] = normed.index(name.casefold())
                break
    return LocatedFile(path, list(source.headers), found)


def read_located(part: LocatedFile, index: int) -> pa.Table:
    """The located columns of one file as text, plus its data-row numbers and part index."""
    source = open_source(part.path)
    roles = list(part.found)
    chunks: list[pa.Table] = []
    if isinstance(source, CsvSource):
        wanted = sorted(set(part.found.values()))
        batches = source.batches(columns=wanted)
        pick: Callable[[Any, int], pa.Array] = lambda b, i: b.arrow.column(wanted.index(i))  # noqa: E731
    else:
        batches = source.batches()
        pick = lambda b, i: b.text(i)  # noqa: E731
    for b in batches:
        cols = {role: pick(b, part.found[role]) for role in roles}
        cols["_row"] = pa.array(np.arange(b.start + 1, b.start + 1 + b.num_rows, dtype=np.int64))
        chunks.append(pa.table(cols))
    if not chunks:
        return pa.table({**{r: pa.array([], pa.string()) for r in roles}, "_row": pa.array([], pa.int64())})
    table = pa.concat_tables(chunks)
    return table.append_column("_part", pa.array([index] * table.num_rows, pa.int32()))
