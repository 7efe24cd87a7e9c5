"""transform_file: read an export, apply its table's rules, write the output and the report."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import EngineError
from ..files.csv_inplace import fill_csv
from ..files.party_numbers import load_party_numbers
from ..files.reading import Batch, CsvSource, Source, XlsxSource, norm, open_source
from ..files.writing import Writers, open_writers
from ..files.xlsx_inplace import fill_xlsx, rows_from_batches
from ..rules import rows as rules
from ..rules.dates import DateOrder
from ..rules.headers import HeaderCompanies
from ..rules.layout import Layout, find, resolve_layout
from ..rules.options import TransformSettings
from ..rules.report import IssueLog, Report, add_value_counts
from ..rules.schema import Col, Table, Target
from ..tables import issues_of, table_for
from .merge import Step2Export

Progress = Callable[[int, int | None], None]
# (bytes read, bytes of the file): called before `Progress` for a CSV, whose rows are unknown.
ByteProgress = Callable[[int, int], None]


def appended_targets(table: Table, layout: Layout, step2: Step2Export | None) -> list[Target]:
    have = set(layout.sources) | (set(step2.layout.sources) if step2 else set())
    out = []
    for t in table.targets:
        if t.key in layout.targets:
            continue
        if t.note_if_no_source and t.same_as not in have:
            continue  # e.g. nothing to convert: the view has no ship-to country
        out.append(t)
    return out


def _hidden(source: Source) -> set[int]:
    if isinstance(source, XlsxSource):
        return set(source.hidden)
    return {i for i, h in enumerate(source.headers) if h.strip().casefold().startswith("(do not modify)")}


def _prepare_dates(ctx: rules.Context, source: Source, batches: Iterator[Batch]) -> Iterator[Batch]:
    """Decide `auto` before any row is written: from the first batch, else from the whole file.

    Once decided, a later value in the other order fails to parse and is reported as bad_date.
    """
    first = next(batches, None)
    decided = ctx.dates.order is not None  # an earlier part of the export decided it
    if first is not None and ctx.table.receipt_chain and ctx.settings.date_order == "auto" and not decided:
        rules.observe_dates(ctx, first)
        if not ctx.dates.order:
            rules.observe_dates(ctx, first, modified_on=True)
        if not ctx.dates.order:
            for batch in _rescan(source):
                rules.observe_dates(ctx, batch)
                rules.observe_dates(ctx, batch, modified_on=True)
                if ctx.dates.order:
                    break
        ctx.dates.require()
    if first is not None:
        yield first
    yield from batches


def _rescan(source: Source) -> Iterator[Batch]:
    if isinstance(source, CsvSource):
        return source.batches()
    return source.batches(fresh=True)  # type: ignore[call-arg]


def transform_file(
    table: str,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    settings: TransformSettings,
    *,
    report_path: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    merge_source_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    also_write: Sequence[str | os.PathLike[str]] = (),
    progress_bytes: ByteProgress | None = None,
    read_whole: bool = False,
) -> Report:
    """Transform one export. Raises EngineError (and writes nothing) on a fatal problem.

    merge_source_path: merge mode's step-2 export, one file or the list of its parts.
    `also_write`: more outputs (.csv or .xlsx) written from the same pass, the same rows.
    `read_whole`: the input was read through the Web API, not exported: it is never flagged as cut
    off at Sales' 100,000-row export limit.
    """
    declared = table_for(table)
    if not declared.transforms:
        raise EngineError(f"{declared.export_name}: {declared.why_not}")
    if not isinstance(settings, TransformSettings):
        raise EngineError("settings must be a TransformSettings")
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    also = [os.fspath(p) for p in also_write]
    for path in (output_path, *also):
        if os.path.splitext(path)[1].lower() not in (".csv", ".xlsx"):
            raise EngineError(f"output {path!r} must end in .csv or .xlsx: the extension picks the format")
        if os.path.abspath(input_path) == os.path.abspath(path):
            raise EngineError("the output path is the input file: choose another output path")
    if len({os.path.abspath(p) for p in (output_path, *also)}) != 1 + len(also):
        raise EngineError("two outputs have the same path: give each output its own name")
    try:
        run = TableRun(declared, input_path, settings, merge_source_path)
        run.read_whole = read_whole
        if also and run.fills_in_place(output_path):
            raise EngineError("filling a re-export in place writes one output: run again for another")
        report = run.execute(output_path, progress, also=also, progress_bytes=progress_bytes)
        if report_path is not None:
            report.write_json(report_path)
    finally:
        # Long-lived workers (Celery) keep running: hand the run's arrow memory back to the OS.
        pa.default_memory_pool().release_unused()
    return report


def _prefetch(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """Read the next batches on a thread while the rules run on this one (pyarrow releases the GIL)."""
    q: queue.Queue[tuple[Batch | None, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        q.put((batch, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((None, None))
        except BaseException as e:  # re-raised in the consumer
            q.put((None, e))

    thread = threading.Thread(target=produce, name="p2c-reader", daemon=True)
    thread.start()
    try:
        while True:
            batch, error = q.get()
            if error is not None:
                raise error
            if batch is None:
                return
            yield batch
    finally:
        stop.set()


def _hash_file(path: str, sha: Any) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)


class TableRun:
    """One transformation: the source, its layout, the rule context and the writer."""

    def __init__(
        self,
        table: Table,
        input_path: str,
        settings: TransformSettings,
        merge_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Step2Export | None,
        *,
        shared: TableRun | None = None,
        header_companies: HeaderCompanies | None = None,
    ) -> None:
        """`shared`: the run of an earlier part of the same export, whose context (issues, dates,
        keys for the duplicate checks) and report this part continues. `merge_path`: the step-2
        export (a path, its parts, or a Step2Export the parts of a re-export share)."""
        self.table, self.settings = table, settings
        self.progress_bytes: ByteProgress | None = None
        # Read through the Web API, not exported: Sales' 100,000-row export limit cut nothing.
        self.read_whole = False
        self.source = open_source(input_path)
        # Lines with their header export take the header's company: the rule's column is not theirs.
        rule = settings.company_rule if header_companies is None else None
        self.step2 = (
            merge_path
            if isinstance(merge_path, Step2Export) or merge_path is None
            else Step2Export(merge_path, table)
        )
        # A re-export lacks P2C's columns (merge mode takes them from the step-2 export): none required.
        self.layout = resolve_layout(
            table,
            self.source.headers,
            rule.column_for(table.key) if rule else None,
            require=self.step2 is None,
        )
        if self.step2 and self.layout.guid is None:
            raise EngineError(
                "merge: the re-export has no record GUID column: export it with Export to Excel"
            )
        self.appended = appended_targets(table, self.layout, self.step2)
        if self.step2 is not None and self.appended:
            raise EngineError(missing_targets_message(table, self.appended))
        if shared is not None:
            self.ctx, self.report = shared.ctx, shared.report
            self.ctx.layout = self.layout
            self._locate_rule_columns()
            return
        party, by_account = (None, False)
        if table.reads_customer_list and settings.party_numbers_path is not None:
            party, by_account = load_party_numbers(settings.party_numbers_path)
        self.ctx = rules.Context(
            table=table,
            layout=self.layout,
            settings=settings,
            issues=IssueLog(issues_of(table)),
            dates=DateOrder(settings.date_order),
            party=party,
            party_by_account=by_account,
            company_map=rule.lookup() if rule else None,
            header_companies=header_companies,
        )
        self._locate_rule_columns()
        self.report = Report(table=table.key, settings=settings.to_dict(), input_format=self.source.format)

    def _locate_rule_columns(self) -> None:
        """This file's GUID header (duplicate_record) and relationship type rule column."""
        ctx, layout = self.ctx, self.layout
        ctx.guid_header = layout.headers[layout.guid] if layout.guid is not None else ""
        ctx.appended = {t.key: t.col.display for t in self.appended}
        kind = self.settings.relationship_type_rule
        if kind is None or not any(t.key == "relationship_type" for t in self.table.targets):
            return
        i = find([norm(h) for h in layout.headers], Col(kind.source_column, kind.source_column))
        if i is None:
            raise EngineError(
                f"the relationship type rule's column {kind.source_column!r} is not in the file: "
                "fix the column name in the relationship type rule, or export the table with that column"
            )
        ctx.relationship_column, ctx.relationship_map = i, kind.lookup()

    def rows_for(self, batch: Batch) -> rules.Rows:
        guids = batch.text(self.layout.guid) if self.layout.guid is not None else None
        merged = None
        if self.step2 is not None and guids is not None:
            found_cols, found = self.step2.lookup(guids)
            merged = {}
            for role, col in found_cols.items():
                own = self.layout.sources.get(role)
                merged[role] = pc.coalesce(col, batch.text(own)) if own is not None else col.fill_null("")
            guid_header = self.layout.headers[self.layout.guid]
            self.ctx.issues.add_mask(
                "merge_only_in_reexport", guid_header, pc.invert(found), batch.start, guids, None
            )
        return rules.Rows(self.ctx, batch, guids, merged)

    def fills_in_place(self, output_path: str) -> bool:
        """Merge mode into the re-export's own format: the workbook is kept, only target cells change."""
        ext = os.path.splitext(output_path)[1].lower().lstrip(".")
        return self.step2 is not None and not self.appended and ext == self.source.format

    def execute(
        self,
        output_path: str,
        progress: Progress | None,
        *,
        last_part: bool = True,
        also: Sequence[str] = (),
        progress_bytes: ByteProgress | None = None,
    ) -> Report:
        """Write `output_path` (and the `also` outputs, from the same pass) and return the report."""
        self.progress_bytes = progress_bytes
        if self.fills_in_place(output_path):
            return self._execute_fill(output_path, progress, last_part)
        headers = list(self.source.headers) + [t.col.header(self.settings.headers) for t in self.appended]
        sheet = getattr(self.source, "sheet_name", None) or self.table.export_name
        # Hashing the input on its own thread beats feeding pyarrow a hashing file object: that
        # object's reads need the GIL, which the rules hold, and stall the reader.
        sha = hashlib.sha256()
        hasher = threading.Thread(target=_hash_file, args=(self.source.path, sha), daemon=True)
        hasher.start()
        read = self.source.batches()
        # calamine builds Python objects (holds the GIL): prefetching a workbook gains nothing.
        read = _prefetch(read) if isinstance(self.source, CsvSource) else read
        batches = _prepare_dates(self.ctx, self.source, iter(read))
        writer = open_writers([output_path, *also], headers, _hidden(self.source), sheet)
        try:
            before = self.report.rows_in
            self._loop(batches, writer, progress)
            if not self.read_whole:
                self.ctx.issues.flag_export_limit(self.report.rows_in - before)
            self._finish(last_part)
            self.report.output_sha256 = writer.commit()
            hasher.join()
            self.report.input_sha256 = sha.hexdigest()
        except BaseException:
            writer.abort()
            raise
        self.report.output_format = writer.format
        return self.report

    def _execute_fill(self, output_path: str, progress: Progress | None, last_part: bool = True) -> Report:
        """Stream the re-export into its copy, setting only the target cells (p2c-rules.md)."""
        sha = hashlib.sha256()
        hasher = threading.Thread(target=_hash_file, args=(self.source.path, sha), daemon=True)
        hasher.start()
        keys = list(self.layout.targets)
        batches = _prepare_dates(self.ctx, self.source, iter(self.source.batches()))
        rows = rows_from_batches(self._fill_values(batches, keys, progress))
        columns = [self.layout.targets[k] for k in keys]
        if isinstance(self.source, XlsxSource):
            result = fill_xlsx(self.source.path, output_path, columns, rows, sheet=self.source.sheet_name)
        else:
            result = fill_csv(self.source.path, output_path, columns, rows)
        try:
            self._finish(last_part)
        except BaseException:
            os.remove(output_path)
            raise
        hasher.join()
        r = self.report
        r.input_sha256, r.output_sha256 = sha.hexdigest(), result.output_sha256
        r.output_format, r.filled_in_place = self.source.format, True
        return r

    def _fill_values(
        self, batches: Iterator[Batch], keys: list[str], progress: Progress | None
    ) -> Iterator[list[pa.Array]]:
        """Per batch, each target's new values, counted; null keeps the cell (also when unchanged)."""
        total = self.source.rows_hint()
        for batch in batches:
            values = rules.apply(self.ctx, self.rows_for(batch))
            self._count_companies(values.get("company"))
            self._count_relationship_types(values.get("relationship_type"))
            cols = []
            for key in keys:
                i = self.layout.targets[key]
                new = values.get(key)
                if new is None:
                    cols.append(pa.nulls(batch.num_rows, pa.string()))
                    continue
                old = batch.text(i)
                self._count(self.layout.headers[i], new, old)
                same = pc.fill_null(pc.equal(new, old), False)
                cols.append(pc.if_else(same, pa.scalar(None, pa.string()), new))
            self.report.rows_in += batch.num_rows
            self.report.rows_out += batch.num_rows
            self._report_progress(batch, progress, total)
            yield cols

    def _report_progress(self, batch: Batch, progress: Progress | None, total: int | None) -> None:
        if self.progress_bytes is not None and batch.bytes_read is not None:
            self.progress_bytes(batch.bytes_read, getattr(self.source, "size", batch.bytes_read))
        if progress is not None:
            progress(self.report.rows_in, total)

    def _loop(self, batches: Iterator[Batch], writer: Writers, progress: Progress | None) -> None:
        total = self.source.rows_hint()
        for batch in batches:
            values = rules.apply(self.ctx, self.rows_for(batch))
            self._count_companies(values.get("company"))
            self._count_relationship_types(values.get("relationship_type"))
            self._write(batch, values, writer)
            self.report.rows_in += batch.num_rows
            self.report.rows_out += batch.num_rows
            self._report_progress(batch, progress, total)

    def _count_companies(self, company: pa.Array | None) -> None:
        """Rows per company, against initial sync's limits per legal entity; and the rows that took
        the default company because this export lacks the company rule's column."""
        add_value_counts(self.report.rows_by_company, company)
        missing = self.layout.company_rule_missing
        if missing is not None and company is not None:
            counted = self.report.company_rule_missing
            counted[missing] = counted.get(missing, 0) + len(company)

    def _count_relationship_types(self, kinds: pa.Array | None) -> None:
        """Accounts per relationship type: only Customer accounts sync to Finance and Operations."""
        add_value_counts(self.report.relationship_types, kinds)

    def _count(self, header: str, new: pa.Array, old: pa.Array | None) -> None:
        r = self.report
        r.counts[header] = r.counts.get(header, 0) + _sum(pc.and_(pc.is_valid(new), pc.not_equal(new, "")))
        if old is not None:
            changed = pc.and_(pc.not_equal(new, old), pc.not_equal(old, ""))
            r.overwritten[header] = r.overwritten.get(header, 0) + _sum(changed)

    def _count_same(self, header: str, values: pa.Array) -> None:
        """A column filled in place with its own values: counted, never overwritten."""
        self._count(header, values, None)
        self.report.overwritten.setdefault(header, 0)

    def _write(self, batch: Batch, values: dict[str, pa.Array], writer: Writers) -> None:
        if batch.arrow is not None:
            cols = self._filled_columns(batch, values)
            writer.write_columns(cols + [new.fill_null("") for new in self._appended_values(batch, values)])
            return
        rows = self._filled_rows(batch, values)
        for new in self._appended_values(batch, values):
            for row, v in zip(rows, new.to_pylist(), strict=True):
                row.append(v or "")
        writer.write_rows(rows, len(self.source.headers) + len(self.appended))

    def _filled_columns(self, batch: Batch, values: dict[str, pa.Array]) -> list[pa.Array]:
        """The batch's columns, the targets the file already has filled in place (and counted)."""
        cols = list(batch.arrow.columns) if batch.arrow is not None else []
        for key, i in self.layout.targets.items():
            if key not in values:
                continue
            if values[key] is cols[i]:  # e.g. country "keep": nothing to compare or merge
                self._count_same(self.layout.headers[i], cols[i])
                continue
            self._count(self.layout.headers[i], values[key], cols[i])
            cols[i] = pc.coalesce(values[key], cols[i])
        return cols

    def _filled_rows(self, batch: Batch, values: dict[str, pa.Array]) -> list[list[Any]]:
        """The xlsx variant: typed cells stay as they are where the rule gives no value."""
        rows = batch.rows or []
        for key, i in self.layout.targets.items():
            if key in values:
                self._count(self.layout.headers[i], values[key], batch.text(i))
                for row, v in zip(rows, values[key].to_pylist(), strict=True):
                    if v is not None:
                        row[i] = v
        return rows

    def _appended_values(self, batch: Batch, values: dict[str, pa.Array]) -> list[pa.Array]:
        """The appended targets' values (null where the rule gave none), counted."""
        appended = []
        for t in self.appended:
            new = values.get(t.key, pa.nulls(batch.num_rows, pa.string()))
            self._count(t.col.header(self.settings.headers), new, None)
            appended.append(new)
        return appended

    def _finish(self, last_part: bool = True) -> None:
        if last_part:  # duplicates are looked for across every part of the export
            # The pass's batches are freed but their pages still held by Arrow's allocator: give
            # them back first, or the duplicate checks' work (a sort of the hashes, the exact
            # pass's hash tables when something may repeat) comes on top of them: the peak.
            pa.default_memory_pool().release_unused()
            rules.duplicates(self.ctx)
        r = self.report
        r.issues = self.ctx.issues
        r.date_order = self.ctx.dates.order if self.table.receipt_chain else None
        r.columns_added = [t.col.header(self.settings.headers) for t in self.appended]
        r.columns_filled = [self.layout.headers[i] for i in self.layout.targets.values()]
        if self.step2 is not None:
            guid_header = self.layout.headers[self.layout.guid or 0]
            # A re-export in parts: a step-2 record may be in a later part; told once, at the end.
            only_step2 = self.step2.report_unmatched(self.ctx.issues, guid_header) if last_part else 0
            only_here = self.ctx.issues.counts.get("merge_only_in_reexport", 0)
            r.merge = {
                "step2_rows": self.step2.rows,
                "reexport_rows": r.rows_in,
                "matched": r.rows_in - only_here,
                "only_in_reexport": only_here,
                "only_in_step2": only_step2,
            }
        written = {t.key for t in self.appended} | set(self.layout.targets)
        r.notes += [
            t.note_if_no_source for t in self.table.targets if t.note_if_no_source and t.key not in written
        ]


def missing_targets_message(table: Table, missing: list[Target]) -> str:
    names = ", ".join(repr(t.col.display) for t in missing)
    return (
        f"the {table.export_name} re-export lacks dual-write's column(s) {names}: add "
        f"{'it' if len(missing) == 1 else 'them'} to the table's view in Sales, export the table again "
        "and upload the new file (the Import data wizard refuses a workbook whose columns were added)"
    )


def _sum(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


def dry_run(
    table: str,
    input_path: str,
    settings: TransformSettings,
    each_batch: Callable[[Batch], None] | None = None,
) -> dict[str, int]:
    """The rules over the whole file without writing anything: issue counts by code.

    `each_batch` sees every batch too (inspection's row count and preview, from the same read)."""
    run = TableRun(table_for(table), input_path, settings, None)
    read = run.source.batches()
    read = _prefetch(read) if isinstance(run.source, CsvSource) else read
    batches = _prepare_dates(run.ctx, run.source, iter(read))
    rows = 0
    for batch in batches:
        rules.apply(run.ctx, run.rows_for(batch))
        if each_batch is not None:
            each_batch(batch)
        rows += batch.num_rows
    run.ctx.issues.flag_export_limit(rows)
    rules.duplicates(run.ctx)
    return dict(sorted(run.ctx.issues.counts.items()))
