"""inspect_file: what the upload step shows before anything is transformed."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import EngineError
from .layout import find, norm
from .options import TransformSettings
from .reading import Source, cell_text, open_source
from .tables import TABLES, guess_table, table_for

PREVIEW_ROWS = 20
# The preview is for a glance: a wide or wordy file must not make a huge page.
PREVIEW_COLUMNS = 40
PREVIEW_CHARS = 100
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
    missing_required: list[str] = field(default_factory=list)
    guid_column: str | None = None
    rows: int = 0
    issue_counts: dict[str, int] = field(default_factory=dict)
    preview: list[list[str]] = field(default_factory=list)  # PREVIEW_COLUMNS, PREVIEW_CHARS at most
    preview_headers: list[str] = field(default_factory=list)
    columns_not_previewed: int = 0

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
    guid = next((h for h, n in zip(result.headers, normed, strict=True) if n in declared.guid_headers), None)
    result.guid_column = guid or next(
        (h for h in result.headers if norm(h).startswith("(do not modify) ")), None
    )


def _short(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _count_and_preview(source: Source, result: Inspection) -> None:
    result.preview_headers = [_short(h) for h in source.headers[:PREVIEW_COLUMNS]]
    result.columns_not_previewed = max(0, len(source.headers) - PREVIEW_COLUMNS)
    for batch in source.batches():
        if len(result.preview) < PREVIEW_ROWS:
            take = min(PREVIEW_ROWS - len(result.preview), batch.num_rows)
            if batch.rows is not None:
                rows = [[cell_text(v) for v in row[:PREVIEW_COLUMNS]] for row in batch.rows[:take]]
            else:
                sliced = batch.arrow.slice(0, take)
                columns = [
                    sliced.column(i).to_pylist() for i in range(min(PREVIEW_COLUMNS, sliced.num_columns))
                ]
                rows = [list(row) for row in zip(*columns, strict=True)]
            result.preview += [[_short(v) for v in row] for row in rows]
        result.rows += batch.num_rows


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
    _count_and_preview(source, result)
    if result.table and TABLES[result.table].transforms and not result.missing_required:
        _issue_counts(result, settings or TransformSettings(company=INSPECT_COMPANY))
    return result


def _issue_counts(result: Inspection, settings: TransformSettings) -> None:
    from .transform import dry_run  # late: transform imports this module's siblings

    try:
        result.issue_counts = dry_run(result.table or "", result.path, settings)
    except EngineError as e:
        result.warning = "; ".join(w for w in (result.warning, e.message) if w)
