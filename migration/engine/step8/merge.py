"""Merge mode: the step-2 export (P2C's source columns) joined on record GUID to a re-export.

The step-2 export may come in parts (Sales writes at most 100,000 rows per file): GUIDs are
looked up in all of them, and a record in none of the re-export's parts is reported once, with
its part's file and row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from ..files.reading import open_source
from ..rules.layout import check_same_columns, resolve_layout
from ..rules.report import IssueBlock, IssueLog
from ..rules.schema import Table

PathLike = str | os.PathLike[str]
# merge_only_in_step2 rows are the step-2 export's: listed after every row of the re-export.
STEP2_PART = 1 << 30


def normalize_guids(text: pa.Array) -> pa.Array:
    """GUIDs compare case-insensitively and with or without braces."""
    return pc.utf8_lower(pc.utf8_trim(text, "{} \t"))


def merge_paths(paths: PathLike | Sequence[PathLike]) -> list[str]:
    """One step-2 export, or its parts, as a list of paths."""
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


class Step2Export:
    """The step-2 export's source columns by record GUID, from one file or all its parts."""

    def __init__(self, paths: PathLike | Sequence[PathLike], table: Table) -> None:
        self.paths = merge_paths(paths)
        if not self.paths:
            raise EngineError("merge: give the step-2 export (or each of its parts)")
        for path in self.paths:
            if not os.path.isfile(path):
                raise EngineError(f"merge: the step-2 export {path!r} does not exist: check the path")
        if len(self.paths) > 1:
            check_same_columns(self.paths)
        self.files = [os.path.basename(p) for p in self.paths]
        guids: list[pa.Array] = []
        cols: dict[str, list[pa.Array]] = {}
        part_of: list[np.ndarray] = []
        row_in: list[np.ndarray] = []
        self.layout = None
        for n, path in enumerate(self.paths):
            source = open_source(path)
            layout = resolve_layout(table, source.headers)
            if layout.guid is None:
                where = f" {self.files[n]!r}" if len(self.paths) > 1 else ""
                raise EngineError(
                    f"merge: the step-2 export{where} has no record GUID column ('(Do Not Modify) …' or the "
                    "table's id): export it with Export to Excel, which adds it"
                )
            if self.layout is None:
                self.layout = layout
                cols = {role: [] for role in layout.sources}
            rows = 0
            for batch in source.batches():
                guids.append(normalize_guids(batch.text(layout.guid)))
                for role in cols:
                    i = layout.sources.get(role)
                    cols[role].append(
                        batch.text(i) if i is not None else pa.nulls(batch.num_rows, pa.string())
                    )
                rows += batch.num_rows
            part_of.append(np.full(rows, n, dtype=np.int32))
            row_in.append(np.arange(1, rows + 1, dtype=np.int64))
        self.guids = pa.concat_arrays(guids) if guids else pa.array([], pa.string())
        self.cols = {r: pa.concat_arrays(a) if a else pa.array([], pa.string()) for r, a in cols.items()}
        self.part_of = np.concatenate(part_of) if part_of else np.zeros(0, dtype=np.int32)
        self.row_in = np.concatenate(row_in) if row_in else np.zeros(0, dtype=np.int64)
        self.matched = np.zeros(len(self.guids), dtype=bool)

    @property
    def rows(self) -> int:
        return len(self.guids)

    def lookup(self, guids: pa.Array) -> tuple[dict[str, pa.Array], pa.Array]:
        """Source columns for these re-export GUIDs (null where not found) and the found mask."""
        idx = pc.index_in(normalize_guids(guids), value_set=self.guids)
        found = pc.is_valid(idx)
        hit = idx.drop_null().to_numpy()
        self.matched[hit] = True
        return {role: col.take(idx) for role, col in self.cols.items()}, found

    def report_unmatched(self, issues: IssueLog, column: str) -> int:
        """merge_only_in_step2 for every step-2 record no re-export row (of any part) matched.

        One step-2 file and one re-export: the row number is the step-2 export's, said in the
        message. Otherwise each issue also names the step-2 part's file."""
        missing = np.nonzero(~self.matched)[0]
        if not len(missing):
            return 0
        named = len(self.paths) > 1 or bool(issues.files)
        if not named:
            issues.add(
                IssueBlock(
                    "merge_only_in_step2",
                    column,
                    pa.array(missing + 1, pa.int64()),
                    self.guids.take(pa.array(missing)),
                    None,
                    details=pa.array([" (row number is in the step-2 export)"] * len(missing)),
                )
            )
            return len(missing)
        files = [self.files[int(p)] for p in self.part_of[missing]]
        issues.add(
            IssueBlock(
                "merge_only_in_step2",
                column,
                pa.array(self.row_in[missing], pa.int64()),
                self.guids.take(pa.array(missing)),
                None,
                details=pa.array([f" (row number is in the step-2 export {f!r})" for f in files]),
                parts=STEP2_PART + self.part_of[missing].astype(np.int64),
                files=pa.array(files, pa.string()),
            )
        )
        return len(missing)
