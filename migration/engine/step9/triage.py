"""Dual-write error triage: each error of an error log classified by the cause Microsoft's
troubleshooting articles document (error_causes), counted per cause, company and table map, and
tied to its row in what was meant to arrive (our step-8 output or import files) by key.

The error log is read in batches (error_logs) and each batch is classified, tied, counted and
written to the list as it comes: memory stays flat whatever the log's size; only the first rows
are kept for the page. A message is classified once however often it repeats. A message no article
documents is `unknown`, never dropped and never guessed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from ..files.formulas import neutralised
from ..files.reading import norm, open_source
from ..files.texthash import text_hashes
from ..files.writing import open_writer
from .error_causes import CAUSES, UNKNOWN, Cause, classify, plain
from .error_logs import error_batches, error_log_form
from .lists import flat
from .located import Paths, as_list, locate, read_located
from .reconcile import COMPANY, SEP, SPECS

__all__ = [
    "CAUSES",
    "UNKNOWN",
    "Triage",
    "classify_message",
    "execution_legs",
    "message_details",
    "triage_errors",
]

LIST_COLUMNS = [
    "file", "row", "key", "company", "table_map", "cause", "field", "value", "message", "our_file", "our_row",
]  # fmt: skip
CACHE_LIMIT = 100_000  # distinct messages remembered: keys in messages make most of them unique

_FIELD_RE = re.compile(r"for the field:?\s*(\w+(?:\.\w+)*)", re.IGNORECASE)
_VALUE_RE = re.compile(
    r"lookup (?:was not|wasn't) found:?\s*(.+?)\.?\s*(?:try this|$)", re.IGNORECASE | re.DOTALL
)
_LEG_RE = re.compile(
    r"Executed leg:\s*From (?P<source>.+?) to (?P<target>.+?)\s+"
    r"with exported records count:\s*(?P<exported>\d+),"
    r"\s*ImportRecordsErrorCount:\s*(?P<errors>\d+),\s*ImportRecordsInsertedCount:\s*(?P<inserted>\d+)"
    r"\s*and\s*ImportRecordsUpdatedCount:\s*(?P<updated>\d+)",
    re.IGNORECASE | re.DOTALL,
)
# "Customer groups (msdyn_customergroups) : Dual write failure ...", "Customers V3 (accounts): ..."
_MAP_RE = re.compile(r"^\s*(?P<map>[A-Z][\w .&/-]{1,80}\([a-z][a-z0-9_]*\))\s*:")


def classify_message(message: str) -> Cause:
    """The first documented cause whose pattern the message matches; UNKNOWN when none does."""
    return classify(message)


def message_details(message: str) -> dict[str, str]:
    """The field and the value a lookup message names, when it names them."""
    text = plain(message or "")
    field_m, value_m = _FIELD_RE.search(text), _VALUE_RE.search(text)
    return {
        "field": field_m[1] if field_m else "",
        "value": value_m[1].strip().strip("'\"") if value_m else "",
    }


def execution_legs(message: str) -> list[dict[str, Any]]:
    """Per leg of an execution summary: source, target, exported, errors, inserted, updated."""
    return [
        {k: (int(v) if v.isdigit() else " ".join(v.split())) for k, v in m.groupdict().items()}
        for m in _LEG_RE.finditer(message or "")
    ]


def table_map_named(message: str) -> str:
    """The table map a message names (its prefix, or an execution leg's entities), else ''."""
    text = message or ""
    if m := _MAP_RE.match(text):
        return " ".join(m["map"].split())
    legs = execution_legs(text)
    return f"{legs[0]['source']} to {legs[0]['target']}" if legs else ""


# --- tying errors to what was meant to arrive ------------------------------------------------------


def _detect_table(headers: list[str]) -> str | None:
    normed = {norm(h) for h in headers}
    for table, specs in SPECS.items():
        if any(n.casefold() in normed for n in specs[0].our_key) and any(
            n.casefold() in normed for n in COMPANY
        ):
            return table
    return None


class _OurRows:
    """The keys of what was meant to arrive, indexed by 64-bit hashes (texthash): each batch of
    errors finds its rows by a binary search, without hashing our million keys again per batch;
    a found row's key is compared with the error's, so a hash collision never ties wrongly."""

    def __init__(self, fold: pa.Array, company: pa.Array, files: pa.Array, rows: pa.Array) -> None:
        self.fold, self.company, self.files, self.rows = fold, company, files, rows
        keyed = np.flatnonzero(pc.not_equal(fold, "").to_numpy(zero_copy_only=False))  # no key: never tied
        self.by_key = _first_of_each(_hashes(fold), keyed)
        company_key = pc.binary_join_element_wise(company, fold, SEP)
        self.by_company_key = _first_of_each(_hashes(company_key), keyed)

    def find(self, fold: pa.Array, company: pa.Array) -> np.ndarray:
        """Per error, the position of its row (-1: none): its own company's first, else any."""
        exact = self._look(self.by_company_key, pc.binary_join_element_wise(company, fold, SEP), fold)
        anywhere = self._look(self.by_key, fold, fold)
        own = np.asarray(pc.not_equal(company, "").to_numpy(zero_copy_only=False), dtype=bool)
        return np.where(own & (exact >= 0), exact, anywhere)

    def _look(self, index: tuple[np.ndarray, np.ndarray], texts: pa.Array, fold: pa.Array) -> np.ndarray:
        hashes, positions = index
        if not len(hashes):
            return np.full(len(texts), -1, np.int64)
        wanted = _hashes(texts)
        at = np.minimum(np.searchsorted(hashes, wanted), len(hashes) - 1)
        found = np.where(hashes[at] == wanted, positions[at], -1)
        hit = found >= 0
        if hit.any():  # the same key, not only the same hash
            same = pc.equal(self.fold.take(pa.array(found[hit])), fold.filter(pa.array(hit)))
            found[np.flatnonzero(hit)[~same.to_numpy(zero_copy_only=False)]] = -1
        return found


HASH_SLICE = 50_000  # texthash keeps powers as long as a slice's bytes: slices keep them small


def _hashes(texts: pa.Array) -> np.ndarray:
    slices = [text_hashes(texts.slice(i, HASH_SLICE)) for i in range(0, len(texts), HASH_SLICE)]
    return np.concatenate(slices) if slices else np.zeros(0, np.uint64)


def _first_of_each(hashes: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct hashes of the texts at `positions`, and the first position holding each."""
    order = positions[np.argsort(hashes[positions], kind="stable")]
    ordered = hashes[order]
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first], order[first].astype(np.int64)


def _our_keys(table: str | None, paths: list[str], shown: dict[str, str]) -> tuple[str, _OurRows]:
    first = open_source(paths[0])
    table = table or _detect_table(list(first.headers))
    if table not in SPECS:
        raise EngineError(
            "cannot tell which table the output is (no Account Number, Contact Person ID, Sales Order Number "
            "or Quote Number column): give the table"
        )
    spec = SPECS[table][0]
    roles = {"key": spec.our_key, "company": COMPANY}
    if table == "contact":  # errors may name the contact by its Contact Number
        roles["number"] = ("Contact Number", "msdynce_contactnumber", "msdyn_contactnumber")
    tables = []
    for i, path in enumerate(paths):
        part = locate(path, roles)
        if "key" not in part.found:
            names = " or ".join(repr(n) for n in spec.our_key)
            raise EngineError(
                f"{os.path.basename(path)!r} has no {names} column: give the {table} step-8 output"
            )
        tables.append(read_located(part, i))
    t = pa.concat_tables(tables, promote_options="default").combine_chunks()
    files = pa.array([shown.get(os.path.basename(p), os.path.basename(p)) for p in paths])
    company = flat(pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(t["company"], ""))))
    named = pc.take(files, t["_part"])
    keys = [flat(_folded(t["key"]))]
    if "number" in t.column_names:
        keys.append(flat(_folded(t["number"])))
    n = len(keys)
    if n == 1:  # no copies: a million keys cost their own bytes once
        return table, _OurRows(keys[0], company, flat(named), flat(t["_row"]))
    return table, _OurRows(
        pa.concat_arrays(keys),
        pa.concat_arrays([company] * n),
        pa.concat_arrays([flat(named)] * n),
        pa.concat_arrays([flat(t["_row"])] * n),
    )


def _folded(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.utf8_lower(pc.utf8_trim_whitespace(pc.fill_null(arr, "")))


def _tie(errors: pd.DataFrame, ours: _OurRows) -> pd.DataFrame:
    """Each error with its row in our files: by key, preferring the row of the error's company,
    and the error's company taken from that row when the log gives none."""
    fold = _folded(pa.array(errors["key"].fillna(""), pa.string()))
    company = pa.array(errors["company"].fillna(""), pa.string())
    at = ours.find(fold, company)
    hit = at >= 0
    take = pa.array(np.where(hit, at, 0))
    text = pd.ArrowDtype(pa.string())
    mask = pa.array(~hit)
    our_company = pd.Series(pc.if_else(mask, None, ours.company.take(take)), dtype=text, index=errors.index)
    return errors.assign(
        company=errors["company"].where(errors["company"] != "", our_company).fillna(""),
        our_file=pd.Series(pc.if_else(mask, None, ours.files.take(take)), dtype=text, index=errors.index),
        our_row=pd.Series(
            pc.if_else(mask, None, ours.rows.take(take)), dtype=pd.ArrowDtype(pa.int64()), index=errors.index
        ),
    )


# --- the result ----------------------------------------------------------------------------------


@dataclass
class Triage:
    errors: pd.DataFrame  # the first rows of the list (all of them when no limit was given)
    columns: dict[str, dict[str, str | None]]  # per file: its form and the columns read
    table: str | None = None
    legs: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    tied: int = 0
    tally: Counter = field(default_factory=Counter)  # (cause, company, table map) -> errors
    ours_files: list[str] = field(default_factory=list)

    def counts(self) -> list[dict[str, Any]]:
        """Errors per cause, company and table map ('' when unknown)."""
        return [
            {"cause": cause, "company": company, "table_map": table_map, "errors": n}
            for (cause, company, table_map), n in sorted(self.tally.items())
        ]

    def causes(self) -> list[dict[str, Any]]:
        totals: Counter = Counter()
        for (cause, _, _), n in self.tally.items():
            totals[cause] += n
        return [
            {
                "cause": c.code,
                "title": c.title,
                "errors": totals[c.code],
                "why": c.why,
                "what_to_do": c.action,
                "article": c.article.title,
                "link": c.link,
            }
            for c in (*CAUSES, UNKNOWN)
            if totals[c.code]
        ]

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        rows = self.errors if limit is None else self.errors.head(limit)
        return {
            "table": self.table,
            "columns_used": self.columns,
            "errors_total": self.total,
            "tied_to_output": self.tied,
            "causes": self.causes(),
            "counts": self.counts(),
            "legs": self.legs,
            "errors": rows.astype(object).where(rows.notna(), None).to_dict("records"),
            "errors_truncated_to": limit,
        }

    def summary_text(self) -> str:
        lines = [f"{self.total} errors; {self.tied} tied to our output"]
        for c in self.causes():
            lines.append(f"  {c['cause']}: {c['errors']} - {c['title']}. {c['what_to_do']} {c['link']}")
        return "\n".join(lines)


class _Classifier:
    """Cause, field and value of each distinct message, computed once."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, str, str, str]] = {}
        self.legs: list[dict[str, Any]] = []
        self._legs_of: set[str] = set()

    def __call__(self, message: str, default_map: str) -> tuple[str, str, str, str]:
        known = self.seen.get(message)
        if known is not None:
            return known
        details = message_details(message)
        found = (
            classify(message).code,
            details["field"],
            details["value"],
            table_map_named(message) or default_map,
        )
        if len(self.seen) < CACHE_LIMIT:
            self.seen[message] = found
        if (
            "executed leg" in message.casefold()
            and message not in self._legs_of
            and len(self._legs_of) < 1000
        ):
            self._legs_of.add(message)
            self.legs += execution_legs(message)
        return found


def _classified(batch: pa.Table, shown: str, classify_one: _Classifier, default_map: str) -> pd.DataFrame:
    df = batch.to_pandas(types_mapper=pd.ArrowDtype)
    df = df[df["message"].fillna("").str.strip() != ""].reset_index(drop=True)
    found = [classify_one(m, default_map) for m in df["message"].tolist()]
    text = pd.ArrowDtype(pa.string())
    return df.assign(
        file=pd.Series([shown] * len(df), dtype=text),
        key=df["key"].fillna("").str.strip(),
        company=df["company"].fillna("").str.strip().str.upper(),
        table_map=pd.Series([f[3] for f in found], dtype=text),
        cause=pd.Series([f[0] for f in found], dtype=text),
        field=pd.Series([f[1] for f in found], dtype=text),
        value=pd.Series([f[2] for f in found], dtype=text),
    )


def _list_columns(df: pd.DataFrame, csv: bool) -> list[pa.Array]:
    columns = [pa.array(df[c].astype("string[pyarrow]").fillna(""), pa.string()) for c in LIST_COLUMNS]
    columns = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    return [neutralised(c) for c in columns] if csv else columns


def triage_errors(
    errors: Paths,
    *,
    outputs: Paths | None = None,
    table: str | None = None,
    list_path: str | os.PathLike[str] | None = None,
    keep: int | None = None,
    shown: dict[str, str] | None = None,
) -> Triage:
    """Classify every error of the error log(s) by cause, count, and tie each to its row in
    `outputs` (what was meant to arrive) by key. `list_path`: every error, written as read (CSV
    lists are neutralised for spreadsheets). `keep`: rows kept in memory for the page (all when
    None). `shown`: the names people know the files by, from their base names."""
    paths, shown = as_list(errors), shown or {}
    forms = [error_log_form(p, shown.get(os.path.basename(p))) for p in paths]
    ours = None
    our_paths = as_list(outputs) if outputs is not None else []
    if our_paths:
        table, ours = _our_keys(table, our_paths, shown)
    default_map = SPECS[table][0].entity if table in SPECS else ""
    writer = open_writer(os.fspath(list_path), LIST_COLUMNS, set(), "Errors") if list_path else None
    result = Triage(
        pd.DataFrame(columns=LIST_COLUMNS),
        {shown.get(os.path.basename(f.path), os.path.basename(f.path)): f.describe() for f in forms},
        table,
        ours_files=[shown.get(os.path.basename(p), os.path.basename(p)) for p in our_paths],
    )
    kept: list[pd.DataFrame] = []
    classify_one = _Classifier()
    try:
        for form in forms:
            name = shown.get(os.path.basename(form.path), os.path.basename(form.path))
            for batch in error_batches(form):
                df = _batch_result(_classified(batch, name, classify_one, default_map), ours)
                _count(result, df)
                if writer is not None and len(df):
                    writer.write_columns(_list_columns(df, os.fspath(list_path).lower().endswith(".csv")))
                room = (keep - sum(len(k) for k in kept)) if keep is not None else len(df)
                if room > 0:
                    kept.append(df.head(room))
        if writer is not None:
            writer.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    result.legs = classify_one.legs
    if kept:
        result.errors = pd.concat(kept, ignore_index=True)[LIST_COLUMNS]
    return result


def _batch_result(df: pd.DataFrame, ours: _OurRows | None) -> pd.DataFrame:
    if ours is not None:
        return _tie(df, ours)
    return df.assign(
        our_file=pd.Series([None] * len(df), dtype=pd.ArrowDtype(pa.string())),
        our_row=pd.Series([None] * len(df), dtype=pd.ArrowDtype(pa.int64())),
    )


def _count(result: Triage, df: pd.DataFrame) -> None:
    result.total += len(df)
    result.tied += int(df["our_row"].notna().sum())
    grouped = df.groupby(["cause", "company", "table_map"], sort=False, dropna=False).size()
    for (cause, company, table_map), n in grouped.items():
        result.tally[(str(cause), str(company or ""), str(table_map or ""))] += int(n)
