"""Row issues and the run report (the contract's JSON).

Issues are kept column-wise per block (arrow arrays of row numbers, GUIDs and
values) so that a million warnings cost tens of MB, not a list of dicts.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ISSUE_CODES: dict[str, tuple[str, str]] = {
    "missing_account_number": ("error", "Account Number is empty: no Party Number possible"),
    "party_number_not_found": (
        "error",
        "account {value!r} is not in the Finance and Operations customer list",
    ),
    "missing_contact_number": ("error", "Contact Number is empty: contact number targets left empty"),
    "bad_yes_no": ("error", "Is Active Customer is {value!r}, not yes/no: its target cells stay empty"),
    "sales_order_number_too_long": (
        "error",
        "{value!r} is longer than the 20 characters msdyn_salesordernumber holds (copied anyway)",
    ),
    "no_receipt_date": ("warning", "no date in the receipt date chain: Requested Receipt Date left empty"),
    "bad_date": ("error", "{value!r} is not a date in the file's date order"),
    "country_not_converted": ("warning", "country {value!r} could not be converted: kept as it is"),
    "company_not_mapped": ("warning", "company rule has no entry for {value!r}: used the default company"),
    "formula_like_text": ("warning", "text {value!r} starts like a formula: written as text"),
    "duplicate_key": ("error", "{value!r} appears more than once in this company"),
    "merge_only_in_reexport": (
        "warning",
        "record is not in the step-2 export: its targets come from this file",
    ),
    "merge_only_in_step2": (
        "warning",
        "record of the step-2 export is not in the re-export: not in the output",
    ),
}
# Issues whose row number is a row of the step-2 export (merge mode), not of the transformed file.
STEP2_ONLY_CODES = frozenset({"merge_only_in_step2"})


@dataclass
class IssueBlock:
    code: str
    column: str
    rows: pa.Array  # 1-based data row numbers (int64)
    guids: pa.Array | None = None
    values: pa.Array | None = None
    details: pa.Array | None = None  # per-issue text appended to the message


class IssueLog:
    def __init__(self) -> None:
        self.blocks: list[IssueBlock] = []
        self.counts: Counter[str] = Counter()

    def add(self, block: IssueBlock) -> None:
        if len(block.rows):
            self.blocks.append(block)
            self.counts[block.code] += len(block.rows)

    def add_mask(
        self,
        code: str,
        column: str,
        mask: pa.Array,
        start: int,
        guids: pa.Array | None,
        values: pa.Array | None,
    ) -> None:
        """Issues for the rows of one batch where mask is true (start: the batch's first row index)."""
        if not pc.any(mask).as_py():
            return
        idx = pc.indices_nonzero(mask)
        rows = pc.add(idx.cast(pa.int64()), start + 1)
        self.add(
            IssueBlock(
                code,
                column,
                rows,
                guids.take(idx) if guids is not None else None,
                values.take(idx) if values is not None else None,
            )
        )

    def __len__(self) -> int:
        return sum(self.counts.values())

    def iter_dicts(self) -> Iterator[dict[str, Any]]:
        """Issues in row order (stable: rule order within a row)."""
        if not self.blocks:
            return
        lengths = [len(b.rows) for b in self.blocks]
        rows = np.concatenate([b.rows.to_numpy(zero_copy_only=False) for b in self.blocks])
        block_of = np.repeat(np.arange(len(self.blocks)), lengths)
        pos_in = np.concatenate([np.arange(n) for n in lengths])
        cache: dict[int, tuple[list[Any], ...]] = {}
        for i in np.lexsort((block_of, rows)):
            b = int(block_of[i])
            if b not in cache:
                cache[b] = _block_lists(self.blocks[b])
            yield _issue_dict(self.blocks[b], cache[b], int(pos_in[i]))


def _block_lists(block: IssueBlock) -> tuple[list[Any], ...]:
    n = len(block.rows)
    return (
        block.rows.to_pylist(),
        block.guids.to_pylist() if block.guids is not None else [None] * n,
        block.values.to_pylist() if block.values is not None else [None] * n,
        block.details.to_pylist() if block.details is not None else [""] * n,
    )


def _issue_dict(block: IssueBlock, lists: tuple[list[Any], ...], j: int) -> dict[str, Any]:
    severity, template = ISSUE_CODES[block.code]
    rows, guids, values, details = lists
    return {
        "row": rows[j],
        "guid": guids[j] or None,
        "column": block.column,
        "severity": severity,
        "code": block.code,
        "message": template.format(value=_short(values[j])) + details[j],
    }


def _short(value: Any, limit: int = 80) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


@dataclass
class Report:
    table: str
    settings: dict[str, Any]
    rows_in: int = 0
    rows_out: int = 0
    columns_added: list[str] = field(default_factory=list)
    columns_filled: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    overwritten: dict[str, int] = field(default_factory=dict)
    issues: IssueLog = field(default_factory=IssueLog)
    input_sha256: str = ""
    output_sha256: str = ""
    input_format: str = ""
    output_format: str = ""
    date_order: str | None = None
    notes: list[str] = field(default_factory=list)
    merge: dict[str, Any] | None = None

    @property
    def errors(self) -> int:
        return sum(n for code, n in self.issues.counts.items() if ISSUE_CODES[code][0] == "error")

    @property
    def warnings(self) -> int:
        return len(self.issues) - self.errors

    def _head(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "columns_added": self.columns_added,
            "columns_filled": self.columns_filled,
            "counts": self.counts,
            "overwritten": self.overwritten,
            "issue_counts": dict(sorted(self.issues.counts.items())),
            "errors": self.errors,
            "warnings": self.warnings,
            "settings": self.settings,
            "date_order": self.date_order,
            "input_format": self.input_format,
            "output_format": self.output_format,
            "input_sha256": self.input_sha256,
            "output_sha256": self.output_sha256,
            "notes": self.notes,
            "merge": self.merge,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self._head(), "issues": list(self.issues.iter_dicts())}

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Stream the issues so a large report never exists as one Python structure."""
        tmp = f"{os.fspath(path)}.part"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                head = json.dumps(self._head(), ensure_ascii=False, indent=1)
                f.write(head[:-2] + ',\n "issues": [')
                for n, issue in enumerate(self.issues.iter_dicts()):
                    f.write(("," if n else "") + "\n  " + json.dumps(issue, ensure_ascii=False))
                f.write("\n ]\n}\n")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
