"""check_exports: cross-file checks over a set of step-2 exports.

Lines whose header is missing, contacts whose company is no exported account,
duplicate keys within a company, and per-company row counts against dual-write's
initial-sync limits (reference.md).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import EngineError
from .layout import find, norm
from .options import CompanyRule
from .reading import open_source
from .rules import map_text
from .schema import Col
from .tables import TABLES, guess_table

SYNC_LIMIT_PER_COMPANY = 500_000  # rows per initial-sync run per legal entity
SYNC_LIMIT_ACCOUNTS = 70_000  # Customers V3 (accounts) is single-threaded: 24 h time-out
EXAMPLES = 20


@dataclass
class Finding:
    code: str
    severity: str  # error | warning | info
    table: str
    message: str
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    company: str
    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # company -> table -> rows
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "company": self.company,
            "files": self.files,
            "rows": self.rows,
            "errors": sum(f.severity == "error" for f in self.findings),
            "warnings": sum(f.severity == "warning" for f in self.findings),
            "findings": [vars(f) for f in self.findings],
        }

    def summary_text(self) -> str:
        lines = [
            f"Checked {len(self.files)} export(s): " + ", ".join(f"{t} ({p})" for t, p in self.files.items())
        ]
        for company, tables in sorted(self.rows.items()):
            counts = ", ".join(f"{t} {n:,}" for t, n in tables.items())
            lines.append(f"Rows for company {company}: {counts}")
        if not self.findings:
            lines.append("No problems found.")
        for f in self.findings:
            example = f" e.g. {', '.join(f.examples[:5])}" if f.examples else ""
            lines.append(f"[{f.severity}] {f.table}: {f.message}{example}")
        return "\n".join(lines)


class _Export:
    """One file's columns of interest as arrow arrays, normalized (trimmed, lower case) for matching.

    Arrow, not Python lists: a million-row export costs tens of MB here, not hundreds.
    """

    def __init__(self, table: str, path: str, rule: CompanyRule | None, default_company: str) -> None:
        self.table, self.path = table, path
        source = open_source(path)
        normed = [norm(h) for h in source.headers]
        checked = TABLES[table].checked
        wanted = {
            "name": checked.name,
            "number": checked.number,
            "company_name": checked.account,
            "parent": checked.header[1] if checked.header else None,
        }
        cols = {k: i for k, c in wanted.items() if c is not None and (i := find(normed, c)) is not None}
        rule_col = find(normed, Col(rule.source_column, rule.source_column)) if rule else None
        lookup = rule.lookup() if rule else {}
        raw: dict[str, list[pa.Array]] = {k: [] for k in cols}
        companies: list[pa.Array] = []
        self.rows = 0
        for batch in source.batches():
            for key, i in cols.items():
                raw[key].append(batch.text(i))
            if rule_col is not None:
                keys = pc.utf8_lower(pc.utf8_trim_whitespace(batch.text(rule_col)))
                companies.append(map_text(keys, lambda t: lookup.get(t, default_company)))
            else:
                companies.append(pa.repeat(pa.scalar(default_company, pa.string()), batch.num_rows))
            self.rows += batch.num_rows
        self.values = {k: _concat(v) for k, v in raw.items()}
        self.normal = {k: pc.utf8_lower(pc.utf8_trim_whitespace(v)) for k, v in self.values.items()}
        self.companies = _concat(companies)


def _concat(arrays: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())


def _pairs(counts: pa.StructArray) -> list[tuple[str, int]]:
    """(value, count) pairs of a value_counts result, sorted."""
    return sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))


def _examples(values: pa.Array) -> list[str]:
    return sorted(pc.unique(values).to_pylist())[:EXAMPLES]


def check_exports(
    paths: dict[str, str | os.PathLike[str]], company: str = "", company_rule: CompanyRule | None = None
) -> CheckResult:
    """Check the exports together; unreadable files become findings, never exceptions."""
    label = company or "(default)"
    result = CheckResult(company=label)
    exports: dict[str, _Export] = {}
    for table, path in paths.items():
        if table not in TABLES:
            raise EngineError(f"unknown table {table!r}: use one of {', '.join(TABLES)}")
        result.files[table] = os.fspath(path)
        try:
            exports[table] = _Export(table, os.fspath(path), company_rule, label)
        except EngineError as e:
            result.findings.append(Finding("unreadable_file", "error", table, e.message))
    for f in (
        *_missing_tables(paths),
        *_orphan_lines(exports),
        *_contacts_without_account(exports),
        *_duplicates(exports),
    ):
        result.findings.append(f)
    _count_rows(result, exports)
    return result


def _missing_tables(paths: dict[str, Any]) -> Iterator[Finding]:
    missing = [TABLES[t].export_name for t in TABLES if t not in paths]
    if missing:
        yield Finding(
            "missing_export",
            "warning",
            "-",
            "not uploaded: "
            + ", ".join(missing)
            + " (the article asks for all nine exports, to avoid data loss)",
            len(missing),
        )


def _orphan_lines(exports: dict[str, _Export]) -> Iterator[Finding]:
    for lines_table, table in TABLES.items():
        if table.checked.header is None:
            continue
        header_table = table.checked.header[0]
        lines, header = exports.get(lines_table), exports.get(header_table)
        if lines is None or header is None or "parent" not in lines.values:
            continue
        # The lookup cell holds the header's primary name; accept its number too.
        known = pa.concat_arrays(
            [header.normal[k] for k in ("name", "number") if k in header.normal]
            or [pa.array([], pa.string())]
        )
        parent = lines.normal["parent"]
        orphan = pc.and_(pc.not_equal(parent, ""), pc.invert(pc.is_in(parent, value_set=pc.unique(known))))
        count = int(pc.sum(orphan).as_py() or 0)
        if count:
            yield Finding(
                "line_without_header",
                "error",
                lines_table,
                f"{count} line(s) refer to a {header_table} that is not in the "
                f"{TABLES[header_table].export_name} export",
                count,
                _examples(lines.values["parent"].filter(orphan)),
            )


def _contacts_without_account(exports: dict[str, _Export]) -> Iterator[Finding]:
    contacts, accounts = exports.get("contact"), exports.get("account")
    if contacts is None or accounts is None or "company_name" not in contacts.values:
        return
    known = accounts.normal.get("name", pa.array([], pa.string()))
    company = contacts.normal["company_name"]
    orphan = pc.and_(pc.not_equal(company, ""), pc.invert(pc.is_in(company, value_set=pc.unique(known))))
    count = int(pc.sum(orphan).as_py() or 0)
    if count:
        yield Finding(
            "contact_without_account",
            "warning",
            "contact",
            f"{count} contact(s) have a Company Name that matches no exported account",
            count,
            _examples(contacts.values["company_name"].filter(orphan)),
        )


def _duplicates(exports: dict[str, _Export]) -> Iterator[Finding]:
    for table, declared in TABLES.items():
        export = exports.get(table)
        if declared.checked.number is None or export is None or "number" not in export.values:
            continue
        number = export.normal["number"]
        keep = pc.not_equal(number, "")
        keys = pc.binary_join_element_wise(export.companies, number, "\x1f").filter(keep)
        counts = pc.value_counts(keys)
        dups = counts.filter(pc.greater(counts.field("counts"), 1))
        if len(dups):
            pairs = sorted(
                zip(dups.field("values").to_pylist(), dups.field("counts").to_pylist(), strict=True)
            )
            examples = [f"{k.split(chr(31))[1]} x{n} ({k.split(chr(31))[0]})" for k, n in pairs[:EXAMPLES]]
            yield Finding(
                "duplicate_key",
                "error",
                table,
                f"{len(dups)} {declared.checked.number.display}(s) appear more than once within a company",
                len(dups),
                examples,
            )


def _count_rows(result: CheckResult, exports: dict[str, _Export]) -> None:
    per: dict[str, dict[str, int]] = defaultdict(dict)
    for table, export in exports.items():
        counts = pc.value_counts(export.companies)
        for company, n in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            per[company][table] = n
    result.rows = {c: dict(t) for c, t in per.items()}
    for company, tables in result.rows.items():
        for table, n in tables.items():
            limit = SYNC_LIMIT_ACCOUNTS if table == "account" else SYNC_LIMIT_PER_COMPANY
            if n > limit and TABLES[table].transforms:
                result.findings.append(
                    Finding(
                        "over_sync_limit",
                        "warning",
                        table,
                        f"company {company} has {n:,} rows, over initial sync's {limit:,} per run: "
                        "split the initial sync (e.g. by filter) or run it in several passes",
                        n,
                    )
                )


def find_exports(folder: str | os.PathLike[str]) -> dict[str, str]:
    """Table -> file for a folder of exports: by file name (key or export name), else by headers."""
    names = {norm(t).replace(" ", "_"): t for t in TABLES}
    names |= {norm(i.export_name).replace(" ", "_"): k for k, i in TABLES.items()}
    names |= {i.entity: k for k, i in TABLES.items()}
    found: dict[str, str] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        stem, ext = os.path.splitext(entry.name)
        if not entry.is_file() or ext.lower() not in (".csv", ".xlsx") or stem.startswith("."):
            continue
        table = names.get(norm(stem).replace(" ", "_").replace("-", "_"))
        if table is None:
            try:
                table = guess_table(open_source(entry.path).headers)
            except EngineError:
                continue
        if table and table not in found:
            found[table] = entry.path
    return found
