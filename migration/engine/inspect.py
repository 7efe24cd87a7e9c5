"""inspect_file: what an uploaded export holds, before anyone transforms it.

The upload step shows this: which table the headers belong to, which required
columns were found under which header, how many rows, a preview, and, for the
tables that transform, the row issues a run with the given settings would
report (found by running the transformation into a throwaway folder).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import EngineError
from .options import TABLES, TransformSettings
from .reading import cell_text, open_source
from .tables import SPECS, guess_table, resolve_layout

PREVIEW_ROWS = 20


@dataclass
class Inspection:
    table: str
    format: str
    headers: list[str]
    row_count: int
    detected_table: str | None = None
    table_warning: str = ""
    matched_headers: dict[str, str] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)
    issue_counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0
    preview: list[list[str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.missing_columns:
            return self.missing_columns[0]
        if self.table_warning:
            return self.table_warning
        if not (self.errors or self.warnings):
            return f"{self.row_count} rows"
        return f"{self.row_count} rows; {self.errors} row error(s), {self.warnings} warning(s)"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary}


def _table_warning(table: str, detected: str | None) -> str:
    if detected is None or detected == table:
        return ""
    return (
        f"the headers look like a {TABLES[detected].export_name} export, not {TABLES[table].export_name}: "
        "check that you picked the right file for this slot"
    )


def _preview_and_count(source) -> tuple[list[list[str]], int]:
    preview: list[list[str]] = []
    count = 0
    width = len(source.headers)
    for batch in source.batches():
        if len(preview) < PREVIEW_ROWS:
            take = min(PREVIEW_ROWS - len(preview), batch.num_rows)
            columns = [batch.text(i).slice(0, take).to_pylist() for i in range(width)]
            preview.extend([cell_text(columns[c][r]) for c in range(width)] for r in range(take))
        count += batch.num_rows
    return preview, count


def inspect_file(
    path: str | os.PathLike[str], table: str | None = None, settings: TransformSettings | None = None
) -> Inspection:
    """Inspect an export. Raises EngineError when the file cannot be read at all."""
    source = open_source(path)
    detected = guess_table(source.headers)
    table = table or detected
    if table not in TABLES:
        raise EngineError("cannot tell which table this export is: name its table (account, contact, ...)")
    preview, count = _preview_and_count(source)
    result = Inspection(
        table=table,
        format=source.format,
        headers=list(source.headers),
        row_count=count,
        detected_table=detected,
        table_warning=_table_warning(table, detected),
        preview=preview,
    )
    if table in SPECS:
        _check_columns(result, table)
        if not result.missing_columns and TABLES[table].transforms:
            _count_issues(result, table, path, settings or TransformSettings(company="XXXX"))
    return result


def _check_columns(result: Inspection, table: str) -> None:
    spec = SPECS[table]
    try:
        layout = resolve_layout(spec, result.headers)
    except EngineError as error:
        result.missing_columns.append(str(error))
        return
    found = layout.source_names(spec)
    result.matched_headers = {spec.sources[role].display: header for role, header in found.items()}


def _count_issues(result: Inspection, table: str, path, settings: TransformSettings) -> None:
    from .transform import transform_file  # late: transform imports the whole engine

    with tempfile.TemporaryDirectory(prefix="p2c-inspect-") as folder:
        report = transform_file(table, path, os.path.join(folder, "out.csv"), settings)
    result.issue_counts = dict(sorted(report.issues.counts.items()))
    result.errors, result.warnings = report.errors, report.warnings
