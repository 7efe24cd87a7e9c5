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

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .error_causes import CAUSES, UNKNOWN, Cause, classify, plain
from .error_logs import error_batches, error_log_form
from .errors import EngineError
from .reading import open_source
from .reconcile import COMPANY, SPECS, Paths, _as_list, _locate, _norm, _read
from .rules import neutralised
from .writing import open_writer

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
    normed = {_norm(h) for h in headers}
    for table, specs in SPECS.items():
        if any(n.casefold() in normed for n in specs[0].our_key) and any(
            n.casefold() in normed for n in COMPANY
        ):
            return table
    return None


def _our_keys(table: str | None, paths: list[str], shown: dict[str, str]) -> tuple[str, pd.DataFrame]:
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
        part = _locate(path, roles)
        if "key" not in part.found:
            names = " or ".join(repr(n) for n in spec.our_key)
            raise EngineError(
                f"{os.path.basename(path)!r} has no {names} column: give the {table} step-8 output"
            )
        tables.append(_read(part, i))
    t = pa.concat_tables(tables, promote_options="default")
    files = pa.array([shown.get(os.path.basename(p), os.path.basename(p)) for p in paths])
    frame = pd.DataFrame(
        {
            "_fold": _folded(t["key"]),
            "our_company": pd.Series(
                pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(t["company"], ""))),
                dtype=pd.ArrowDtype(pa.string()),
            ),
            "our_file": pd.Series(pc.take(files, t["_part"]), dtype=pd.ArrowDtype(pa.string())),
            "our_row": pd.Series(t["_row"], dtype=pd.ArrowDtype(pa.int64())),
        }
    )
    if "number" in t.column_names:
        frame = pd.concat([frame, frame.assign(_fold=_folded(t["number"]))], ignore_index=True)
    frame = frame[frame["_fold"] != ""].drop_duplicates(["_fold", "our_company"])
    return table, frame


def _folded(arr: pa.ChunkedArray | pa.Array) -> pd.Series:
    return pd.Series(
        pc.utf8_lower(pc.utf8_trim_whitespace(pc.fill_null(arr, ""))), dtype=pd.ArrowDtype(pa.string())
    )


def _tie(errors: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """Each error with its row in our files: by key, preferring the row of the error's company."""
    errors = errors.assign(_fold=errors["key"].str.strip().str.lower(), _n=range(len(errors)))
    merged = errors.merge(ours, on="_fold", how="left", sort=False)
    own = merged["company"].fillna("")
    same = (own == merged["our_company"].fillna("")) | (own == "")
    merged = merged.assign(_pref=(~same.fillna(False).astype(bool)).astype(int))
    merged = merged.sort_values(["_n", "_pref"], kind="stable").drop_duplicates("_n")
    merged = merged.drop(columns=["_fold", "_pref"]).set_index("_n").sort_index().reset_index(drop=True)
    merged["company"] = merged["company"].where(merged["company"] != "", merged["our_company"]).fillna("")
    return merged.drop(columns=["our_company"])


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
    paths, shown = _as_list(errors), shown or {}
    forms = [error_log_form(p, shown.get(os.path.basename(p))) for p in paths]
    ours = None
    our_paths = _as_list(outputs) if outputs is not None else []
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


def _batch_result(df: pd.DataFrame, ours: pd.DataFrame | None) -> pd.DataFrame:
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
