"""Merge mode: the step-2 export (P2C's source columns) joined on record GUID to a re-export."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import EngineError
from .layout import resolve_layout
from .reading import open_source
from .report import IssueBlock, IssueLog
from .schema import Table


def normalize_guids(text: pa.Array) -> pa.Array:
    """GUIDs compare case-insensitively and with or without braces."""
    return pc.utf8_lower(pc.utf8_trim(text, "{} \t"))


class Step2Export:
    def __init__(self, path: str, table: Table) -> None:
        if not os.path.isfile(path):
            raise EngineError(f"merge: the step-2 export {path!r} does not exist: check the path")
        source = open_source(path)
        self.layout = resolve_layout(table, source.headers)
        if self.layout.guid is None:
            raise EngineError(
                "merge: the step-2 export has no record GUID column ('(Do Not Modify) …' or the table's id): "
                "export it with Export to Excel, which adds it"
            )
        guids: list[pa.Array] = []
        cols: dict[str, list[pa.Array]] = {role: [] for role in self.layout.sources}
        for batch in source.batches():
            guids.append(normalize_guids(batch.text(self.layout.guid)))
            for role, i in self.layout.sources.items():
                cols[role].append(batch.text(i))
        self.guids = pa.concat_arrays(guids) if guids else pa.array([], pa.string())
        self.cols = {r: pa.concat_arrays(a) if a else pa.array([], pa.string()) for r, a in cols.items()}
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
        missing = np.nonzero(~self.matched)[0]
        if len(missing):
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
