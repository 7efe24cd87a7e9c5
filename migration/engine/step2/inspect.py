"""inspect_file: what the upload step shows before anything is transformed."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from ..files.reading import Batch, Source, cell_text, norm, open_source
from ..rules import dates
from ..rules.layout import find
from ..rules.options import TransformSettings
from ..rules.report import EXPORT_LIMIT_ROWS, add_value_counts
from ..tables import TABLES, guess_table, table_for

PREVIEW_ROWS = 20
# The preview is for a glance: a wide or wordy file must not make a huge page.
PREVIEW_COLUMNS = 40
PREVIEW_CHARS = 100
_MODIFIED_ON = "(do not modify) modified on"
INSPECT_COMPANY = "DAT"  # placeholder company when the migration's settings are not given


@dataclass
class Inspection:
    path: str
    format: str
    description: str
    table: str | None
    detected_table: str | None
    warning: str | None
    headers: list[str]
    hidden_columns: list[int]
    matched: dict[str, str] = field(default_factory=dict)  # required/used column -> header found
    targets_present: list[str] = field(default_factory=list)  # re-export: filled in place
    # Re-export: dual-write's columns the view lacks (display names), to add before exporting again.
    targets_missing: list[str] = field(default_factory=list)
    # The newest "(Do Not Modify) Modified On" (ISO): when the export was taken, at the latest.
    modified_on_newest: str | None = None
    missing_required: list[str] = field(default_factory=list)
    guid_column: str | None = None
    rows: int = 0
    issue_counts: dict[str, int] = field(default_factory=dict)
    preview: list[list[str]] = field(default_factory=list)  # PREVIEW_COLUMNS, PREVIEW_CHARS at most
    preview_headers: list[str] = field(default_factory=list)
    columns_not_previewed: int = 0
    # The accounts' Relationship Type as exported, counted (empty as ""): what the job overwrites.
    relationship_types_now: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _table_warning(table: str | None, detected: str | None) -> str | None:
    if table and detected and detected != table:
        return (
            f"the headers look like the {TABLES[detected].export_name} export, not "
            f"{TABLES[table].export_name}: check that the right file was uploaded"
        )
    return None


def _describe_columns(result: Inspection, table: str) -> None:
    declared = table_for(table)
    normed = [norm(h) for h in result.headers]
    for role, col in declared.columns.items():
        i = find(normed, col)
        if i is not None:
            result.matched[col.display] = result.headers[i]
        elif role in declared.required:
            result.missing_required.append(col.display)
    for t in declared.targets:
        i = find(normed, t.col)
        if i is not None and t.same_as is None:
            result.targets_present.append(result.headers[i])
        elif i is None and not t.note_if_no_source and t.col.display not in result.targets_missing:
            result.targets_missing.append(t.col.display)
    guid = next((h for h, n in zip(result.headers, normed, strict=True) if n in declared.guid_headers), None)
    result.guid_column = guid or next(
        (h for h in result.headers if norm(h).startswith("(do not modify) ")), None
    )


def _short(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _modified_on(value: object) -> dt.datetime | None:
    """A Modified On cell: a datetime in a workbook; ISO or locale text in a CSV (the date then)."""
    # Sales writes the user's local time without a zone: taken as UTC, close enough for a warning.
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = cell_text(value).strip()
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    day = dates.parse(text, "mdy") or dates.parse(text, "dmy")
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None


def _newest_in(
    batch, column: int, newest: dt.datetime | None, days: dict[str, dt.date | None] | None = None
) -> dt.datetime | None:
    """The newest Modified On of the batch and `newest`; `days` caches date texts across batches."""
    if batch.rows is not None:
        cells = [r[column] for r in batch.rows]
    else:
        cells = _newest_candidates(batch.text(column), {} if days is None else days)
    for cell in cells:
        when = _modified_on(cell)
        if when is not None and (newest is None or when > newest):
            newest = when
    return newest


# A cell's date, before any time: "6/18/2021 3:04 PM" or "2021-06-18T15:04:00Z".
_DAY = r"^\s*(?P<day>[^\sT]*)"


def _newest_candidates(text: pa.Array, days: dict[str, dt.date | None]) -> list[str]:
    """The distinct cells that can hold the newest Modified On of a CSV batch, without parsing each
    of a million cells: the newest date among the few distinct dates first, then the full cells
    of that date and the two before it (an ISO offset moves a cell's UTC time by under a day)."""
    day_text = pc.extract_regex(text, _DAY).field("day")
    parsed = {}
    for text_of_day in pc.unique(day_text).to_pylist():
        if text_of_day not in days:
            when = _modified_on(text_of_day)
            days[text_of_day] = when.date() if when is not None else None
        if days[text_of_day] is not None:
            parsed[text_of_day] = days[text_of_day]
    if not parsed:
        return pc.unique(text).to_pylist()  # nothing reads as a date: let each cell say so
    since = max(parsed.values()) - dt.timedelta(days=2)
    recent = pa.array([d for d, day in parsed.items() if day >= since], pa.string())
    return pc.unique(text.filter(pc.is_in(day_text, value_set=recent))).to_pylist()


def _preview_rows(batch, take: int) -> list[list[str]]:
    if batch.rows is not None:
        rows = [[cell_text(v) for v in row[:PREVIEW_COLUMNS]] for row in batch.rows[:take]]
    else:
        sliced = batch.arrow.slice(0, take)
        columns = [sliced.column(i).to_pylist() for i in range(min(PREVIEW_COLUMNS, sliced.num_columns))]
        rows = [list(row) for row in zip(*columns, strict=True)]
    return [[_short(v) for v in row] for row in rows]


def _relationship_type_column(table: str | None, normed: list[str]) -> int | None:
    """Where a table with a Relationship Type target (account) has it in this file, if it does."""
    if table is None or table not in TABLES:
        return None
    target = next((t for t in TABLES[table].targets if t.key == "relationship_type"), None)
    return find(normed, target.col) if target is not None else None


class _Glance:
    """Rows, the preview and the newest Modified On, batch by batch: fed by the rules' pass when
    there is one, so that a million-row export is read once."""

    def __init__(self, source: Source, result: Inspection) -> None:
        self.result = result
        result.preview_headers = [_short(h) for h in source.headers[:PREVIEW_COLUMNS]]
        result.columns_not_previewed = max(0, len(source.headers) - PREVIEW_COLUMNS)
        normed = [norm(h) for h in result.headers]
        self.modified = normed.index(_MODIFIED_ON) if _MODIFIED_ON in normed else None
        self.kinds = _relationship_type_column(result.table, normed)
        self.newest: dt.datetime | None = None
        self.days: dict[str, dt.date | None] = {}  # a few hundred distinct dates in a whole export
        result.rows, result.preview = 0, []

    def __call__(self, batch: Batch) -> None:
        result = self.result
        if self.modified is not None:
            self.newest = _newest_in(batch, self.modified, self.newest, self.days)
        if len(result.preview) < PREVIEW_ROWS:
            result.preview += _preview_rows(batch, min(PREVIEW_ROWS - len(result.preview), batch.num_rows))
        result.rows += batch.num_rows
        if self.kinds is not None:
            add_value_counts(result.relationship_types_now, batch.text(self.kinds))

    def finish(self) -> None:
        self.result.modified_on_newest = self.newest.isoformat(timespec="minutes") if self.newest else None


def inspect_file(
    path: str | os.PathLike[str], table: str | None = None, settings: TransformSettings | None = None
) -> Inspection:
    """Detected table, matched and missing columns, row count, issues by code, a preview.

    Bad files raise EngineError exactly as transform_file would.
    """
    if table is not None:
        table_for(table)  # unknown table: EngineError
    source = open_source(path)
    detected = guess_table(source.headers)
    result = Inspection(
        path=os.fspath(path),
        format=source.format,
        description=source.description,
        table=table or detected,
        detected_table=detected,
        warning=_table_warning(table, detected),
        headers=list(source.headers),
        hidden_columns=sorted(getattr(source, "hidden", set())),
    )
    if result.table is not None:
        _describe_columns(result, result.table)
    glance = _Glance(source, result)
    rules_ran = result.table and TABLES[result.table].transforms and not result.missing_required
    if not (
        rules_ran and _issue_counts(result, settings or TransformSettings(company=INSPECT_COMPANY), glance)
    ):
        glance = _Glance(source, result)  # no rules' pass, or it stopped early: a read of its own
        for batch in source.batches():
            glance(batch)
    glance.finish()
    if result.rows == EXPORT_LIMIT_ROWS:  # every table, transformed or not: Sales' export stops there
        result.issue_counts["export_limit_reached"] = 1
    return result


def _issue_counts(result: Inspection, settings: TransformSettings, glance: _Glance) -> bool:
    """Issue counts by code, the glance fed from the same read; False if the rules stopped early."""
    from ..step8.transform import dry_run  # late: transform imports this module's siblings

    try:
        result.issue_counts = dry_run(result.table or "", result.path, settings, each_batch=glance)
        return True
    except EngineError as e:
        result.warning = "; ".join(w for w in (result.warning, e.message) if w)
        return False
