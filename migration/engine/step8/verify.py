"""Verify an import: what we meant to import (EXPECTED) against an export taken after it (ACTUAL).

Records are matched by record GUID; the target columns are compared as the import stores
them (p2c-rules.md, "Verifying the import"): text trimmed, spaces collapsed and without case
(choices and lookups are matched by label), dates by calendar date (``2020-03-27T00:00:00Z``
equals a date cell or ``3/27/2020``), numbers by value (``10`` equals ``10.0``), yes/no by
meaning. Both files are read with the engine's readers, so either may be .csv or .xlsx, with
display or logical headers.

API::

    verify_import(expected, actuals, columns, *, guid_names=(), company_names=...,
                  issues_path=None) -> VerifyResult
        # expected: one file, or several (a re-export in parts gives one import file per part)
    table_columns(table) -> (columns, guid_names)       # the contract's targets for a table
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import EngineError
from ..files.reading import norm, open_source
from ..rules import dates
from ..tables import table_for

MATCH, DIFFERS, MISSING, UNEXPECTED = "match", "differs", "missing", "unexpected"
COMPANY_NAMES = ("msdyn_company", "Company")
_CHECKSUM, _MODIFIED = "(do not modify) row checksum", "(do not modify) modified on"
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?$", re.I)
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}
MAX_LISTED = 100_000


@dataclass(frozen=True)
class Column:
    """A compared column: its accepted headers (logical, display, aliases) and how to compare."""

    names: tuple[str, ...]
    kind: str = "auto"  # "auto" | "date" | "text"

    @property
    def label(self) -> str:
        return self.names[0]


def _find(headers: list[str], names: Sequence[str]) -> int | None:
    normed = [norm(h) for h in headers]
    for n in names:
        if norm(n) in normed:
            return normed.index(norm(n))
    return None


def _guid_column(headers: list[str], guid_names: Sequence[str]) -> int | None:
    hit = _find(headers, guid_names) if guid_names else None
    if hit is not None:
        return hit
    for i, h in enumerate(headers):
        n = norm(h)
        if n.startswith("(do not modify)") and n not in (_CHECKSUM, _MODIFIED):
            return i
    return None


def _guid(text: str) -> str:
    return text.strip().strip("{}").strip().lower()


def _dates(text: str) -> set[dt.date]:
    m = _ISO_RE.match(text)
    if m:
        try:
            return {dt.date(int(m[1]), int(m[2]), int(m[3]))}
        except ValueError:
            return set()
    return {d for order in ("mdy", "dmy") if (d := dates.parse(text, order)) is not None}


def same(expected: str, found: str, kind: str = "auto") -> bool:
    """Whether the import stored expected as found."""
    e, f = " ".join(expected.split()).casefold(), " ".join(found.split()).casefold()
    if e == f:
        return True
    if kind == "text" or not e or not f:
        return False
    de, df = _dates(e), _dates(f)
    if de and df:
        return bool(de & df)
    if kind == "date":
        return False
    if (e in _YES and f in _YES) or (e in _NO and f in _NO):
        return True
    try:
        return float(e.replace(",", "")) == float(f.replace(",", ""))
    except ValueError:
        return False


@dataclass
class Record:
    guid: str
    status: str
    row: int | None  # data row in EXPECTED (1 = first row under the header); None: unexpected
    company: str
    differences: list[dict[str, str]] = field(default_factory=list)
    file: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "guid": self.guid,
            "status": self.status,
            "row": self.row,
            "company": self.company,
        }
        if self.file:
            d["file"] = self.file
        if self.differences:
            d["differences"] = self.differences
        return d


@dataclass
class VerifyResult:
    expected: str | list[str]  # several: the import files of a re-export in parts
    actual: list[str]
    columns: list[str]
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((MATCH, DIFFERS, MISSING, UNEXPECTED), 0)
    )
    by_company: dict[str, dict[str, int]] = field(default_factory=dict)
    by_column: dict[str, int] = field(default_factory=dict)  # records differing in each column
    records: list[Record] = field(default_factory=list)  # every record that is not a match
    issues_file: str | None = None
    issues_rows: int = 0
    issues_files: list[str] = field(default_factory=list)  # several EXPECTED: one per file with rows

    @property
    def ok(self) -> bool:
        return self.counts[DIFFERS] == 0 and self.counts[MISSING] == 0

    def count(self, status: str, company: str) -> None:
        self.counts[status] += 1
        per = self.by_company.setdefault(company, dict.fromkeys((MATCH, DIFFERS, MISSING, UNEXPECTED), 0))
        per[status] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "actual": self.actual,
            "columns": self.columns,
            "ok": self.ok,
            "counts": self.counts,
            "by_company": dict(sorted(self.by_company.items())),
            "by_column": self.by_column,
            "records": [r.to_dict() for r in self.records[:MAX_LISTED]],
            "records_listed": min(len(self.records), MAX_LISTED),
            "issues_file": self.issues_file,
            "issues_files": self.issues_files,
            "issues_rows": self.issues_rows,
        }

    def write_json(self, path: str | os.PathLike[str]) -> None:
        from ..files.writing import AtomicFile

        out = AtomicFile(os.fspath(path))
        try:
            with open(out.tmp, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=False, indent=1)
            out.commit()
        except BaseException:
            out.abort()
            raise

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c[MATCH]:,} match, {c[DIFFERS]:,} differ, {c[MISSING]:,} missing, "
            f"{c[UNEXPECTED]:,} not in our output"
        )


def _layout(
    path: str, what: str, columns: Sequence[Column], guid_names: Sequence[str], company: Sequence[str]
):
    source = open_source(path)
    guid = _guid_column(source.headers, guid_names)
    name = os.path.basename(path)
    if guid is None:
        raise EngineError(
            f"{what} {name!r} has no record GUID column ('(Do Not Modify) …' or the table's id): "
            "export it with Export to Excel, which adds it"
        )
    idx = {c.label: _find(source.headers, c.names) for c in columns}
    return source, guid, idx, _find(source.headers, company)


def verify_import(
    expected: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    actuals: Sequence[str | os.PathLike[str]],
    columns: Sequence[Column | str | Sequence[str]],
    *,
    guid_names: Sequence[str] = (),
    company_names: Sequence[str] = COMPANY_NAMES,
    issues_path: str | os.PathLike[str] | None = None,
) -> VerifyResult:
    """Compare EXPECTED with the ACTUAL export(s) by record GUID on the given columns.

    Columns EXPECTED lacks are not compared; a compared column that an ACTUAL lacks is a fatal
    problem (the view must show it). issues_path: write the EXPECTED rows to import again
    (differing or missing records), in EXPECTED's format and shape.

    Several EXPECTED files (the import files of a re-export in parts) are one set of records:
    each record's row is its file's own, and the record names that file; the rows to import
    again are written per file, as issues_path's stem + _N (N: the file's position, from 1).
    """
    if isinstance(expected, str | os.PathLike):
        expected_paths = [os.fspath(expected)]
    else:
        expected_paths = [os.fspath(e) for e in expected]
    if not expected_paths:
        raise EngineError("give the output that was imported (EXPECTED)")
    several = len(expected_paths) > 1
    actual_paths = [os.fspath(a) for a in actuals]
    if not actual_paths:
        raise EngineError("give at least one export taken after the import (ACTUAL)")
    cols = [c if isinstance(c, Column) else Column((c,) if isinstance(c, str) else tuple(c)) for c in columns]
    _, _, idx, _ = _layout(expected_paths[0], "EXPECTED", cols, guid_names, company_names)
    cols = [c for c in cols if idx[c.label] is not None]
    if not cols:
        raise EngineError(
            f"EXPECTED {os.path.basename(expected_paths[0])!r} has none of the target columns: give the "
            "output the transformation wrote"
        )
    result = VerifyResult(
        expected_paths if several else expected_paths[0], actual_paths, [c.label for c in cols]
    )
    want: dict[str, tuple[int, list[str], str, int]] = {}
    for n, path in enumerate(expected_paths):
        source, guid_i, idx, company_i = _layout(path, "EXPECTED", cols, guid_names, company_names)
        row = 0
        for batch in source.batches():
            guids = batch.text(guid_i).to_pylist()
            blank = [""] * batch.num_rows
            values = [
                batch.text(idx[c.label]).to_pylist() if idx[c.label] is not None else blank for c in cols
            ]
            companies = batch.text(company_i).to_pylist() if company_i is not None else blank
            for j, g in enumerate(guids):
                row += 1
                key = _guid(g)
                if key and key not in want:
                    want[key] = (row, [v[j] for v in values], companies[j].strip(), n)
    names = [os.path.basename(p) for p in expected_paths]

    def named(n: int) -> str:
        return names[n] if several else ""

    seen: set[str] = set()
    for path in actual_paths:
        src, a_guid, a_idx, a_company = _layout(path, "ACTUAL", cols, guid_names, company_names)
        lacking = [c.label for c in cols if a_idx[c.label] is None]
        if lacking:
            raise EngineError(
                f"ACTUAL {os.path.basename(path)!r} has no column {', '.join(map(repr, lacking))}: add "
                f"{'it' if len(lacking) == 1 else 'them'} to the view in Sales and export the table again"
            )
        for batch in src.batches():
            guids = batch.text(a_guid).to_pylist()
            found = [batch.text(a_idx[c.label]).to_pylist() for c in cols]  # type: ignore[arg-type]
            comp = batch.text(a_company).to_pylist() if a_company is not None else None
            for j, g in enumerate(guids):
                key = _guid(g)
                if not key or key in seen:
                    continue
                seen.add(key)
                hit = want.get(key)
                if hit is None:
                    company = comp[j].strip() if comp else ""
                    result.count(UNEXPECTED, company)
                    result.records.append(
                        Record(g.strip(), UNEXPECTED, None, company, file=os.path.basename(path))
                    )
                    continue
                exp_row, exp_values, company, n = hit
                diffs = [
                    {"column": c.label, "expected": e, "found": found[k][j]}
                    for k, (c, e) in enumerate(zip(cols, exp_values, strict=True))
                    if not same(e, found[k][j], c.kind)
                ]
                if diffs:
                    result.count(DIFFERS, company)
                    result.records.append(Record(g.strip(), DIFFERS, exp_row, company, diffs, named(n)))
                    for d in diffs:
                        result.by_column[d["column"]] = result.by_column.get(d["column"], 0) + 1
                else:
                    result.count(MATCH, company)
    for key, (exp_row, _, company, n) in want.items():
        if key not in seen:
            result.count(MISSING, company)
            result.records.append(Record(key, MISSING, exp_row, company, file=named(n)))
    position = {name: n for n, name in enumerate(names)} if several else {}
    result.records.sort(key=lambda r: (r.row is None, position.get(r.file, 0), r.row or 0))
    if issues_path is not None and not several:
        again = {r.row - 1 for r in result.records if r.row is not None}
        result.issues_file = os.fspath(issues_path)
        result.issues_rows = _write_again(expected_paths[0], os.fspath(issues_path), again)
    elif issues_path is not None:
        stem, ext = os.path.splitext(os.fspath(issues_path))
        for n, path in enumerate(expected_paths):
            again = {r.row - 1 for r in result.records if r.row is not None and r.file == names[n]}
            if not again:
                continue
            target = f"{stem}_{n + 1}{ext}"
            result.issues_rows += _write_again(path, target, again)
            result.issues_files.append(target)
        result.issues_file = result.issues_files[0] if result.issues_files else None
    return result


def _write_again(expected: str, path: str, rows: set[int]) -> int:
    from .packs import copy_csv_rows, copy_xlsx_rows

    ext = os.path.splitext(expected)[1].lower()
    if os.path.splitext(path)[1].lower() != ext:
        raise EngineError(
            f"the issues file must have EXPECTED's extension ({ext}): it is the same kind of file"
        )
    if ext == ".xlsx":
        return copy_xlsx_rows(expected, path, rows, total=len(rows))
    return copy_csv_rows(expected, path, rows)


def table_columns(table: str) -> tuple[list[Column], tuple[str, ...]]:
    """The contract's target columns of a table (display name first) and its GUID headers."""
    declared = table_for(table)
    columns = [Column(t.col.names, "date" if t.key == "receipt_date" else "auto") for t in declared.targets]
    return columns, tuple(declared.guid_headers)
