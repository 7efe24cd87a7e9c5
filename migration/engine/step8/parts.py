"""An export in several parts: Sales' "Export to Excel" stops at 100,000 rows per file.

The parts of one table are read one after another through one rule context, so
duplicates are found across parts, `auto` dates are decided once, and memory
does not grow with the number of parts. Each part gives its own output; one
report covers the table, with each part's file, rows and SHA-256.

The import route's re-export may come in parts too: with `merge_source_paths` (the step-2
export, one file or its parts) each re-export part is filled in place from the whole step-2
export, through one shared lookup, so a step-2 record in no part is reported once, at the end.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

import pyarrow as pa

from ..errors import EngineError
from ..files.reading import open_source
from ..rules import rows as rules
from ..rules.headers import HeaderCompanies
from ..rules.layout import check_same_columns, resolve_layout
from ..rules.options import TransformSettings
from ..rules.report import Report
from ..tables import TABLES, table_for
from .merge import Step2Export, merge_paths
from .transform import ByteProgress, Progress, TableRun

PathLike = str | os.PathLike[str]


def part_output_name(input_path: PathLike, extension: str | None = None) -> str:
    """A part's output is named after it: order_2.xlsx -> order_2.xlsx (or .csv with extension)."""
    stem, ext = os.path.splitext(os.path.basename(os.fspath(input_path)))
    return stem + (extension or ext.lower())


def transform_parts(
    table: str,
    inputs: Sequence[PathLike],
    outputs: Sequence[PathLike],
    settings: TransformSettings,
    *,
    report_path: PathLike | None = None,
    progress: Progress | None = None,
    header_paths: Sequence[PathLike] | None = None,
    merge_source_paths: PathLike | Sequence[PathLike] | None = None,
    also_write: Sequence[Sequence[PathLike]] | None = None,
    progress_bytes: ByteProgress | None = None,
    read_whole: Collection[PathLike] = (),
) -> Report:
    """Transform an export given as parts, outputs[i] for inputs[i]. Raises EngineError on a
    fatal problem, and then no output is left (parts already written are removed).

    merge_source_paths: merge mode (the inputs are a re-export's parts; each is filled from the
    step-2 export, given as one file or its parts).
    `also_write[i]`: more outputs of part i written from the same pass (an xlsx beside the CSV).
    `progress_bytes(done, total)`: bytes of CSV parts read, over all the parts.
    `read_whole`: the inputs read through the Web API, not exported: never flagged as cut off at
    Sales' 100,000-row export limit."""
    declared = table_for(table)
    if not declared.transforms:
        raise EngineError(f"{declared.export_name}: {declared.why_not}")
    inputs, outputs = [os.fspath(p) for p in inputs], [os.fspath(p) for p in outputs]
    if not inputs or len(inputs) != len(outputs):
        raise EngineError("give one output for each input part")
    merged = merge_paths(merge_source_paths) if merge_source_paths is not None else []
    also = [[os.fspath(p) for p in more] for more in also_write] if also_write else [[] for _ in inputs]
    if len(also) != len(inputs):
        raise EngineError("give the more outputs of each input part")
    every = outputs + [p for more in also for p in more]
    if len(set(map(os.path.abspath, every))) != len(every):
        raise EngineError("two parts would be written to the same output: give the parts different names")
    for path in every:
        if os.path.splitext(path)[1].lower() not in (".csv", ".xlsx"):
            raise EngineError(f"output {path!r} must end in .csv or .xlsx: the extension picks the format")
        if any(os.path.abspath(path) == os.path.abspath(i) for i in inputs + merged):
            raise EngineError("an output path is one of the inputs: choose another output folder")
    check_same_columns(inputs)
    headers = header_companies(declared.key, header_paths, settings)
    step2 = Step2Export(merged, declared) if merged else None
    written: list[str] = []
    try:
        whole = {os.path.abspath(p) for p in read_whole}
        report = _run_parts(
            declared.key, inputs, outputs, settings, progress, headers, written, step2, also, progress_bytes,
            whole,
        )  # fmt: skip
        if report_path is not None:
            report.write_json(report_path)
    except BaseException:
        for path in written:
            if os.path.exists(path):
                os.remove(path)
        raise
    finally:
        pa.default_memory_pool().release_unused()
    return report


def header_companies(
    table: str, header_paths: Sequence[PathLike] | None, settings: TransformSettings
) -> HeaderCompanies | None:
    """Lines: their headers' companies from the header export (all its parts); else None."""
    declared = TABLES[table]
    if not header_paths or declared.checked.header is None:
        return None
    return HeaderCompanies(TABLES[declared.checked.header[0]], list(header_paths), settings)


def _run_parts(
    table: str,
    inputs: list[str],
    outputs: list[str],
    settings: TransformSettings,
    progress: Progress | None,
    headers: HeaderCompanies | None,
    written: list[str],
    step2: Step2Export | None,
    also: list[list[str]],
    progress_bytes: ByteProgress | None,
    read_whole: set[str],
) -> Report:
    declared = table_for(table)
    several = len(inputs) > 1
    run: TableRun | None = None
    parts = []
    done_before = 0
    sizes = [os.path.getsize(p) for p in inputs]
    for n, (path, output) in enumerate(zip(inputs, outputs, strict=True)):
        run = TableRun(declared, path, settings, step2, shared=run, header_companies=headers)
        run.read_whole = os.path.abspath(path) in read_whole
        if n == 0:
            _decide_dates(run, inputs)
        issues = run.ctx.issues
        issues.part = n
        if several and n == 0:
            issues.files = [os.path.basename(p) for p in inputs]
        report = run.report
        before = report.rows_in
        part_progress = _offset(progress, done_before) if progress else None
        part_bytes = _bytes_offset(progress_bytes, sum(sizes[:n]), sum(sizes)) if progress_bytes else None
        run.execute(
            output, part_progress, last_part=n == len(inputs) - 1, also=also[n], progress_bytes=part_bytes
        )
        written.extend([output, *also[n]])
        done_before = report.rows_in
        parts.append(
            {
                "file": os.path.basename(path),
                "rows": report.rows_in - before,
                "sha256": report.input_sha256,
                "format": run.source.format,
                "output": os.path.basename(output),
                "output_sha256": report.output_sha256,
            }
        )
    assert run is not None
    report = run.report
    if several:
        report.parts = parts
        report.input_sha256 = report.output_sha256 = ""
        report.input_format = "+".join(dict.fromkeys(p["format"] for p in parts))
    return report


def _offset(progress: Progress, done_before: int) -> Progress:
    """Rows done are counted over the whole table already; a part's total is its own."""

    def report(rows_done: int, rows_total: int | None) -> None:
        progress(rows_done, None if rows_total is None else done_before + rows_total)

    return report


def _bytes_offset(progress_bytes: ByteProgress, before: int, total: int) -> ByteProgress:
    def report(done: int, _size: int) -> None:
        progress_bytes(before + done, total)

    return report


def _decide_dates(run: TableRun, inputs: list[str]) -> None:
    """`auto` date order over the whole export, as one file would decide it: the first rows, then
    every part in turn until a value settles it."""
    ctx = run.ctx
    if not ctx.table.receipt_chain or ctx.settings.date_order != "auto" or len(inputs) < 2:
        return
    own = ctx.layout
    try:
        for path in inputs:
            source = open_source(path)
            ctx.layout = resolve_layout(ctx.table, source.headers, require=False)
            for batch in source.batches():
                rules.observe_dates(ctx, batch)
                rules.observe_dates(ctx, batch, modified_on=True)
                if ctx.dates.order:
                    return
    finally:
        ctx.layout = own
