"""Initial-sync error triage: classify the errors of a dual-write initial sync by cause.

Input: the errors as people have them (copied from the dual-write page's Initial sync details,
the downloaded activity log, or the FinOps job's execution log saved as CSV or xlsx): one row per
error with at least a message, usually a record key, sometimes a company. Column names vary;
they are found by likely names in any case.

Causes are those of Microsoft's troubleshooting articles (links in CAUSES). The first cause whose
pattern matches wins, so the specific ones come first. A message that matches none is kept as
`unknown`, never dropped. With our step-8 output, each error is tied to its row there by key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import EngineError
from .reading import open_source
from .reconcile import COMPANY, SPECS, Paths, _as_list, _locate, _norm, _read, write_frame

_DW = "https://learn.microsoft.com/dynamics365/fin-ops-core/dev-itpro/data-entities/dual-write/"
TROUBLESHOOT = _DW + "dual-write-troubleshooting-initial-sync"
GUIDANCE = _DW + "initial-sync-guidance"
ERRORS_AND_ALERTS = _DW + "errors-and-alerts"
LIVE_SYNC = _DW + "dual-write-troubleshooting-live-sync"
P2C_MIGRATION = _DW + "migrate-prospect-to-cash"


@dataclass(frozen=True)
class Cause:
    code: str
    title: str
    patterns: tuple[str, ...]
    action: str
    link: str

    def matches(self, text: str) -> bool:
        return any(re.search(p, text, re.IGNORECASE | re.DOTALL) for p in self.patterns)


_NOT_RESOLVED = r"(couldn't|could not|cannot|can't|unable to) resolve the guid"
CAUSES: tuple[Cause, ...] = (
    Cause(
        "circular_reference",
        "Self or circular reference (contact person, invoice account, primary contact)",
        (
            _NOT_RESOLVED + r".{0,40}(primarycontact|contactperson|billingaccount|invoiceaccount|"
            r"invoicevendor|vendorprimarycontact)",
        ),
        "Two passes: remove ContactPersonID and InvoiceAccount (the field named) from the map, turn off "
        "change tracking on the entity, run initial sync, sync the contacts, add the fields back and run "
        "initial sync again; then turn change tracking back on.",
        TROUBLESHOOT + "#error-customer-map",
    ),
    Cause(
        "party_not_found",
        "Party not found in Dataverse",
        (r"party number (couldn't|could not|can't|cannot) be found",),
        "Run the initial sync of CDS Parties (msdyn_parties) first; parties other than Person and "
        "Organization don't sync (a known issue).",
        TROUBLESHOOT
        + "#known-issue-during-initial-sync-of-party-postal-addresses-and-party-electronic-addresses",
    ),
    Cause(
        "too_many_lookups",
        "Map with more than 10 lookups",
        (r"attempts to get data from", r"(more than|10 or more) (10 )?lookup"),
        "Remove optional lookup fields so that 10 or fewer remain, run initial sync, repeat with the "
        "other lookups, then add all back and run the map with Skip initial sync.",
        TROUBLESHOOT + "#initial-sync-failure-on-maps-with-more-than-10-lookup-fields",
    ),
    Cause(
        "lookup_not_found",
        "A lookup could not be resolved: reference data missing (company, customer group, ...)",
        (
            _NOT_RESOLVED,
            r"lookup (was not|wasn't) found",
            r"unable to (write data to|sync with) entity",
            r"reference data",
        ),
        "Run the initial sync of the reference data the field points to for this company (step 6: "
        "legal entities, customer groups, terms of payment, currencies, ...) or fix the value in Sales; "
        "the message names the field and the value. Then Re-run execution.",
        LIVE_SYNC,
    ),
    Cause(
        "forbidden",
        "403 Forbidden from the export",
        (r"\(403\) forbidden", r"\[forbidden\]", r"not a member of the organization"),
        "In Finance and Operations, on the Microsoft Entra applications page, delete the DtAppID client "
        "and add it again.",
        TROUBLESHOOT + "#initial-synchronization-error-403-forbidden",
    ),
    Cause(
        "permission",
        "Missing security role or privilege",
        (r"privilege", r"security role", r"dual-write (runtime|app) user", r"does not have permission"),
        "Give the users the Dual-Write Runtime User and Dual-Write App User roles, and the team of the "
        "mapped business unit read/write on the tables.",
        GUIDANCE + "#security-role-for-write-access",
    ),
    Cause(
        "bad_request",
        "400 Bad Request from the export (data import/export service)",
        (r"\(400\) bad request", r"\[bad request\]", r"ax export encountered an error"),
        "Make sure the Microsoft Dynamics 365 Data import export framework service is running on the "
        "Finance and Operations side (restart it), then Re-run execution.",
        TROUBLESHOOT + "#you-cant-complete-initial-synchronization-400-bad-request",
    ),
    Cause(
        "legal_entity_limit",
        "Over 40 legal entities in one link",
        (r"exceeds the maximum partitions", r"partition map"),
        "Initial sync supports 40 legal entities: link fewer companies, sync, then add the others.",
        GUIDANCE + "#limit-of-40-legal-entities-while-the-environments-are-being-linked",
    ),
    Cause(
        "row_limit",
        "Over 500,000 rows in one run",
        (r"500[,.\s]?000", r"\b500k\b"),
        "Initial sync takes at most 500,000 rows per run and legal entity: migrate the data into both "
        "sides separately and skip the initial sync, or split by company.",
        GUIDANCE + "#limit-of-500000-rows-per-run",
    ),
    Cause(
        "timeout",
        "Time-out (24-hour import or five-minute export limit)",
        (r"time-?d? ?out", r"timeout", r"took too long", r"24 hours", r"operation was canceled"),
        "Single-threaded maps such as Customers V3 (accounts) time out above about 70,000 rows: sync per "
        "company or migrate the data to both sides and skip the initial sync; keep the F&O export under "
        "five minutes.",
        GUIDANCE + "#twenty-four-hour-limit",
    ),
    Cause(
        "double_quotes",
        "Double quotes in the data",
        (r"malformedlineexception", r"cannot be parsed using the current delimiters"),
        "Find and remove the double quotes in the record's text values, then Re-run execution.",
        GUIDANCE + "#double-quotes-limitation",
    ),
    Cause(
        "decimal_locale",
        "Zero or decimal value not converted (data management language locale)",
        (r"convert the literal .{0,40}edm\.decimal", r"edm\.decimal"),
        "In Data management, Source data formats, set Language locale to en-us and try again.",
        TROUBLESHOOT + "#float-data-type-that-has-a-zero-value-cant-be-synchronized",
    ),
    Cause(
        "value_too_long",
        "A value longer than the target field allows",
        (
            r"would be truncated",
            r"too long",
            r"exceeds the max(imum)? (allowed )?length",
            r"max(imum)? length",
            r"longer than",
            r"string length",
            r"length of the (field|value|string)",
        ),
        "Shorten the value in Sales to the F&O field's length (Order ID and Quote ID: 20 characters; the "
        "step-8 report lists them as sales_order_number_too_long) and Re-run execution.",
        ERRORS_AND_ALERTS + "#re-running-execution-for-initial-sync",
    ),
    Cause(
        "duplicate_key",
        "Duplicate key",
        (
            r"duplicate key",
            r"duplicate record",
            r"matching key values already exists",
            r"already exists",
            r"violation of (primary|unique) key",
            r"duplicate detection",
            r"cannot insert duplicate",
        ),
        "Remove the duplicate (same key twice in a company; p2c_check lists them), keep the duplicate "
        "detection rules off during the sync (step 7), and remove P2C's msdynce_AccountNumber index "
        "(P2C 15.0.0.2) when one account number exists in two legal entities. Then Re-run execution.",
        P2C_MIGRATION,
    ),
    Cause(
        "record_modified",
        "Record modified during the sync",
        (
            r"(was|has been|were) (modified|changed|updated) (by another|since|after|during|while)",
            r"updated after it was exported",
            r"another user",
            r"update conflict",
            r"concurren",
            r"version (conflict|mismatch)",
        ),
        "The record changed while the sync ran: avoid edits during the run and Re-run execution, which "
        "retries the failed records (an incremental run skips them; with change tracking off it is a "
        "full push).",
        ERRORS_AND_ALERTS + "#re-running-execution-for-initial-sync",
    ),
)
UNKNOWN = Cause(
    "unknown",
    "Not recognised",
    (),
    "Read the full message in the table map's activity log and the FinOps job's execution log.",
    TROUBLESHOOT,
)
_BY_CODE = {c.code: c for c in (*CAUSES, UNKNOWN)}

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


def _plain(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


def classify_message(message: str) -> Cause:
    """The first cause whose pattern the message matches; UNKNOWN when none does."""
    text = _plain(message or "")
    return next((c for c in CAUSES if c.matches(text)), UNKNOWN)


def message_details(message: str) -> dict[str, str]:
    """The field and the value a lookup message names, when it names them."""
    text = _plain(message or "")
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


# --- reading the errors ------------------------------------------------------------------------

_KEY_NAMES = (
    "recordkey", "key", "keyvalue", "keyvalues", "recordid", "record", "primarykey", "entitykey",
    "sourcekey", "integrationkey", "accountnumber", "customeraccount", "contactpersonid",
    "contactnumber", "salesordernumber", "salesquotationnumber", "ordernumber", "orderid",
    "quotenumber", "quoteid", "id",
)  # fmt: skip
_MESSAGE_NAMES = (
    "message", "errormessage", "error", "errordetails", "errordetail", "details", "detail",
    "description", "errordescription", "verboseerror", "errortext", "reason", "exception", "errors",
)  # fmt: skip
_COMPANY_NAMES = ("company", "dataareaid", "legalentity", "msdyncompany", "companyid", "companycode")


def _squash(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", _norm(header))


def _find_column(headers: list[str], names: tuple[str, ...], contains: str | None = None) -> int | None:
    squashed = [_squash(h) for h in headers]
    for name in names:
        if name in squashed:
            return squashed.index(name)
    if contains:
        return next((i for i, h in enumerate(squashed) if contains in h), None)
    return None


def _read_errors(paths: list[str]) -> tuple[pd.DataFrame, dict[str, str | None]]:
    frames, used = [], {}
    for path in paths:
        source = open_source(path)
        headers = list(source.headers)
        msg = _find_column(headers, _MESSAGE_NAMES, contains="error") or _find_column(
            headers, (), contains="message"
        )
        if msg is None:
            raise EngineError(
                f"{os.path.basename(path)!r} has no message column (headers found: "
                f"{', '.join(repr(h) for h in headers[:20])}): name the column with the error text "
                "'Message' and the one with the record's key 'Key'"
            )
        key = _find_column(headers, _KEY_NAMES)
        key = key if key != msg else None
        comp = _find_column(headers, _COMPANY_NAMES)
        used = {
            "message": headers[msg],
            "key": headers[key] if key is not None else None,
            "company": headers[comp] if comp is not None else None,
        }
        cols: dict[str, list[pa.Array]] = {"message": [], "key": [], "company": [], "row": []}
        for b in source.batches():
            empty = pa.array([""] * b.num_rows, pa.string())
            cols["message"].append(b.text(msg))
            cols["key"].append(b.text(key) if key is not None else empty)
            cols["company"].append(b.text(comp) if comp is not None else empty)
            cols["row"].append(pa.array(range(b.start + 1, b.start + 1 + b.num_rows), pa.int64()))
        table = pa.table(
            {k: pa.chunked_array(v, pa.int64() if k == "row" else pa.string()) for k, v in cols.items()}
        )
        df = table.to_pandas(types_mapper=pd.ArrowDtype)
        df.insert(0, "file", os.path.basename(path))
        frames.append(df)
    errors = pd.concat(frames, ignore_index=True)
    errors = errors[errors["message"].str.strip().fillna("") != ""].reset_index(drop=True)
    return errors, used


# --- tying errors to our output ------------------------------------------------------------------


def _detect_table(headers: list[str]) -> str | None:
    normed = {_norm(h) for h in headers}
    for table, specs in SPECS.items():
        if any(n.casefold() in normed for n in specs[0].our_key) and any(
            n.casefold() in normed for n in COMPANY
        ):
            return table
    return None


def _our_keys(table: str | None, paths: list[str]) -> tuple[str | None, pd.DataFrame]:
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
    files = pa.array([os.path.basename(p) for p in paths])
    frame = pd.DataFrame(
        {
            "_fold": pd.Series(
                pc.utf8_lower(pc.utf8_trim_whitespace(t["key"])), dtype=pd.ArrowDtype(pa.string())
            ),
            "our_company": pd.Series(
                pc.utf8_upper(pc.utf8_trim_whitespace(t["company"])), dtype=pd.ArrowDtype(pa.string())
            ),
            "our_file": pd.Series(pc.take(files, t["_part"]), dtype=pd.ArrowDtype(pa.string())),
            "our_row": pd.Series(t["_row"], dtype=pd.ArrowDtype(pa.int64())),
        }
    )
    if "number" in t.column_names:
        alt = frame.assign(
            _fold=pd.Series(
                pc.utf8_lower(pc.utf8_trim_whitespace(pc.fill_null(t["number"], ""))),
                dtype=pd.ArrowDtype(pa.string()),
            )
        )
        frame = pd.concat([frame, alt], ignore_index=True)
    frame = frame[frame["_fold"] != ""].drop_duplicates(["_fold", "our_company"])
    return table, frame


def _tie(errors: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    errors = errors.assign(_fold=errors["key"].str.strip().str.lower(), _n=range(len(errors)))
    merged = errors.merge(ours, on="_fold", how="left", sort=False)
    own = merged["company"].str.upper().fillna("")
    same = (own == merged["our_company"].fillna("")) | (own == "")
    merged = merged.assign(_pref=(~same.fillna(False).astype(bool)).astype(int))
    merged = merged.sort_values(["_n", "_pref"], kind="stable").drop_duplicates("_n")
    return merged.drop(columns=["_fold", "_pref"]).set_index("_n").sort_index().reset_index(drop=True)


# --- the result ----------------------------------------------------------------------------------


@dataclass
class Triage:
    errors: pd.DataFrame  # file, row, key, company, cause, field, value, message, our_file, our_row
    columns: dict[str, str | None]
    table: str | None = None
    legs: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> pd.DataFrame:
        """Errors per cause and company (company '' when unknown)."""
        df = self.errors.assign(company=self.errors["company"].fillna(""))
        return df.groupby(["cause", "company"], sort=True).size().rename("errors").reset_index()

    def causes(self) -> list[dict[str, Any]]:
        totals = self.errors["cause"].value_counts()
        order = [c.code for c in (*CAUSES, UNKNOWN)]
        return [
            {
                "cause": code,
                "title": _BY_CODE[code].title,
                "errors": int(totals[code]),
                "what_to_do": _BY_CODE[code].action,
                "link": _BY_CODE[code].link,
            }
            for code in order
            if code in totals.index
        ]

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        rows = self.errors if limit is None else self.errors.head(limit)
        return {
            "table": self.table,
            "columns_used": self.columns,
            "errors_total": len(self.errors),
            "tied_to_output": int(self.errors["our_row"].notna().sum()),
            "causes": self.causes(),
            "counts": self.counts().to_dict("records"),
            "legs": self.legs,
            "errors": rows.astype(object).where(rows.notna(), None).to_dict("records"),
            "errors_truncated_to": limit,
        }

    def write_list(self, output_path: str | os.PathLike[str]) -> int:
        """The classified errors as CSV or xlsx, one row per error."""
        return write_frame(self.errors, output_path, "Errors")

    def summary_text(self) -> str:
        lines = [f"{len(self.errors)} errors; {int(self.errors['our_row'].notna().sum())} tied to our output"]
        for c in self.causes():
            lines.append(f"  {c['cause']}: {c['errors']} - {c['title']}. {c['what_to_do']} {c['link']}")
        return "\n".join(lines)


def triage_errors(errors: Paths, *, outputs: Paths | None = None, table: str | None = None) -> Triage:
    """Classify each error row by cause; with `outputs` (our step-8 output), tie each to its row."""
    paths = _as_list(errors)
    df, used = _read_errors(paths)
    messages = df["message"].astype(str).tolist()
    causes = [classify_message(m).code for m in messages]
    details = [message_details(m) for m in messages]
    legs = [leg for m in dict.fromkeys(messages) for leg in execution_legs(m)]
    df = df.assign(
        key=df["key"].str.strip(),
        company=df["company"].str.strip().str.upper(),
        cause=pd.Series(causes, dtype=pd.ArrowDtype(pa.string())),
        field=pd.Series([d["field"] for d in details], dtype=pd.ArrowDtype(pa.string())),
        value=pd.Series([d["value"] for d in details], dtype=pd.ArrowDtype(pa.string())),
    )
    if outputs is not None:
        table, ours = _our_keys(table, _as_list(outputs))
        df = _tie(df, ours)
        df["company"] = df["company"].where(df["company"] != "", df["our_company"]).fillna("")
        df = df.drop(columns=["our_company"])
    else:
        df = df.assign(
            our_file=pd.Series([None] * len(df), dtype=pd.ArrowDtype(pa.string())),
            our_row=pd.Series([None] * len(df), dtype=pd.ArrowDtype(pa.int64())),
        )
    cols = ["file", "row", "key", "company", "cause", "field", "value", "message", "our_file", "our_row"]
    return Triage(df[cols].reset_index(drop=True), used, table, legs)
