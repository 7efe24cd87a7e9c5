"""The per-table rules: target values for one batch of rows, plus their row issues.

Rules are vectorized over arrow string arrays. A target value of null means
"no value": the cell is left as it is (empty when the column is appended).
Anything that depends on a cell's text (dates, countries, company rule, yes/no,
party numbers) is computed once per distinct text, not once per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import countries
from .dates import DateOrder, iso_receipt, parse, time_ok
from .options import TransformSettings
from .reading import Batch
from .report import IssueBlock, IssueLog
from .tables import Layout, TableSpec
from .writing import column_bytes

YES = {"yes", "true", "1", "y"}
NO = {"no", "false", "0", "n"}
ORDER_NUMBER_MAX = 20  # msdyn_salesordernumber length
_FORMULA_LUT = np.zeros(256, dtype=bool)
_FORMULA_LUT[list(b"=+-@")] = True
# Numbers and phone numbers start with + or - but are not formulas Excel users write.
_NUMBER = re.compile(r"^\s*([+-]?(\d[\d,.]*|[.,]\d+)([eE][+-]?\d+)?|\+[\d\s().\-/]{6,})\s*$")


@dataclass
class Context:
    """What the rules need across batches of one file."""

    spec: TableSpec
    layout: Layout
    settings: TransformSettings
    issues: IssueLog
    dates: DateOrder
    party: dict[str, str] | None = None  # "company\x1faccount" (casefolded) -> party number
    party_by_account: bool = False  # the F&O list had no DATAAREAID column
    company_map: dict[str, str] | None = None
    caches: dict[str, TextCache] = field(default_factory=dict)
    keys: list[tuple[pa.Array, np.ndarray, pa.Array | None]] = field(default_factory=list)

    def cache(self, name: str) -> TextCache:
        if name not in self.caches:
            self.caches[name] = TextCache()
        return self.caches[name]


@dataclass
class Rows:
    """One batch as the rules see it: source text by role (from the step-2 export in merge mode)."""

    batch: Batch
    layout: Layout
    guids: pa.Array | None
    merged: dict[str, pa.Array] | None = None

    @property
    def n(self) -> int:
        return self.batch.num_rows

    @property
    def start(self) -> int:
        return self.batch.start

    def source(self, role: str) -> pa.Array | None:
        if self.merged is not None and role in self.merged:
            return self.merged[role]
        i = self.layout.sources.get(role)
        return None if i is None else self.batch.text(i)


# --- vectorized helpers ------------------------------------------------------


def blank(arr: pa.Array) -> pa.Array:
    """Empty or whitespace only; a regex test allocates nothing, unlike trimming a copy."""
    return pc.match_substring_regex(arr, r"^\s*$")


def const(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


class TextCache:
    """func's result per distinct text, kept as arrow arrays so that a batch whose texts were
    all seen before is mapped without a Python loop (dates, countries, yes/no repeat a lot)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: list[str | None] = []
        self.key_array = pa.array([], pa.string())
        self.value_array = pa.array([], pa.string())

    LIMIT = 50_000  # past this (e.g. date-times, all distinct) caching costs more than it saves

    def map(self, distinct: pa.Array, func: Callable[[str], str | None]) -> pa.Array:
        if len(self.keys) >= self.LIMIT:
            return pa.array([func(t) for t in distinct.to_pylist()], pa.string())
        pos = pc.index_in(distinct, value_set=self.key_array)
        if pos.null_count:
            new = distinct.filter(pc.is_null(pos)).to_pylist()
            self.keys += new
            self.values += [func(t) for t in new]
            self.key_array = pa.array(self.keys, pa.string())
            self.value_array = pa.array(self.values, pa.string())
            pos = pc.index_in(distinct, value_set=self.key_array)
        return self.value_array.take(pos)


def map_text(arr: pa.Array, func: Callable[[str], str | None], cache: TextCache | None = None) -> pa.Array:
    """func applied once per distinct text of arr (once per file with a cache); null where None."""
    encoded = pc.dictionary_encode(arr)  # one hash pass: distinct texts + an index per row
    if cache is not None:
        return cache.map(encoded.dictionary, func).take(encoded.indices)
    values = [func(t) for t in encoded.dictionary.to_pylist()]
    return pa.array(values, pa.string()).take(encoded.indices)


def _nulls_where(mask: pa.Array, arr: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, pa.string()), arr)


def _issue(ctx: Context, rows: Rows, code: str, column: str, mask: pa.Array, values: pa.Array | None) -> None:
    ctx.issues.add_mask(code, column, mask, rows.start, rows.guids, values)


def _src_name(ctx: Context, role: str) -> str:
    i = ctx.layout.sources.get(role)
    return ctx.layout.headers[i] if i is not None else ctx.spec.sources[role].display


# --- shared rules ------------------------------------------------------------


def company(ctx: Context, rows: Rows) -> pa.Array:
    default = ctx.settings.company
    if ctx.company_map is None or ctx.layout.company_rule is None:
        return const(default, rows.n)
    column = ctx.layout.headers[ctx.layout.company_rule]
    text = rows.batch.text(ctx.layout.company_rule)
    lookup = ctx.company_map
    mapped = map_text(text, lambda v: lookup.get(v.strip().casefold()), ctx.cache("company"))
    missing = pc.is_null(mapped)
    _issue(ctx, rows, "company_not_mapped", column, missing, text)
    return mapped.fill_null(default)


def formula_like(ctx: Context, batch: Batch, guids: pa.Array | None) -> None:
    """Warn about every text cell Excel would take for a formula (we write it as text)."""
    for i, header in enumerate(ctx.layout.headers):
        if batch.rows is not None:
            _formula_like_rows(ctx, batch, guids, i, header)
            continue
        text = batch.text(i)
        offsets, data = column_bytes(text)
        nonempty = offsets[1:] > offsets[:-1]
        if not len(data):
            continue
        first = data[np.minimum(offsets[:-1], len(data) - 1)]  # first byte of each value
        starts = nonempty & _FORMULA_LUT[first]
        if not starts.any():
            continue
        hits = np.nonzero(starts)[0]
        flagged = [
            j for j, v in zip(hits.tolist(), text.take(hits).to_pylist(), strict=True) if not _NUMBER.match(v)
        ]
        if flagged:
            mask = np.zeros(len(text), dtype=bool)
            mask[flagged] = True
            ctx.issues.add_mask("formula_like_text", header, pa.array(mask), batch.start, guids, text)


def _formula_like_rows(ctx: Context, batch: Batch, guids: pa.Array | None, i: int, header: str) -> None:
    """The xlsx variant: only text cells count (numbers and dates are typed cells)."""
    hits = [
        j
        for j, row in enumerate(batch.rows or [])
        if type(v := row[i]) is str and v and v[0] in "=+-@" and not _NUMBER.match(v)
    ]
    if hits:
        mask = np.zeros(batch.num_rows, dtype=bool)
        mask[hits] = True
        ctx.issues.add_mask("formula_like_text", header, pa.array(mask), batch.start, guids, batch.text(i))


def remember_key(ctx: Context, rows: Rows, comp: pa.Array, role: str) -> None:
    """Collect keys for the duplicate_key check, which runs once the whole file is read.

    Kept lean for million-row files: the key text (company, value), row number and GUID only.
    """
    value = rows.source(role)
    if value is None:
        return
    keep = pc.invert(blank(value))
    key = pc.utf8_lower(pc.utf8_trim_whitespace(value))
    if ctx.company_map is not None:  # one company per file needs no prefix
        key = pc.binary_join_element_wise(pc.utf8_lower(comp), key, "\x1f")
    numbers = np.arange(rows.start + 1, rows.start + rows.n + 1, dtype=np.int32)
    guids = rows.guids
    if not pc.all(keep).as_py():
        numbers = numbers[keep.to_numpy(zero_copy_only=False)]
        key = key.filter(keep)
        guids = guids.filter(keep) if guids is not None else None
    ctx.keys.append((key, numbers, guids))


def duplicate_keys(ctx: Context) -> None:
    """duplicate_key for every occurrence of a (company, key) after its first."""
    if not ctx.keys:
        return
    keys = pa.chunked_array([k[0] for k in ctx.keys], pa.string())
    rows = np.concatenate([k[1] for k in ctx.keys])
    guids = pa.chunked_array([k[2] for k in ctx.keys], pa.string()) if ctx.keys[0][2] is not None else None
    ctx.keys.clear()
    distinct = pc.unique(keys)
    if len(distinct) == len(keys):  # the common case, one hash pass: no duplicates
        return
    codes = pc.index_in(keys, value_set=distinct).to_numpy()
    _, first = np.unique(codes, return_index=True)
    first_of_row = first[codes]
    dup = np.nonzero(first_of_row != np.arange(len(codes)))[0]
    if not len(dup):
        return
    taken = pa.array(dup)
    values = pa.array([v.split("\x1f", 1)[-1] for v in keys.take(taken).to_pylist()], pa.string())
    ctx.issues.add(
        IssueBlock(
            "duplicate_key",
            _src_name(ctx, ctx.spec.key_role or ""),
            pa.array(rows[dup].astype(np.int64)),
            guids.take(taken).combine_chunks() if guids is not None else None,
            values,
            details=pa.array([f" (first in row {r})" for r in rows[first_of_row[dup]].tolist()], pa.string()),
        )
    )


# --- table rules -------------------------------------------------------------


def account(ctx: Context, rows: Rows, comp: pa.Array) -> dict[str, pa.Array]:
    s = ctx.settings
    number = rows.source("account_number")
    column = _src_name(ctx, "account_number")
    empty = blank(number)
    _issue(ctx, rows, "missing_account_number", column, empty, None)
    if ctx.party is None:
        party = _nulls_where(empty, number)
    else:
        party = _party_numbers(ctx, comp, number)
        _issue(
            ctx, rows, "party_number_not_found", column, pc.and_(pc.invert(empty), pc.is_null(party)), number
        )
    return {
        "company": comp,
        "relationship_type": const(s.relationship_type, rows.n),
        "customer_group": const(s.customer_group, rows.n),
        "party_number": party,
    }


def _party_numbers(ctx: Context, comp: pa.Array, number: pa.Array) -> pa.Array:
    party = ctx.party or {}
    number_key = pc.utf8_lower(pc.utf8_trim_whitespace(number))
    if ctx.party_by_account:
        return map_text(number_key, party.get)
    key = pc.binary_join_element_wise(pc.utf8_lower(comp), number_key, "\x1f")
    return map_text(key, party.get)  # unique keys: a cache would only grow


def yes_no(text: str) -> str | None:
    v = text.strip().casefold()
    return "Y" if v in YES else "N" if v in NO else None


def contact(ctx: Context, rows: Rows, comp: pa.Array) -> dict[str, pa.Array]:
    number = rows.source("contact_number")
    empty = blank(number)
    _issue(ctx, rows, "missing_contact_number", _src_name(ctx, "contact_number"), empty, None)
    number = _nulls_where(empty, number)
    active_text = rows.source("is_active")
    active = map_text(active_text, yes_no, ctx.cache("yes_no"))
    bad = pc.is_null(active)
    _issue(ctx, rows, "bad_yes_no", _src_name(ctx, "is_active"), bad, active_text)
    is_yes = pc.equal(active, "Y")  # null where bad: every target below stays null there
    group = ctx.settings.customer_group
    return {
        "company": comp,
        "sellable": pc.if_else(is_yes, "Yes", "No"),
        "customer_group": pc.if_else(is_yes, group, ""),
        "contact_for": pc.if_else(is_yes, "", "Customer"),
        "contact_number": number,
        "party_number": number,
        "contact_person_id": number,
    }


def header(ctx: Context, rows: Rows, comp: pa.Array) -> dict[str, pa.Array]:
    """Order and quote headers."""
    s = ctx.settings
    number = rows.source("number")
    too_long = pc.greater(pc.utf8_length(number), ORDER_NUMBER_MAX)
    _issue(ctx, rows, "sales_order_number_too_long", _src_name(ctx, "number"), too_long, number)
    out = {
        "company": comp,
        "number": number,
        "invoice_customer": rows.source("customer"),
        "receipt_date": receipt_date(ctx, rows),
        "language": const(s.language, rows.n),
        "order_type": const(s.order_type, rows.n),
    }
    country = rows.source("ship_country")
    if country is not None:
        out["ship_country"] = ship_country(ctx, rows, country)
    return out


def ship_country(ctx: Context, rows: Rows, text: pa.Array) -> pa.Array:
    mode = ctx.settings.country
    if mode == "keep":
        return text
    convert = countries.to_iso2 if mode == "iso2" else countries.to_dualwrite
    converted = map_text(text, lambda v: "" if not v.strip() else convert(v), ctx.cache("country"))
    failed = pc.is_null(converted)
    _issue(ctx, rows, "country_not_converted", _src_name(ctx, "ship_country"), failed, text)
    return pc.if_else(pc.equal(converted, ""), text, converted)  # null (failed): cell kept


DISTINCT_DATES_PER_BATCH = 2000
_DAY_AND_TIME = r"^(?P<day>\s*[^\sT]*)(?P<time>.*)$"


def iso_dates(ctx: Context, text: pa.Array, order: str) -> pa.Array:
    """The receipt date of each cell: ISO text, "" when blank, null when not a date."""

    def to_iso(value: str) -> str | None:
        if not value.strip():
            return ""
        day = parse(value, order)
        return iso_receipt(day) if day else None

    encoded = pc.dictionary_encode(text)
    if len(encoded.dictionary) <= DISTINCT_DATES_PER_BATCH:
        return ctx.cache(f"date:{order}").map(encoded.dictionary, to_iso).take(encoded.indices)
    # Date-times are nearly all distinct, but their days and times are few: parse each part once.
    parts = pc.extract_regex(text, _DAY_AND_TIME)
    day = map_text(parts.field("day"), to_iso, ctx.cache(f"day:{order}"))
    time = map_text(parts.field("time"), lambda t: "" if time_ok(t) else None, ctx.cache("time"))
    return pc.if_else(pc.is_valid(time), day, pa.scalar(None, pa.string()))


def receipt_date(ctx: Context, rows: Rows) -> pa.Array:
    """First non-empty cell of the chain wins; unparsable cells are bad_date and give no value."""
    order = ctx.dates.require()
    result = pa.nulls(rows.n, pa.string())
    decided = pa.array(np.zeros(rows.n, dtype=bool))
    for role in ctx.spec.receipt_chain:
        text = rows.source(role)
        if text is None:
            continue
        iso = iso_dates(ctx, text, order)
        bad = pc.is_null(iso)
        _issue(ctx, rows, "bad_date", _src_name(ctx, role), bad, text)
        filled = pc.not_equal(iso, "").fill_null(True)  # a bad cell still decides: no fall-through
        result = pc.if_else(pc.and_(pc.invert(decided), filled), iso, result)
        decided = pc.or_(decided, filled)
    _issue(
        ctx, rows, "no_receipt_date", ctx.spec.target("receipt_date").col.display, pc.invert(decided), None
    )
    return result


def observe_dates(ctx: Context, batch: Batch, modified_on: bool = False) -> None:
    """Feed `auto` the distinct date texts of the chain (or of Modified On: same locale)."""
    if modified_on:
        columns = [ctx.layout.modified_on] if ctx.layout.modified_on is not None else []
    else:
        columns = [ctx.layout.sources[r] for r in ctx.spec.receipt_chain if r in ctx.layout.sources]
    for i in columns:
        days = pc.extract_regex(batch.text(i), _DAY_AND_TIME).field("day")  # date-times: few days
        ctx.dates.observe(pc.unique(days).to_pylist())


RULES: dict[str, Callable[[Context, Rows, pa.Array], dict[str, pa.Array]]] = {
    "account": account,
    "contact": contact,
    "order": header,
    "quote": header,
    "order_products": lambda ctx, rows, comp: {"company": comp},
    "quote_products": lambda ctx, rows, comp: {"company": comp},
}


def apply(ctx: Context, rows: Rows) -> dict[str, pa.Array]:
    """Target values (null: leave the cell) for one batch; issues go to ctx.issues."""
    formula_like(ctx, rows.batch, rows.guids)
    comp = company(ctx, rows)
    values = RULES[ctx.spec.key](ctx, rows, comp)
    if ctx.spec.key_role is not None:
        remember_key(ctx, rows, comp, ctx.spec.key_role)
    return values
