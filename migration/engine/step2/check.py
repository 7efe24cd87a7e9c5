"""check_exports: cross-file checks over a set of step-2 exports.

Lines whose header is missing, contacts whose company is no exported account,
duplicate keys within a company, and per-company row counts against dual-write's
initial-sync limits (reference.md).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from ..files.reading import Source, norm, open_source
from ..rules.layout import column_difference, find, guid_column
from ..rules.options import CompanyRule
from ..rules.report import EXPORT_LIMIT_ROWS
from ..rules.rows import map_text
from ..rules.schema import Col
from ..tables import TABLES, guess_table

SYNC_LIMIT_PER_COMPANY = 500_000  # rows per initial-sync run per legal entity
# Customers V3 (accounts) is single-threaded with a 24 h time-out: about 70,000 accounts per run is
# Microsoft's guidance figure, not a hard limit.
SYNC_LIMIT_ACCOUNTS = 70_000
SYNC_LIMITS = {"per_company": SYNC_LIMIT_PER_COMPANY, "accounts_guidance": SYNC_LIMIT_ACCOUNTS}
EXAMPLES = 20
PathLike = str | os.PathLike[str]


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
    parts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # table -> [{file, rows}]
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "company": self.company,
            "files": self.files,
            "rows": self.rows,
            "parts": self.parts,
            "limits": dict(SYNC_LIMITS),
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
    """One table's columns of interest over all its parts as arrow arrays, normalized (trimmed,
    lower case) for matching.

    Arrow, not Python lists: a million-row export costs tens of MB here, not hundreds.
    """

    def __init__(self, table: str, paths: list[str], rule: CompanyRule | None, default_company: str) -> None:
        self.table, self.paths = table, paths
        checked = TABLES[table].checked
        self.wanted = {
            "name": checked.name,
            "number": checked.number,
            "company_name": checked.account,
            "parent": checked.header[1] if checked.header else None,
        }
        self.rule, self.default_company = rule, default_company
        self.raw: dict[str, list[pa.Array]] = {k: [] for k, c in self.wanted.items() if c is not None}
        self.raw["guid"] = []
        self.companies_raw: list[pa.Array] = []
        self.rows = 0
        self.part_rows: list[tuple[str, int]] = []
        first: tuple[str, list[str]] | None = None
        for path in paths:
            source = open_source(path)
            names = source.headers
            if first is None:
                first = (os.path.basename(path), names)
                _require_columns(table, source.headers)
            elif differ := column_difference(first[1], names):
                raise EngineError(
                    f"{os.path.basename(path)!r} does not have the same columns as {first[0]!r} ({differ}): "
                    "export every part from the same view"
                )
            self._read(source)
        self.values = {k: _concat(v) for k, v in self.raw.items() if v}
        self.normal = {k: pc.utf8_lower(pc.utf8_trim_whitespace(v)) for k, v in self.values.items()}
        if "guid" in self.normal:
            self.normal["guid"] = pc.utf8_trim(self.normal["guid"], "{}")
        self.companies = _concat(self.companies_raw)

    def _read(self, source: Source) -> None:
        normed = [norm(h) for h in source.headers]
        cols = {k: i for k, c in self.wanted.items() if c is not None and (i := find(normed, c)) is not None}
        guid = guid_column(TABLES[self.table], normed)
        if guid is not None:
            cols["guid"] = guid
        rule = self.rule
        column = rule.column_for(self.table) if rule else None
        rule_col = find(normed, Col(column, column)) if column else None
        lookup = rule.lookup() if rule else {}
        default = self.default_company
        rows = 0
        for batch in source.batches():
            for key in self.raw:
                i = cols.get(key)
                self.raw[key].append(batch.text(i) if i is not None else pa.repeat("", batch.num_rows))
            if rule_col is not None:
                keys = pc.utf8_lower(pc.utf8_trim_whitespace(batch.text(rule_col)))
                self.companies_raw.append(map_text(keys, lambda t: lookup.get(t, default)))
            else:
                self.companies_raw.append(pa.repeat(pa.scalar(default, pa.string()), batch.num_rows))
            rows += batch.num_rows
        self.rows += rows
        self.part_rows.append((os.path.basename(source.path), rows))


def _require_columns(table: str, headers: list[str]) -> None:
    """A table whose required P2C columns are missing is fatal for that table, named with them."""
    declared = TABLES[table]
    normed = [norm(h) for h in headers]
    missing = [
        declared.columns[r].display for r in declared.required if find(normed, declared.columns[r]) is None
    ]
    if missing:
        raise EngineError(
            f"required column(s) missing: {', '.join(missing)}: "
            "add them to the view in Sales and export again"
        )


def _concat(arrays: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())


def _pairs(counts: pa.StructArray) -> list[tuple[str, int]]:
    """(value, count) pairs of a value_counts result, sorted."""
    return sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))


def _examples(values: pa.Array) -> list[str]:
    return sorted(pc.unique(values).to_pylist())[:EXAMPLES]


def check_exports(
    paths: Mapping[str, PathLike | Sequence[PathLike]],
    company: str = "",
    company_rule: CompanyRule | None = None,
    *,
    expect_all: bool = True,
    read_whole: Collection[PathLike] = (),
) -> CheckResult:
    """Check the exports together; a table may be given as several parts (a list of paths).

    Unreadable files become findings, never exceptions. `expect_all`: a table not given is
    reported (the web app passes False: it checks the tables in use, "not used" ones have a reason).
    `read_whole`: parts read through the Web API, not exported: Sales' 100,000-row export limit
    cannot have cut them.
    """
    label = company or "(default)"
    result = CheckResult(company=label)
    exports: dict[str, _Export] = {}
    for table, given in paths.items():
        if table not in TABLES:
            raise EngineError(f"unknown table {table!r}: use one of {', '.join(TABLES)}")
        parts = [os.fspath(given)] if isinstance(given, str | os.PathLike) else [os.fspath(p) for p in given]
        result.files[table] = " + ".join(parts)
        try:
            exports[table] = _Export(table, parts, company_rule, label)
        except EngineError as e:
            result.findings.append(Finding("unreadable_file", "error", table, e.message))
            continue
        result.parts[table] = [{"file": f, "rows": n} for f, n in exports[table].part_rows]
    for f in (
        *(_missing_tables(paths) if expect_all else ()),
        *_export_limit(exports, {os.path.basename(os.fspath(p)) for p in read_whole}),
        *_duplicate_records(exports),
        *_orphan_lines(exports),
        *_contacts_without_account(exports),
        *_duplicates(exports),
    ):
        result.findings.append(f)
    _lines_take_header_company(exports)
    _count_rows(result, exports)
    return result


def _export_limit(exports: dict[str, _Export], read_whole: set[str]) -> Iterator[Finding]:
    for table, export in exports.items():
        cut = [f for f, n in export.part_rows if n == EXPORT_LIMIT_ROWS and f not in read_whole]
        if cut:
            yield Finding(
                "export_limit_reached",
                "warning",
                table,
                f"{len(cut)} part(s) have exactly {EXPORT_LIMIT_ROWS:,} data rows: probably cut off at "
                "Sales' export limit: export the rest as another part",
                len(cut),
                cut,
            )


def _duplicate_records(exports: dict[str, _Export]) -> Iterator[Finding]:
    for table, export in exports.items():
        guids = export.normal.get("guid")
        if guids is None:
            continue
        counts = pc.value_counts(guids.filter(pc.not_equal(guids, "")))
        dups = counts.filter(pc.greater(counts.field("counts"), 1))
        if len(dups):
            pairs = _pairs(dups)
            yield Finding(
                "duplicate_record",
                "error",
                table,
                f"{len(dups)} record(s) appear more than once (the same GUID in one part or in two)",
                len(dups),
                [f"{g} x{n}" for g, n in pairs[:EXAMPLES]],
            )


def _lines_take_header_company(exports: dict[str, _Export]) -> None:
    """Lines count for the company of their header (matched by name, number or GUID)."""
    for lines_table, table in TABLES.items():
        lines = exports.get(lines_table)
        header = exports.get(table.checked.header[0]) if table.checked.header else None
        if lines is None or header is None or "parent" not in lines.normal:
            continue
        keys = [header.normal[k] for k in ("name", "number", "guid") if k in header.normal]
        if not keys:
            continue
        known = pa.concat_arrays(keys)
        companies = pa.concat_arrays([header.companies] * len(keys))
        at = pc.index_in(pc.utf8_trim(lines.normal["parent"], "{}"), value_set=known)
        lines.companies = pc.coalesce(companies.take(at), lines.companies)


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
            if not TABLES[table].transforms:
                continue
            if table == "account" and SYNC_LIMIT_ACCOUNTS < n <= SYNC_LIMIT_PER_COMPANY:
                result.findings.append(
                    Finding(
                        "over_sync_limit",
                        "warning",
                        table,
                        f"company {company} has {n:,} accounts, over the about {SYNC_LIMIT_ACCOUNTS:,} that "
                        "Customers V3 handles in one initial sync (a guidance figure, not a hard limit: "
                        "the map runs single-threaded within a 24-hour time-out): consider several passes",
                        n,
                    )
                )
            elif n > SYNC_LIMIT_PER_COMPANY:
                result.findings.append(
                    Finding(
                        "over_sync_limit",
                        "warning",
                        table,
                        f"company {company} has {n:,} rows, over initial sync's {SYNC_LIMIT_PER_COMPANY:,} "
                        "per run per legal entity: split the initial sync (e.g. by filter) or run it in "
                        "several passes",
                        n,
                    )
                )


# A part's number after the table's name: order_2, order 2, order-2, order (2), Order products_10.
_PART_SUFFIX = re.compile(r"[\s_\-]*(\(\d+\)|\d+)$")


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.casefold() for t in re.split(r"(\d+)", name)]


def find_exports(folder: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Table -> its parts (files, in name order: order_2 before order_10) for a folder of exports.

    By file name (key, export name or entity, with or without a part number), else by headers.
    """
    names = {norm(t).replace(" ", "_"): t for t in TABLES}
    names |= {norm(i.export_name).replace(" ", "_"): k for k, i in TABLES.items()}
    names |= {i.entity: k for k, i in TABLES.items()}
    found: dict[str, list[str]] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: _natural(e.name)):
        stem, ext = os.path.splitext(entry.name)
        if not entry.is_file() or ext.lower() not in (".csv", ".xlsx") or stem.startswith("."):
            continue
        key = norm(stem).replace(" ", "_").replace("-", "_")
        table = names.get(key) or names.get(_PART_SUFFIX.sub("", key))
        if table is None:
            try:
                table = guess_table(open_source(entry.path).headers)
            except EngineError:
                continue
        if table:
            found.setdefault(table, []).append(entry.path)
    return {t: found[t] for t in TABLES if t in found}
