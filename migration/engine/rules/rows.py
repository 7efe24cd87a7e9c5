"""The rules' shared kit: a batch as the rules see it, and the rules more than one table uses.

Rules are vectorized over arrow string arrays. A target value of null means
"no value": the cell is left as it is (empty when the column is appended).
Anything that depends on a cell's text (dates, countries, company rule, yes/no,
party numbers) is computed once per distinct text, not once per row.
Table modules (`tables/`) name these rules; `apply` runs a table's targets.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..files.formulas import formula_like_mask, formula_like_text
from ..files.reading import Batch
from ..files.texthash import as_exported, may_repeat, printable_ascii, text_hashes
from ..files.writing import column_bytes
from . import countries
from .dates import DateOrder, iso_receipt, parse, time_ok
from .headers import HeaderCompanies
from .layout import Layout
from .options import TransformSettings
from .report import IssueBlock, IssueLog
from .schema import Rule, Table
from .textmap import TextCache, map_text

YES = {"yes", "true", "1", "y"}
NO = {"no", "false", "0", "n"}
_FORMULA_LUT = np.zeros(256, dtype=bool)
_FORMULA_LUT[list(b"=+-@\t\r")] = True


@dataclass
class Context:
    """What the rules need across batches of one file."""

    table: Table
    layout: Layout
    settings: TransformSettings
    issues: IssueLog
    dates: DateOrder
    party: dict[str, str] | None = None  # "company\x1faccount" (casefolded) -> party number
    party_by_account: bool = False  # the F&O list had no DATAAREAID column
    company_map: dict[str, str] | None = None
    caches: dict[str, TextCache] = field(default_factory=dict)
    # (key, row numbers, GUIDs, part) per batch, for duplicate_key once every part is read.
    keys: list[tuple[pa.Array, np.ndarray, pa.Array | None, int]] = field(default_factory=list)
    # (normalized GUID, row numbers, part) per batch, for duplicate_record.
    records: list[tuple[pa.Array, np.ndarray, int]] = field(default_factory=list)
    # The same keys' and GUIDs' 64-bit hashes (texthash): all different, and nothing repeats.
    key_hashes: list[np.ndarray] = field(default_factory=list)
    record_hashes: list[np.ndarray] = field(default_factory=list)
    guid_header: str = ""
    # Lines: their header's company, by the header's GUID, number or name (None: the company rule).
    header_companies: HeaderCompanies | None = None
    # The relationship type rule: its column in this file and its value map.
    relationship_column: int | None = None
    relationship_map: dict[str, str] | None = None
    # Targets the run appends as new columns: key -> the column's header.
    appended: dict[str, str] = field(default_factory=dict)

    def cache(self, name: str) -> TextCache:
        if name not in self.caches:
            self.caches[name] = TextCache()
        return self.caches[name]


@dataclass
class Rows:
    """One batch as the rules see it: source text by role (from the step-2 export in merge mode)."""

    ctx: Context
    batch: Batch
    guids: pa.Array | None
    merged: dict[str, pa.Array] | None = None
    _values: dict[Rule, pa.Array | None] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.batch.num_rows

    @property
    def start(self) -> int:
        return self.batch.start

    @property
    def settings(self) -> TransformSettings:
        return self.ctx.settings

    def source(self, role: str) -> pa.Array | None:
        if self.merged is not None and role in self.merged:
            return self.merged[role]
        i = self.ctx.layout.sources.get(role)
        return None if i is None else self.batch.text(i)

    def value(self, rule: Rule) -> pa.Array | None:
        """rule's values for this batch, computed once: its issues are raised once however many
        targets (or other rules) use it."""
        if rule not in self._values:
            self._values[rule] = rule(self)
        return self._values[rule]

    def column(self, role: str) -> str:
        """The header a source role was read from (for issues), else its display name."""
        i = self.ctx.layout.sources.get(role)
        return self.ctx.layout.headers[i] if i is not None else self.ctx.table.columns[role].display

    def flag(self, code: str, column: str, mask: pa.Array, values: pa.Array | None = None) -> None:
        """Issue `code` for the rows where mask is true."""
        self.ctx.issues.add_mask(code, column, mask, self.start, self.guids, values)


# --- vectorized helpers ------------------------------------------------------


def blank(arr: pa.Array) -> pa.Array:
    """Empty or whitespace only; a regex test allocates nothing, unlike trimming a copy."""
    return pc.match_substring_regex(arr, r"^\s*$")


def const(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def nulls_where(mask: pa.Array, arr: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, pa.string()), arr)


def yes_no(text: str) -> str | None:
    v = text.strip().casefold()
    return "Y" if v in YES else "N" if v in NO else None


# --- rules shared by tables --------------------------------------------------


def company_of_the_row(rows: Rows) -> pa.Array:
    """The company setting, or the company rule's code for the row's value (company_not_mapped
    and the setting when the rule has no entry)."""
    ctx = rows.ctx
    default = ctx.settings.company
    if ctx.company_map is None or ctx.layout.company_rule is None:
        return const(default, rows.n)
    column = ctx.layout.headers[ctx.layout.company_rule]
    text = rows.batch.text(ctx.layout.company_rule)
    lookup = ctx.company_map
    mapped = map_text(text, lambda v: lookup.get(v.strip().casefold()), ctx.cache("company"))
    rows.flag("company_not_mapped", column, pc.is_null(mapped), text)
    return mapped.fill_null(default)


def copy_of(role: str) -> Rule:
    """The source column's text as it is."""

    def copied(rows: Rows) -> pa.Array | None:
        return rows.source(role)

    copied.__name__ = f"copy_of_{role}"
    return copied


def setting(name: str) -> Rule:
    """The same value on every row: the run's setting `name`."""

    def every_row(rows: Rows) -> pa.Array:
        return const(getattr(rows.settings, name), rows.n)

    every_row.__name__ = f"setting_{name}"
    return every_row


def company_setting(name: str) -> Rule:
    """Setting `name` as the row's company has it (per legal entity), else the migration's."""

    def of_the_company(rows: Rows) -> pa.Array:
        settings = rows.settings
        default = getattr(settings, name)
        if not any(name in own for own in settings.companies.values()):
            return const(default, rows.n)
        company = rows.value(company_of_the_row)
        cache = rows.ctx.cache(f"company_setting:{name}")
        return map_text(company, lambda c: settings.for_company(c.strip(), name), cache)

    of_the_company.__name__ = f"company_setting_{name}"
    return of_the_company


def company_of_the_header(rows: Rows) -> pa.Array:
    """A line's company is its order's (quote's), found in the header export by the header's GUID,
    number or name as the line carries it; not found: the default company, header_not_found.
    Without a header export: the company of the row."""
    headers = rows.ctx.header_companies
    if headers is None:
        return rows.value(company_of_the_row)
    parent = rows.source("parent")
    if parent is None:
        parent = const("", rows.n)
    found = headers.lookup(parent, rows.ctx.cache("header_company"))
    rows.flag("header_not_found", rows.column("parent"), pc.is_null(found), parent)
    return found.fill_null(rows.settings.company)


def ship_to_country_per_setting(rows: Rows) -> pa.Array | None:
    """Kept, or converted to ISO alpha-2 / dual-write's text; unconvertible: kept and reported."""
    text = rows.source("ship_country")
    mode = rows.settings.country
    if text is None or mode == "keep":
        return text
    convert = countries.to_iso2 if mode == "iso2" else countries.to_dualwrite
    converted = map_text(text, lambda v: "" if not v.strip() else convert(v), rows.ctx.cache("country"))
    rows.flag("country_not_converted", rows.column("ship_country"), pc.is_null(converted), text)
    return pc.if_else(pc.equal(converted, ""), text, converted)  # null (failed): cell kept


DISTINCT_DATES_PER_BATCH = 2000
_DAY_AND_TIME = r"^(?P<day>\s*[^\sT]*)(?P<time>.*)$"


def iso_dates(ctx: Context, text: pa.Array, order: str) -> pa.Array:
    """The receipt date of each cell: ISO text, "" when blank, null when not a date."""
    return _per_cell(*_iso_distinct(ctx, text, order))


def _per_cell(distinct: pa.Array, indices: pa.Array | None) -> pa.Array:
    return distinct if indices is None else distinct.take(indices)


def _iso_distinct(ctx: Context, text: pa.Array, order: str) -> tuple[pa.Array, pa.Array | None]:
    """iso_dates as (the value of each distinct text, each cell's index into them): dates repeat,
    so whether any cell is bad is known from the distinct texts alone. Indices None: one per cell."""

    def to_iso(value: str) -> str | None:
        if not value.strip():
            return ""
        day = parse(value, order)
        return iso_receipt(day) if day else None

    encoded = pc.dictionary_encode(text)
    if len(encoded.dictionary) <= DISTINCT_DATES_PER_BATCH:
        return ctx.cache(f"date:{order}").map(encoded.dictionary, to_iso), encoded.indices
    # Date-times are nearly all distinct, but their days and times are few: parse each part once.
    parts = pc.extract_regex(text, _DAY_AND_TIME)
    day = map_text(parts.field("day"), to_iso, ctx.cache(f"day:{order}"))
    time = map_text(parts.field("time"), lambda t: "" if time_ok(t) else None, ctx.cache("time"))
    return pc.if_else(pc.is_valid(time), day, pa.scalar(None, pa.string())), None


def first_date_of_the_receipt_chain(rows: Rows) -> pa.Array:
    """First non-empty cell of the table's receipt chain wins, as YYYY-MM-DDT00:00:00Z.

    Unparsable cells are bad_date and give no value (no fall-through); no date at all: no_receipt_date.
    """
    ctx = rows.ctx
    order = ctx.dates.require()
    result: pa.Array | None = None  # both None: no column of the chain read yet
    decided: pa.Array | None = None
    for role in ctx.table.receipt_chain:
        text = rows.source(role)
        if text is None:
            continue
        distinct, indices = _iso_distinct(ctx, text, order)
        # Once every row has its date, a later column only needs its bad cells found, and one
        # whose distinct dates all parse has none (most batches: no per-row work at all).
        settled = decided is not None and decided.false_count == 0
        if settled and not distinct.null_count:
            continue
        iso = _per_cell(distinct, indices)
        if iso.null_count:
            rows.flag("bad_date", rows.column(role), pc.is_null(iso), text)
        if settled:
            continue
        filled = pc.not_equal(iso, "").fill_null(True)  # a bad cell still decides: no fall-through
        if decided is None:  # the chain's first column
            result = iso if filled.false_count == 0 else nulls_where(pc.invert(filled), iso)
            decided = filled
            continue
        result = pc.if_else(pc.and_(pc.invert(decided), filled), iso, result)
        decided = pc.or_(decided, filled)
    if decided is None or result is None:  # the file has none of the chain's columns
        decided, result = pa.array(np.zeros(rows.n, dtype=bool)), pa.nulls(rows.n, pa.string())
    rows.flag("no_receipt_date", ctx.table.target("receipt_date").col.display, pc.invert(decided))
    return result


def observe_dates(ctx: Context, batch: Batch, modified_on: bool = False) -> None:
    """Feed `auto` the distinct date texts of the chain (or of Modified On: same locale)."""
    if modified_on:
        columns = [ctx.layout.modified_on] if ctx.layout.modified_on is not None else []
    else:
        columns = [ctx.layout.sources[r] for r in ctx.table.receipt_chain if r in ctx.layout.sources]
    for i in columns:
        days = pc.extract_regex(batch.text(i), _DAY_AND_TIME).field("day")  # date-times: few days
        ctx.dates.observe(pc.unique(days).to_pylist())


# --- checks every table gets -------------------------------------------------


def formula_like(ctx: Context, batch: Batch, guids: pa.Array | None) -> None:
    """Warn about every text cell Excel would take for a formula.

    The xlsx output holds it as a text cell; a CSV cannot say "text", and the
    import needs the data exact, so the CSV keeps it as it is.
    """
    for i, header in enumerate(ctx.layout.headers):
        if batch.rows is not None:
            _formula_like_rows(ctx, batch, guids, i, header)
            continue
        text = batch.text(i)
        offsets, data = column_bytes(text)
        if not len(data):
            continue
        # The first byte of each value; an empty value shows its neighbour's (clipped at the end):
        # such a false candidate is dropped by formula_like_text below, cheaper than masking it.
        starts = _FORMULA_LUT[np.take(data, offsets[:-1], mode="clip")]
        if not starts.any():
            continue
        hits = np.nonzero(starts)[0]
        flagged = [
            j for j, v in zip(hits.tolist(), text.take(hits).to_pylist(), strict=True) if formula_like_text(v)
        ]
        if flagged:
            mask = np.zeros(len(text), dtype=bool)
            mask[flagged] = True
            ctx.issues.add_mask("formula_like_text", header, pa.array(mask), batch.start, guids, text)


def _formula_like_rows(ctx: Context, batch: Batch, guids: pa.Array | None, i: int, header: str) -> None:
    """The xlsx variant: only text cells count (numbers and dates are typed cells)."""
    cells = batch.cells(i)
    kinds = set(map(type, cells))
    if str not in kinds:
        return  # numbers, dates, booleans: nothing Excel would take for a formula
    if kinds == {str}:  # a text column: the vectorized test, on its text
        mask = formula_like_mask(batch.text(i))
        if not mask.any():
            return
    else:
        hits = [j for j, v in enumerate(cells) if type(v) is str and formula_like_text(v)]
        if not hits:
            return
        mask = np.zeros(batch.num_rows, dtype=bool)
        mask[hits] = True
    ctx.issues.add_mask("formula_like_text", header, pa.array(mask), batch.start, guids, batch.text(i))


def formula_like_written(ctx: Context, rows: Rows, values: dict[str, pa.Array]) -> None:
    """Warn about the formula-like text the run writes itself (a setting, a copied or converted
    value): with the source's cells checked as read, every cell of the output is counted.

    A target filled in place counts where it changes the cell; null leaves the cell as read."""
    for key, new in values.items():
        if (i := ctx.layout.targets.get(key)) is not None:
            header = ctx.layout.headers[i]
            new = nulls_where(pc.fill_null(pc.equal(new, rows.batch.text(i)), False), new)
        elif key in ctx.appended:
            header = ctx.appended[key]
        else:
            continue
        mask = formula_like_mask(new)
        if mask.any():
            rows.flag("formula_like_text", header, pa.array(mask), new)


def remember_key(ctx: Context, rows: Rows, comp: pa.Array, role: str) -> None:
    """Collect keys for the duplicate_key check, which runs once the whole file is read.

    Kept lean for million-row files: the key text (company, value), row number and GUID only.
    """
    value = rows.source(role)
    if value is None:
        return
    if printable_ascii(value):  # the usual: a quarter of the work of the general case
        keep = pa.array(np.diff(column_bytes(value)[0]) > 0)
        key = pc.ascii_lower(value)
    else:
        keep = pc.invert(blank(value))
        key = pc.utf8_lower(pc.utf8_trim_whitespace(value))
    if ctx.company_map is not None:  # one company per file needs no prefix
        key = pc.binary_join_element_wise(pc.utf8_lower(comp), key, "\x1f")
    numbers = np.arange(rows.start + 1, rows.start + rows.n + 1, dtype=np.int32)
    guids = rows.guids
    if keep.false_count:
        numbers = numbers[keep.to_numpy(zero_copy_only=False)]
        key = key.filter(keep)
        guids = guids.filter(keep) if guids is not None else None
    ctx.keys.append((key, numbers, guids, ctx.issues.part))
    ctx.key_hashes.append(text_hashes(key))


def remember_record(ctx: Context, rows: Rows) -> None:
    """Collect record GUIDs for duplicate_record (the same record twice, in one part or two)."""
    if rows.guids is None:
        return
    numbers = np.arange(rows.start + 1, rows.start + rows.n + 1, dtype=np.int32)
    if as_exported(rows.guids):  # the usual: nothing to normalize or drop, so share, do not copy
        ctx.records.append((rows.guids, numbers, ctx.issues.part))
        ctx.record_hashes.append(text_hashes(rows.guids))
        return
    guid = pc.utf8_lower(pc.utf8_trim(rows.guids, "{} \t"))
    keep = pc.not_equal(guid, "")
    if not pc.all(keep).as_py():
        numbers = numbers[keep.to_numpy(zero_copy_only=False)]
        guid = guid.filter(keep)
    ctx.records.append((guid, numbers, ctx.issues.part))
    ctx.record_hashes.append(text_hashes(guid))


def _repeats(
    keys: pa.ChunkedArray, rows: np.ndarray, parts: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Positions of every occurrence of a key after its first, and the position of that first."""
    distinct = pc.unique(keys)
    if len(distinct) == len(keys):  # the common case, one hash pass: no duplicates
        return None
    codes = pc.index_in(keys, value_set=distinct).to_numpy()
    _, first = np.unique(codes, return_index=True)
    first_of_row = first[codes]
    dup = np.nonzero(first_of_row != np.arange(len(codes)))[0]
    return (dup, first_of_row[dup]) if len(dup) else None


def _firsts(ctx: Context, rows: np.ndarray, parts: np.ndarray) -> pa.Array:
    return pa.array(
        [f" (first in {ctx.issues.where(int(p), int(r))})" for r, p in zip(rows, parts, strict=True)],
        pa.string(),
    )


def _parts_of(entries: list, index: int) -> np.ndarray:
    return np.concatenate([np.full(len(e[1]), e[index], dtype=np.int32) for e in entries])


def duplicates(ctx: Context) -> None:
    """duplicate_key and duplicate_record across every part, once the whole export is read.

    Each first sorts the texts' hashes taken while reading (texthash): when none repeats, that is
    all. Otherwise an exact hash pass over up to a million texts (pyarrow releases the GIL), and
    nothing else is left to overlap them with at the end of a run: side by side, half the time.
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="p2c-duplicates") as pool:
        blocks = [pool.submit(duplicate_keys, ctx), pool.submit(duplicate_records, ctx)]
        found = [block.result() for block in blocks]
    for block in found:  # keys first, records second: the report's order does not vary
        if block is not None:
            ctx.issues.add(block)


def duplicate_keys(ctx: Context) -> IssueBlock | None:
    """duplicate_key for every occurrence of a (company, key) after its first, across all parts."""
    if not may_repeat(ctx.key_hashes):  # the usual: every hash differs, so every key does
        ctx.keys.clear()
        ctx.key_hashes.clear()
        return None
    ctx.key_hashes.clear()
    keys = pa.chunked_array([k[0] for k in ctx.keys], pa.string())
    rows = np.concatenate([k[1] for k in ctx.keys])
    parts = _parts_of(ctx.keys, 3)
    has_guids = all(k[2] is not None for k in ctx.keys)
    guids = pa.chunked_array([k[2] for k in ctx.keys], pa.string()) if has_guids else None
    ctx.keys.clear()
    found = _repeats(keys, rows, parts)
    if found is None:
        return None
    dup, first = found
    taken = pa.array(dup)
    values = pa.array([v.split("\x1f", 1)[-1] for v in keys.take(taken).to_pylist()], pa.string())
    role = ctx.table.unique or ""
    i = ctx.layout.sources.get(role)
    column = ctx.layout.headers[i] if i is not None else ctx.table.columns[role].display
    return IssueBlock(
        "duplicate_key",
        column,
        pa.array(rows[dup].astype(np.int64)),
        guids.take(taken).combine_chunks() if guids is not None else None,
        values,
        details=_firsts(ctx, rows[first], parts[first]),
        parts=parts[dup],
    )


def duplicate_records(ctx: Context) -> IssueBlock | None:
    """duplicate_record for every occurrence of a record GUID after its first, across all parts."""
    if not may_repeat(ctx.record_hashes):
        ctx.records.clear()
        ctx.record_hashes.clear()
        return None
    ctx.record_hashes.clear()
    guids = pa.chunked_array([r[0] for r in ctx.records], pa.string())
    rows = np.concatenate([r[1] for r in ctx.records])
    parts = _parts_of(ctx.records, 2)
    ctx.records.clear()
    found = _repeats(guids, rows, parts)
    if found is None:
        return None
    dup, first = found
    values = guids.take(pa.array(dup)).combine_chunks()
    return IssueBlock(
        "duplicate_record",
        ctx.guid_header,
        pa.array(rows[dup].astype(np.int64)),
        values,
        values,
        details=_firsts(ctx, rows[first], parts[first]),
        parts=parts[dup],
    )


def apply(ctx: Context, rows: Rows) -> dict[str, pa.Array]:
    """Target values (null: leave the cell) for one batch; issues go to ctx.issues."""
    formula_like(ctx, rows.batch, rows.guids)
    comp = rows.value(company_of_the_row)
    values = {t.key: value for t in ctx.table.targets if (value := rows.value(t.rule)) is not None}
    formula_like_written(ctx, rows, values)
    if ctx.table.unique is not None:
        remember_key(ctx, rows, comp, ctx.table.unique)
    remember_record(ctx, rows)
    return values
