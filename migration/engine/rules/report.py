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
import pyarrow.csv as pacsv

from ..files.formulas import neutralised
from .schema import Issue

# The issue codes every transformed table can raise; each table module declares its own.
# A row's issues are listed: FIRST_ISSUES, the table's issues, LAST_ISSUES.
FIRST_ISSUES = (
    Issue(
        "merge_only_in_reexport",
        "warning",
        "record is not in the step-2 export: its targets come from this file",
    ),
    Issue(
        "formula_like_text",
        "warning",
        "text {value!r} starts like a formula: kept as is; Excel may run it when it opens a CSV "
        "(the xlsx output holds it as text)",
    ),
    Issue(
        "company_not_mapped", "warning", "company rule has no entry for {value!r}: used the default company"
    ),
    Issue("duplicate_record", "error", "record {value!r} appears more than once in this table"),
    Issue(
        "export_limit_reached",
        "warning",
        "this part has exactly 100,000 data rows: probably cut off at Sales' export limit: "
        "export the rest as another part",
    ),
)
LAST_ISSUES = (
    Issue(
        "merge_only_in_step2",
        "warning",
        "record of the step-2 export is not in the re-export: not in the output",
    ),
)
# Raised by the tables that declare a unique source role; listed last among a table's own issues.
DUPLICATE_KEY = Issue("duplicate_key", "error", "{value!r} appears more than once in this company")
# Sales' "Export to Excel" writes at most this many data rows per file.
EXPORT_LIMIT_ROWS = 100_000

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
    part: int = 0  # index of the part (file) the rows are in
    parts: np.ndarray | None = None  # per-issue part index, when the block spans parts
    files: pa.Array | None = None  # per-issue file name, when not one of the log's files (step-2 rows)


class IssueLog:
    """The row issues of one run; `codes`: the table's issues, in the order a row lists them."""

    def __init__(self, codes: tuple[Issue, ...] = FIRST_ISSUES + LAST_ISSUES) -> None:
        self.codes = {i.code: i for i in codes}
        self.rank = {code: n for n, code in enumerate(self.codes)}
        self.blocks: list[IssueBlock] = []
        self.counts: Counter[str] = Counter()
        # An export in several parts: the part being read, and every part's file name. Row
        # numbers are the part's own; each issue then names its part's file.
        self.part = 0
        self.files: list[str] = []

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
        if len(idx) == len(mask):  # every row: keep the batch's own arrays, shared, not copies
            self.add(IssueBlock(code, column, rows, guids, values, part=self.part))
            return
        self.add(
            IssueBlock(
                code,
                column,
                rows,
                guids.take(idx) if guids is not None else None,
                values.take(idx) if values is not None else None,
                part=self.part,
            )
        )

    def flag_export_limit(self, rows: int) -> None:
        """export_limit_reached on the last row of a part that has exactly Sales' limit of rows."""
        if rows == EXPORT_LIMIT_ROWS:
            self.add(IssueBlock("export_limit_reached", "", pa.array([rows], pa.int64()), part=self.part))

    def __len__(self) -> int:
        return sum(self.counts.values())

    def iter_dicts(self) -> Iterator[dict[str, Any]]:
        """Issues in row order; within a row, in the order of the table's codes (then as raised)."""
        for chunk in self.iter_chunks():
            yield from chunk

    def _ordered(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(block, position in it, part) of each issue in report order, `size` issues at a time."""
        if not self.blocks:
            return
        lengths = [len(b.rows) for b in self.blocks]
        rows = np.concatenate([b.rows.to_numpy(zero_copy_only=False) for b in self.blocks])
        block_of = np.repeat(np.arange(len(self.blocks)), lengths)
        rank = np.repeat([self.rank[b.code] for b in self.blocks], lengths)
        pos_in = np.concatenate([np.arange(n) for n in lengths])
        parts = np.concatenate(
            [b.parts if b.parts is not None else np.full(len(b.rows), b.part) for b in self.blocks]
        )
        order = np.lexsort((block_of, rank, rows, parts))
        del rows, rank
        for start in range(0, len(order), size):
            picked = order[start : start + size]
            yield block_of[picked], pos_in[picked], parts[picked]

    def iter_chunks(self, size: int = 20_000) -> Iterator[list[dict[str, Any]]]:
        """The issues as iter_dicts gives them, `size` at a time: only one chunk is ever held as
        Python objects, so a million issues cost their arrow arrays, not a million dicts."""
        for blocks, positions, parts in self._ordered(size):
            lists = {}
            for b in np.unique(blocks):
                at = positions[blocks == b]
                found = zip(*_block_lists(self.blocks[b], at), strict=True)
                lists[int(b)] = dict(zip(at.tolist(), found, strict=True))
            yield [
                self._issue_dict(self.blocks[b], lists[b][j], part)
                for b, j, part in zip(blocks.tolist(), positions.tolist(), parts.tolist(), strict=True)
            ]

    def iter_tables(self, size: int = 100_000) -> Iterator[pa.Table]:
        """The issues in report order as arrow tables of ISSUE_COLUMNS, `size` rows each: what the
        issue list and the database take, with no Python object per issue but its message."""
        for blocks, positions, parts in self._ordered(size):
            pieces, where = [], []
            for b in np.unique(blocks):
                mine = np.flatnonzero(blocks == b)
                pieces.append(self._block_table(self.blocks[b], positions[mine], parts[mine]))
                where.append(mine)
            back = np.argsort(np.concatenate(where), kind="stable")  # to report order
            yield pa.concat_tables(pieces).take(pa.array(back))

    def iter_records(self, size: int, widths: dict[str, int]) -> Iterator[pa.Table]:
        """iter_tables for a database's columns: text cut to `widths` (characters), none as ""."""
        for table in self.iter_tables(size):
            columns = {}
            for name in table.column_names:
                column = table[name]
                if name != "row":
                    column = column.fill_null("")
                    if name in widths:
                        column = pc.utf8_slice_codeunits(column, 0, widths[name])
                columns[name] = column
            yield pa.table(columns)

    def _block_table(self, block: IssueBlock, at: np.ndarray, parts: np.ndarray) -> pa.Table:
        issue, n, take = self.codes[block.code], len(at), pa.array(at, pa.int64())
        values = block.values.take(take).to_pylist() if block.values is not None else [None] * n
        details = block.details.take(take).to_pylist() if block.details is not None else [""] * n
        none = pa.nulls(n, pa.string())
        if block.files is not None:
            file = block.files.take(take)
        elif self.files:
            file = pa.array(self.files, pa.string()).take(pa.array(parts))
        else:
            file = none
        message = [_message(issue, v, d) for v, d in zip(values, details, strict=True)]
        return pa.table({
            "file": file.cast(pa.string()),
            "row": block.rows.take(take).cast(pa.int64()),
            "guid": block.guids.take(take).cast(pa.string()) if block.guids is not None else none,
            "column": pa.repeat(pa.scalar(block.column, pa.string()), n),
            "severity": pa.repeat(pa.scalar(issue.severity, pa.string()), n),
            "code": pa.repeat(pa.scalar(block.code, pa.string()), n),
            "message": pa.array(message, pa.string()),
        })  # fmt: skip

    def _issue_dict(self, block: IssueBlock, one: tuple[Any, ...], part: int) -> dict[str, Any]:
        issue = self.codes[block.code]
        row, guid, value, detail, file = one
        found = {
            "row": row,
            "guid": guid or None,
            "column": block.column,
            "severity": issue.severity,
            "code": block.code,
            "message": _message(issue, value, detail),
        }
        if file is not None:  # a row of another file (the step-2 export's part)
            found = {"file": file, **found}
        elif self.files:  # an export in several parts: the row number is the part's own
            found = {"file": self.files[part], **found}
        return found

    def where(self, part: int, row: int) -> str:
        """A row as a message names it: "row N", with its part's file when there are parts."""
        return f"row {row} of {self.files[part]}" if self.files else f"row {row}"

    def errors(self) -> int:
        return sum(n for code, n in self.counts.items() if self.codes[code].severity == "error")


def _block_lists(block: IssueBlock, at: np.ndarray) -> tuple[list[Any], ...]:
    """The block's row numbers, GUIDs, values, details and files at positions `at`."""
    n, take = len(at), pa.array(at, pa.int64())
    return (
        block.rows.take(take).to_pylist(),
        block.guids.take(take).to_pylist() if block.guids is not None else [None] * n,
        block.values.take(take).to_pylist() if block.values is not None else [None] * n,
        block.details.take(take).to_pylist() if block.details is not None else [""] * n,
        block.files.take(take).to_pylist() if block.files is not None else [None] * n,
    )


def _message(issue: Issue, value: Any, detail: str) -> str:
    """An issue's message for one row: its wording with the (shortened) value, then the detail."""
    return issue.message.format(value=_short(value)) + detail


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
    filled_in_place: bool = False  # the re-export's own workbook/file, only target cells changed
    import_parts: list[dict[str, Any]] | None = None  # the files to import, when split (--part-mb)
    parts: list[dict[str, Any]] | None = None  # several inputs: file, rows, SHA-256 (and output) of each
    rows_by_company: dict[str, int] = field(default_factory=dict)  # for initial sync's limits
    relationship_types: dict[str, int] = field(default_factory=dict)  # accounts: only Customer syncs
    # The company rule's column -> rows that took the default company because the export lacks it.
    company_rule_missing: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.issues.errors()

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
            "filled_in_place": self.filled_in_place,
            "import_parts": self.import_parts,
            "parts": self.parts,
            "rows_by_company": dict(sorted(self.rows_by_company.items())),
            "relationship_types": dict(sorted(self.relationship_types.items())),
            "company_rule_missing": dict(self.company_rule_missing),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self._head(), "issues": list(self.issues.iter_dicts())}

    def summary(self) -> dict[str, Any]:
        """The report without its issues (their counts are in it)."""
        return self._head()

    def write_json(self, path: str | os.PathLike[str], *, first_per_code: int | None = None) -> None:
        """Stream the issues so a large report never exists as one Python structure.

        `first_per_code`: keep only the first N issues of each code (the counts stay whole, and
        `issues_truncated` says so); the whole list then goes to `write_issues_csv`.
        """
        kept: Counter[str] = Counter()
        counts = self.issues.counts
        truncated = first_per_code is not None and any(n > first_per_code for n in counts.values())
        # Every code's first issues kept: the rest of a million issues need not be walked.
        enough = {code: min(n, first_per_code) for code, n in counts.items()} if first_per_code else None
        tmp = f"{os.fspath(path)}.part"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                head = json.dumps(self._head(), ensure_ascii=False, indent=1)
                f.write(head[:-2] + ',\n "issues": [')
                n = 0
                for issue in self.issues.iter_dicts():
                    if enough is not None and kept[issue["code"]] >= first_per_code:
                        if all(kept[code] >= n for code, n in enough.items()):
                            break
                        continue
                    kept[issue["code"]] += 1
                    f.write(("," if n else "") + "\n  " + json.dumps(issue, ensure_ascii=False))
                    n += 1
                f.write("\n ]" + (',\n "issues_truncated": true' if truncated else "") + "\n}\n")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def write_issues_csv(self, path: str | os.PathLike[str]) -> int:
        """Every issue, one a line (UTF-8 with BOM, CRLF, text quoted), in the report's order;
        returns how many. Written from arrow tables: a million issues in about a second."""
        tmp, written = f"{os.fspath(path)}.part", 0
        schema = pa.schema([(c, pa.int64() if c == "row" else pa.string()) for c in ISSUE_COLUMNS])
        options = pacsv.WriteOptions(eol="\r\n", quoting_style="needed")
        try:
            with open(tmp, "wb") as f:
                f.write(b"\xef\xbb\xbf")
                with pacsv.CSVWriter(f, schema, write_options=options) as out:
                    for table in self.issues.iter_tables():
                        out.write_table(_for_people(table))
                        written += table.num_rows
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return written


def _for_people(table: pa.Table) -> pa.Table:
    """The issue list is opened in Excel: a header or value that starts like a formula (the
    export's own, quoted in a column or message) is shown as text, never run."""
    columns = [neutralised(c.combine_chunks()) if pa.types.is_string(c.type) else c for c in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


def csv_rows(table: pa.Table) -> pa.Buffer:
    """A table's rows as CSV without a header (text quoted, quotes doubled): what PostgreSQL's
    COPY ... (FORMAT csv) reads, a million issues without a Python object each."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue()


# The issue list's columns (write_issues_csv); "file" is empty but for an export in parts.
ISSUE_COLUMNS = ("file", "row", "guid", "column", "severity", "code", "message")


def add_value_counts(per: dict[str, int], values: pa.Array | None) -> None:
    """Add how often each value occurs in `values` (empty and null as "") to `per`."""
    if values is None:
        return
    counts = pc.value_counts(values)
    for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True):
        per[value or ""] = per.get(value or "", 0) + n
