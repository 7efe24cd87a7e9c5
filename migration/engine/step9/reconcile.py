"""Step-9 reconciliation: what should have synced (our step-8 output) against what Finance and
Operations holds after dual-write's initial sync (a data management export of the entity).

Our side keeps only the rows dual-write's filters let through (reference.md, "Finance and
Operations side"): accounts whose Relationship Type is Customer; sellable contacts with a Contact
Person ID (Customers V3) or, against a Contact persons export, the not-sellable ones with an ID;
Item-based orders and quotes (quotes in Draft or Active state when the output has a Status
column). Rows are matched by business key and company, both compared trimmed and without case
(F&O writes companies in lower case). Values are compared as F&O stores them: text trimmed and
without case, dates by calendar date (F&O's empty date, 1900-01-01, counts as empty).

Lines (order and quote products) have no business key of their own that both sides share: they
are matched per order (or quote) number and company, by count; the missing-rows file then holds
every line of each short order, for a re-sync that upserts them.

Pure pandas on pyarrow-backed dtypes: 1,000,000 rows a side in a few seconds (bench/reconcile.py).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from ..files.reading import norm, open_source
from ..rules import dates
from ..rules.schema import Compare, EntitySpec
from ..tables import TABLES
from .lists import write_frame, write_source_rows
from .located import LocatedFile, Paths, as_list, locate, read_located

SEP = "\x1f"
FNO_EMPTY_DATE = "1900-01-01"


COMPANY = ("Company", "msdyn_company")
FNO_COMPANY = ("DATAAREAID",)
# Each table declares its F&O entities (engine/tables/<t>.py). Headers before their lines: a
# line's output also carries its header's number, so detecting a file tries the header first.
SPECS: dict[str, tuple[EntitySpec, ...]] = {
    t.key: t.fno_entities
    for t in sorted(
        (t for t in TABLES.values() if t.fno_entities), key=lambda t: (t.fno_entities[0].lines, t.position)
    )
}
RECONCILED_TABLES = tuple(SPECS)


def _clean(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_trim_whitespace(arr)


def _fold(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_lower(pc.utf8_trim_whitespace(arr))


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _missing_column(what: str, names: tuple[str, ...], part: LocatedFile, hint: str) -> EngineError:
    shown = ", ".join(repr(h) for h in part.headers[:30])
    accepted = " or ".join(repr(n) for n in names)
    return EngineError(
        f"{os.path.basename(part.path)!r} has no {what} column (accepted: {accepted}); "
        f"headers found: {shown}. {hint}"
    )


def _pick_spec(table: str, fno_parts: list[str], entity: str | None) -> EntitySpec:
    if table not in SPECS:
        raise EngineError(f"table {table!r} is not reconciled: use one of {', '.join(SPECS)}")
    options = SPECS[table]
    if entity:
        for spec in options:
            if spec.entity.casefold().startswith(entity.casefold()):
                return spec
        raise EngineError(f"entity {entity!r} is not one of {', '.join(s.entity for s in options)}")
    if len(options) == 1:
        return options[0]
    headers = {norm(h) for h in open_source(fno_parts[0]).headers}
    for spec in options:
        if any(k.casefold() in headers for k in spec.fno_key):
            return spec
    keys = " or ".join(k for s in options for k in s.fno_key)
    raise EngineError(
        f"the F&O export has no {keys} column: export Customers V3 or Contact persons with field names"
    )


def check_fno_export(
    path: str | os.PathLike[str], table: str, entity: str | None = None, name: str | None = None
) -> None:
    """Refuse, before it is kept, an F&O export that cannot be reconciled: unreadable, two columns
    of one name, or without the entity's key column. `name`: the file's name as uploaded."""
    path = os.fspath(path)
    spec = _pick_spec(table, [path], entity)
    part = locate(path, {"key": spec.fno_key})
    part.path = name or part.path
    if "key" not in part.found:
        hint = f"Export the {spec.entity} entity from Data management with its field names"
        raise _missing_column("key", spec.fno_key, part, hint)


def _read_ours(spec: EntitySpec, paths: list[str]) -> tuple[pa.Table, list[str], list[str]]:
    roles: dict[str, tuple[str, ...]] = {"key": spec.our_key, "company": COMPANY}
    roles |= {f"keep{i}": k.column for i, k in enumerate(spec.keep)}
    roles |= {f"ours_{c.name}": c.ours for c in spec.compares}
    tables, skipped_keeps = [], set()
    compared = {c.name for c in spec.compares}
    for i, path in enumerate(paths):
        part = locate(path, roles)
        hint = f"Give the step-8 output of the {spec.table} table"
        if "key" not in part.found:
            raise _missing_column("key", spec.our_key, part, hint)
        if "company" not in part.found:
            raise _missing_column("Company", COMPANY, part, hint)
        for j, k in enumerate(spec.keep):
            if f"keep{j}" not in part.found:
                if k.required:
                    raise _missing_column(
                        "filter",
                        k.column,
                        part,
                        f"{hint}: dual-write syncs only rows where {spec.filter_text}",
                    )
                skipped_keeps.add(j)
        compared &= {c.name for c in spec.compares if f"ours_{c.name}" in part.found}
        tables.append(read_located(part, i))
    table = pa.concat_tables(tables, promote_options="default")
    keep = pa.chunked_array([pa.array([True] * table.num_rows)]) if table.num_rows else None
    for j, k in enumerate(spec.keep):
        if j in skipped_keeps or f"keep{j}" not in table.column_names:
            continue
        ok = pc.is_in(_fold(pc.fill_null(table[f"keep{j}"], "")), pa.array(sorted(k.values)))
        keep = pc.and_(keep, ok) if keep is not None else ok
    table = table.append_column("_kept", keep if keep is not None else pa.array([], pa.bool_()))
    return _finish(table), sorted(compared), [spec.keep[j].column[0] for j in sorted(skipped_keeps)]


def _file_company(path: str, company: str, companies: Mapping[str, str]) -> str:
    """The company of an F&O export without DATAAREAID: given for this file, else for all."""
    given = companies.get(path) or companies.get(os.path.basename(path)) or company
    return given.strip().upper()


def _read_fno(
    spec: EntitySpec, paths: list[str], company: str, companies: Mapping[str, str]
) -> tuple[pa.Table, list[str]]:
    roles: dict[str, tuple[str, ...]] = {"key": spec.fno_key, "company": FNO_COMPANY}
    roles |= {f"fno_{c.name}": c.fno for c in spec.compares}
    if spec.fno_party_type:
        roles["party_type"] = ("PARTYTYPE",)
    if spec.lines:
        roles["line"] = ("LINENUMBER", "LINECREATIONSEQUENCENUMBER")
    tables, compared = [], {c.name for c in spec.compares}
    hint = f"Export the {spec.entity} entity from Data management with its field names"
    for i, path in enumerate(paths):
        part = locate(path, roles)
        if "key" not in part.found:
            raise _missing_column("key", spec.fno_key, part, hint)
        file_company = _file_company(path, company, companies)
        if "company" not in part.found and not file_company:
            raise _missing_column(
                "company", FNO_COMPANY, part, hint + ", or give the company of this file (it holds one)"
            )
        compared &= {c.name for c in spec.compares if f"fno_{c.name}" in part.found}
        table = read_located(part, i)
        if "company" not in part.found:
            table = table.append_column("company", pa.array([file_company] * table.num_rows, pa.string()))
        tables.append(table)
    table = pa.concat_tables(tables, promote_options="default")
    if "party_type" in table.column_names:
        pt = _fold(pc.fill_null(table["party_type"], ""))
        ok = pc.or_(pc.equal(pt, spec.fno_party_type), pc.equal(pt, ""))
        table = table.filter(ok)
    return _finish(table), sorted(compared)


def _finish(table: pa.Table) -> pa.Table:
    """Join columns: key and company as shown (trimmed) and as matched (folded)."""
    key = _clean(pc.fill_null(table["key"], ""))
    comp = pc.utf8_upper(_clean(pc.fill_null(table["company"], "")))
    table = table.set_column(table.column_names.index("key"), "key", key)
    table = table.set_column(table.column_names.index("company"), "company", comp)
    return table.append_column("_k", pc.binary_join_element_wise(comp, pc.utf8_lower(key), SEP))


def _encode(ours: pa.Table, fno: pa.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Company + key as one integer code shared by both sides: pandas then joins, groups and finds
    duplicates on integers, several times faster and smaller than on 1M strings a side."""
    both = pa.chunked_array(ours["_k"].chunks + fno["_k"].chunks, pa.string())
    codes = pc.dictionary_encode(both).combine_chunks().indices.cast(pa.int64())
    n = ours.num_rows
    ours = ours.set_column(ours.column_names.index("_k"), "_k", codes.slice(0, n))
    fno = fno.set_column(fno.column_names.index("_k"), "_k", codes.slice(n))
    return _to_pandas(ours), _to_pandas(fno)


# --- comparing -------------------------------------------------------------------------------


def _calendar_day(text: str, order: str) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        day = text[:10]
    else:
        parsed = dates.parse(text, order)
        day = parsed.isoformat() if isinstance(parsed, dt.date) else text
    return "" if day == FNO_EMPTY_DATE else day


def _comparable(values: pd.Series, kind: str, order: str) -> pd.Series:
    arr = pc.fill_null(pa.array(values), "")
    if kind == "date":
        uniques = pc.unique(arr)
        mapped = pa.array([_calendar_day(v, order) for v in uniques.to_pylist()], pa.string())
        arr = pc.take(mapped, pc.index_in(arr, uniques))
    else:
        arr = _fold(arr)
    return pd.Series(arr, index=values.index, dtype=pd.ArrowDtype(pa.string()))


@dataclass
class Reconciliation:
    """The outcome; the lists are DataFrames (ArrowDtype) so they export as they are."""

    table: str
    entity: str
    filter_text: str
    ours_files: list[str]
    fno_files: list[str]
    compared: list[str]
    not_compared: list[str]
    filter_columns_absent: list[str]
    counts: pd.DataFrame  # per company: expected, arrived, missing, unexpected, differing
    missing: pd.DataFrame  # company, key, file, row (our output)
    unexpected: pd.DataFrame  # company, key, file, row (F&O export)
    differences: pd.DataFrame  # company, key, column, expected, found, file, row
    # Values F&O gave where we left the field empty for it to fill: company, key, column, found, file, row
    assigned: pd.DataFrame = field(default_factory=pd.DataFrame)
    fields: list[Compare] = field(default_factory=list)
    ours_rows: int = 0
    filtered_out: int = 0
    duplicate_keys: dict[str, int] = field(default_factory=dict)
    ours_by_company: dict[str, int] = field(default_factory=dict)  # our output's rows, before the filter
    _missing_rows: dict[int, list[int]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.missing.empty and self.differences.empty and self.unexpected.empty

    def totals(self) -> dict[str, int]:
        return {c: int(self.counts[c].sum()) for c in self.counts.columns if c != "company"}

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            part = df if limit is None else df.head(limit)
            return part.astype(object).where(part.notna(), None).to_dict("records")

        return {
            "table": self.table,
            "entity": self.entity,
            "filter": self.filter_text,
            "filter_columns_absent": self.filter_columns_absent,
            "ok": self.ok,
            "ours": {
                "files": self.ours_files,
                "rows": self.ours_rows,
                "filtered_out": self.filtered_out,
                "by_company": self.ours_by_company,
            },
            "fno": {"files": self.fno_files},
            "compared_columns": self.compared,
            "not_compared_columns": self.not_compared,
            "fields": self.fields_report(),
            "duplicate_keys": self.duplicate_keys,
            "totals": self.totals(),
            "companies": rows(self.counts),
            "missing": rows(self.missing),
            "unexpected": rows(self.unexpected),
            "differences": rows(self.differences),
            "assigned": rows(self.assigned),
            "lists_truncated_to": limit,
        }

    def fields_report(self) -> list[dict[str, Any]]:
        """Each field we set: compared or not (and why not), and when F&O assigns it, why."""
        return [
            {
                "name": c.name,
                "ours": c.ours[0],
                "fno": c.fno[0],
                "compared": c.name in self.compared,
                "why_not_compared": "" if c.name in self.compared else "a side's file has no such column",
                "assigned_by_fno": c.assigned_by_fno,
            }
            for c in self.fields
        ]

    def summary_text(self) -> str:
        t = self.totals()
        lines = [
            f"{self.table} vs {self.entity}: expected {t['expected']}, arrived {t['arrived']}, "
            f"missing {t['missing']}, unexpected {t['unexpected']}, differing {t['differing']}, "
            f"assigned by F&O {t['assigned']}"
        ]
        for r in self.counts.itertuples(index=False):
            lines.append(
                f"  {r.company or '(no company)'}: expected {r.expected}, arrived {r.arrived}, "
                f"missing {r.missing}, unexpected {r.unexpected}, differing {r.differing}, "
                f"assigned by F&O {r.assigned}"
            )
        for f in self.fields_report():
            state = "compared" if f["compared"] else f"not compared ({f['why_not_compared']})"
            assigned = (
                f"; when ours is empty, assigned by F&O: {f['assigned_by_fno']}"
                if f["assigned_by_fno"]
                else ""
            )
            lines.append(f"  field {f['name']} ({f['ours']} -> {f['fno']}): {state}{assigned}")
        return "\n".join(lines)

    def write_missing(self, output_path: str | os.PathLike[str]) -> int:
        """Our output's rows that did not arrive, in its own shape (headers, hidden columns, cells)."""
        return write_source_rows(self.ours_files, self._missing_rows, output_path)

    def write_list(self, name: str, output_path: str | os.PathLike[str]) -> int:
        """One list (missing, unexpected, differences) as CSV or xlsx."""
        return write_frame(getattr(self, name), output_path, name)


def reconcile_sync(
    table: str,
    ours: Paths,
    fno: Paths,
    *,
    entity: str | None = None,
    company: str = "",
    companies: Mapping[str, str] | None = None,
    date_order: str = "mdy",
) -> Reconciliation:
    """Compare our step-8 output of `table` (one file or its parts) with the F&O export(s).

    An export without DATAAREAID holds one company: `companies` gives it per file (by path or file
    name), `company` for every file not named there; a file with DATAAREAID keeps its rows' own."""
    ours_files, fno_files = as_list(ours), as_list(fno)
    spec = _pick_spec(table, fno_files, entity)
    our_tbl, our_cmp, absent = _read_ours(spec, ours_files)
    fno_tbl, fno_cmp = _read_fno(spec, fno_files, company, companies or {})
    our_df, fno_df = _encode(our_tbl, fno_tbl)
    del our_tbl, fno_tbl
    compared = [c for c in our_cmp if c in fno_cmp]
    not_compared = [c.name for c in spec.compares if c.name not in compared]
    kept = our_df["_kept"].fillna(False).astype(bool)
    if spec.key_in_filter:
        kept &= (our_df["key"] != "").fillna(False).astype(bool)
    expected = our_df[kept]
    result = Reconciliation(
        table=table,
        entity=spec.entity,
        filter_text=spec.filter_text,
        ours_files=ours_files,
        fno_files=fno_files,
        compared=compared,
        not_compared=not_compared,
        filter_columns_absent=absent,
        counts=pd.DataFrame(),
        missing=pd.DataFrame(),
        unexpected=pd.DataFrame(),
        differences=pd.DataFrame(),
        fields=list(spec.compares),
        ours_rows=len(our_df),
        filtered_out=len(our_df) - len(expected),
        ours_by_company={str(k): int(v) for k, v in our_df["company"].value_counts().sort_index().items()},
    )
    if spec.lines:
        _match_lines(result, expected, fno_df)
    else:
        _match_records(result, spec, expected, fno_df, compared, date_order)
    return result


def _dupes(df: pd.DataFrame) -> int:
    keyed = df[df["key"] != ""]
    return int(keyed["_k"].duplicated().sum())


def _match_records(
    result: Reconciliation,
    spec: EntitySpec,
    expected: pd.DataFrame,
    fno: pd.DataFrame,
    compared: list[str],
    order: str,
) -> None:
    result.duplicate_keys = {"ours": _dupes(expected), "fno": _dupes(fno)}
    keyed = (expected["key"] != "").to_numpy(dtype=bool)
    unkeyed = expected[~keyed]
    # Join on the integer code and row positions only; strings are fetched for the few rows reported.
    ours = pd.DataFrame({"_k": expected["_k"].to_numpy()[keyed], "_i": np.flatnonzero(keyed)})
    fno_keyed = (fno["key"] != "").to_numpy(dtype=bool)
    theirs = pd.DataFrame({"_k": fno["_k"].to_numpy()[fno_keyed], "_j": np.flatnonzero(fno_keyed)})
    ours, theirs = ours.drop_duplicates("_k"), theirs.drop_duplicates("_k")
    merged = ours.merge(theirs, on="_k", how="outer", indicator=True, sort=False)
    state = merged["_merge"].to_numpy()
    both = merged[state == "both"]
    i_both, j_both = both["_i"].to_numpy("int64"), both["_j"].to_numpy("int64")
    left = _rows(expected, merged.loc[state == "left_only", "_i"])
    right = _rows(fno, merged.loc[state == "right_only", "_j"])
    pairs = [_column_diffs(expected, fno, i_both, j_both, c, spec, order) for c in compared]
    diffs = [d for d, _ in pairs]
    assigned = pd.concat([a for _, a in pairs if len(a)] or [_empty_diffs()], ignore_index=True)
    result.assigned = _located(assigned, result.ours_files, extra_cols=["column", "found"])
    moved = _wrong_company(left, right)
    if len(moved):
        diffs.append(moved.drop(columns=["_left_k", "_right_k"]))
        left = left[~left["_k"].isin(moved["_left_k"])]
        right = right[~right["_k"].isin(moved["_right_k"])]
    cols = ["company", "key", "_part", "_row"]
    missing = pd.concat([left[cols], unkeyed[cols]])
    result.missing = _located(missing, result.ours_files)
    result.unexpected = _located(right[cols], result.fno_files)
    differences = pd.concat([d for d in diffs if len(d)] or [_empty_diffs()], ignore_index=True)
    result.differences = _located(differences, result.ours_files, extra_cols=["column", "expected", "found"])
    result._missing_rows = _rows_by_part(missing)
    result.counts = _counts(expected, result.missing, result.unexpected, result.differences, result.assigned)


def _rows(df: pd.DataFrame, positions: pd.Series) -> pd.DataFrame:
    return df.iloc[positions.to_numpy("int64")][["_k", "company", "key", "_part", "_row"]]


def _empty_diffs() -> pd.DataFrame:
    s = pd.Series([], dtype=pd.ArrowDtype(pa.string()))
    i = pd.Series([], dtype=pd.ArrowDtype(pa.int64()))
    return pd.DataFrame(
        {"company": s, "key": s, "column": s, "expected": s, "found": s, "_part": i, "_row": i}
    )


def _column_diffs(
    ours: pd.DataFrame,
    fno: pd.DataFrame,
    i: np.ndarray,
    j: np.ndarray,
    name: str,
    spec: EntitySpec,
    order: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The values of column `name` that differ, and those F&O assigned where we left it empty."""
    compare = next(c for c in spec.compares if c.name == name)
    expected = ours[f"ours_{name}"].iloc[i].reset_index(drop=True)
    found = fno[f"fno_{name}"].iloc[j].reset_index(drop=True)
    ours_c, theirs_c = _comparable(expected, compare.kind, order), _comparable(found, compare.kind, order)
    differ = (ours_c != theirs_c).to_numpy(dtype=bool)
    assigned = np.zeros(len(differ), dtype=bool)
    if compare.assigned_by_fno:
        assigned = differ & (ours_c == "").to_numpy(dtype=bool)
        differ &= ~assigned

    def listed(mask: np.ndarray) -> pd.DataFrame:
        sub = ours.iloc[i[mask]]
        return pd.DataFrame(
            {
                "company": sub["company"].to_numpy(),
                "key": sub["key"].to_numpy(),
                "column": pd.Series([name] * int(mask.sum()), dtype=pd.ArrowDtype(pa.string())).to_numpy(),
                "expected": expected[mask].fillna("").to_numpy(),
                "found": found[mask].fillna("").to_numpy(),
                "_part": sub["_part"].to_numpy(),
                "_row": sub["_row"].to_numpy(),
            }
        )

    return listed(differ), listed(assigned)


def _wrong_company(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Records that arrived under another company: one difference on company, not missing + extra."""
    if left.empty or right.empty:
        return _empty_diffs().iloc[:0]
    lk = left.assign(_fold=left["key"].str.lower())
    rk = right.assign(_fold=right["key"].str.lower())
    lk = lk[~lk["_fold"].duplicated(keep=False)]
    rk = rk[~rk["_fold"].duplicated(keep=False)]
    pairs = lk[["_fold", "_k", "company", "key", "_part", "_row"]].merge(
        rk[["_fold", "_k", "company"]], on="_fold", how="inner", suffixes=("", "_right")
    )
    return pd.DataFrame(
        {
            "company": pairs["company"],
            "key": pairs["key"],
            "column": pd.Series("company", index=pairs.index, dtype=pd.ArrowDtype(pa.string())),
            "expected": pairs["company"],
            "found": pairs["company_right"],
            "_part": pairs["_part"],
            "_row": pairs["_row"],
            "_left_k": pairs["_k"],
            "_right_k": pairs["_k_right"],
        }
    )


def _match_lines(result: Reconciliation, expected: pd.DataFrame, fno: pd.DataFrame) -> None:
    """Per order and company: lines expected against lines arrived."""
    n = expected.groupby("_k", sort=False).size().rename("expected")
    m = fno.groupby("_k", sort=False).size().rename("arrived")
    per = pd.concat([n, m], axis=1).fillna(0).astype("int64")
    short = per.index[per["expected"] > per["arrived"]]
    over = per[per["arrived"] > per["expected"]]
    missing = expected[expected["_k"].isin(short)]
    result.missing = _located(missing[["company", "key", "_part", "_row"]], result.ours_files)
    fno_over = fno[fno["_k"].isin(over.index)]
    seq = fno_over.groupby("_k", sort=False).cumcount() + 1
    allowed = fno_over["_k"].map(per["expected"]).astype("int64")
    extra = fno_over[(seq > allowed).to_numpy()]
    result.unexpected = _located(extra[["company", "key", "_part", "_row"]], result.fno_files)
    result.differences = _located(
        _empty_diffs(), result.ours_files, extra_cols=["column", "expected", "found"]
    )
    result._missing_rows = _rows_by_part(missing)
    company_of = expected.drop_duplicates("_k").set_index("_k")["company"]
    company_of = pd.concat([company_of, fno.drop_duplicates("_k").set_index("_k")["company"]])
    per["company"] = company_of[~company_of.index.duplicated()].reindex(per.index).fillna("")
    per["arrived_ok"] = per[["expected", "arrived"]].min(axis=1)
    per["missing"] = per["expected"] - per["arrived_ok"]
    per["unexpected"] = per["arrived"] - per["arrived_ok"]
    counts = per.groupby("company", sort=True)[["expected", "arrived_ok", "missing", "unexpected"]].sum()
    counts = counts.rename(columns={"arrived_ok": "arrived"}).reset_index()
    counts["differing"] = 0
    counts["assigned"] = 0
    result.assigned = _located(_empty_diffs(), result.ours_files, extra_cols=["column", "found"])
    result.counts = counts[COUNTS]
    result.counts = result.counts[(result.counts[["expected", "arrived", "unexpected"]].sum(axis=1) > 0)]
    result.counts = result.counts.reset_index(drop=True)


def _located(df: pd.DataFrame, files: list[str], extra_cols: Sequence[str] = ()) -> pd.DataFrame:
    """Replace the part index by the file name; rows sorted by company, file, row."""
    names = pd.Series([os.path.basename(f) for f in files])
    out = pd.DataFrame(
        {
            "company": df["company"].astype(pd.ArrowDtype(pa.string())),
            "key": df["key"].astype(pd.ArrowDtype(pa.string())),
            **{c: df[c].astype(pd.ArrowDtype(pa.string())) for c in extra_cols},
            "file": pd.Series(
                names.to_numpy()[df["_part"].astype("int64").to_numpy()] if len(df) else [],
                index=df.index,
                dtype=pd.ArrowDtype(pa.string()),
            ),
            "row": df["_row"].astype(pd.ArrowDtype(pa.int64())),
        }
    )
    return out.sort_values(["company", "file", "row"], kind="stable").reset_index(drop=True)


def _rows_by_part(df: pd.DataFrame) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for part, rows in df.groupby(df["_part"].astype("int64"))["_row"]:
        out[int(part)] = sorted(int(r) for r in rows)
    return out


COUNTS = ["company", "expected", "arrived", "missing", "unexpected", "differing", "assigned"]


def _counts(
    expected: pd.DataFrame,
    missing: pd.DataFrame,
    unexpected: pd.DataFrame,
    differences: pd.DataFrame,
    assigned: pd.DataFrame,
) -> pd.DataFrame:
    exp = expected["company"].value_counts().rename("expected")
    miss = missing["company"].value_counts().rename("missing")
    extra = unexpected["company"].value_counts().rename("unexpected")
    differing = differences.drop_duplicates(["company", "key", "file", "row"])["company"]
    diff = differing.value_counts().rename("differing")
    given = assigned["company"].value_counts().rename("assigned")
    counts = pd.concat([exp, miss, extra, diff, given], axis=1).fillna(0).astype("int64")
    counts["arrived"] = counts["expected"] - counts["missing"]
    counts.index.name = "company"
    counts = counts.reset_index().sort_values("company").reset_index(drop=True)
    counts["company"] = counts["company"].astype(pd.ArrowDtype(pa.string()))
    return counts[COUNTS]
