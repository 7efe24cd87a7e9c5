"""What a step-8 run made, stored: the review copies, the import files and their parts, the report
and the issue list in storage, every issue in the JobIssue table, the job marked succeeded."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from .. import engine, runbook
from ..models import ExportUpload, JobIssue, JobState, TransformJob
from ..storage import store_result as _store_result
from ..storage import stored_delete
from .activity import activity_record
from .imports import import_parts_record

ISSUE_BATCH = 50_000


@dataclass
class StoredNames:
    """What storing a run's results wrote, and the earlier attempt's files it replaces: those are
    deleted once the row points at the new ones, never before (a download of one goes on
    meanwhile); if the run is not recorded, what it wrote is deleted instead."""

    saved: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


@dataclass
class RunOutput:
    """What a run made, before it is stored."""

    report: engine.Report  # the job's report: the re-export's fill when there is one
    files: dict = field(default_factory=dict)  # local outputs by role: "csv", "report", "parts", "imports"...
    part_files: list[dict] = field(default_factory=list)  # each part's stored review copy and issues
    import_files: list[str] = field(default_factory=list)  # a re-export in parts: each stored import file
    stored: StoredNames = field(default_factory=StoredNames)


def uploads_in_order(ids: list[int]) -> list[ExportUpload]:
    found = ExportUpload.objects.in_bulk(ids)
    return [found[i] for i in ids]


def reexport_uploads(job: TransformJob) -> list[ExportUpload]:
    """The re-export's parts the job fills, in order (one file: the job's re-export)."""
    ids = job.run_settings.get("reexport_parts")
    if ids:
        return uploads_in_order(ids)
    return [job.reexport] if job.reexport_id else []


def result_name(job: TransformJob, suffix: str) -> str:
    """File names carry the migration, the table and the date."""
    stamp = (job.started_at or timezone.now()).strftime("%Y-%m-%d")
    return f"{slugify(job.migration.name)}_{job.table}_{stamp}{suffix}"


ISSUE_FIELDS = ("job_id", "file", "row", "guid", "column", "severity", "code", "message")


def _issue_tables(job: TransformJob, report: engine.Report) -> Iterator:
    """The report's issues as JobIssue columns (arrow tables), ISSUE_BATCH rows at a time, text cut
    to the model's columns."""
    widths = {name: JobIssue._meta.get_field(name).max_length for name in ("file", "column", "message")}
    for table in report.issues.iter_records(ISSUE_BATCH, widths):
        yield table.add_column(0, "job_id", pa.repeat(pa.scalar(job.id, pa.int64()), table.num_rows)).select(
            ISSUE_FIELDS
        )


# A job adding this many issues has the planner's statistics refreshed at once: without them,
# right after a COPY of a million rows PostgreSQL guesses a few hundred and pages the results
# by a bitmap scan and a sort (~0.5 s) instead of walking the index (~1 ms); autovacuum's own
# ANALYZE (and VACUUM, see _analyze) comes only later.
ANALYZE_AFTER_ISSUES = 10_000


def _analyze(table: str) -> None:
    """Fresh statistics, and (outside a transaction, where VACUUM may run) the new rows marked
    visible to all: a page asked by number then skips index entries without reading a table row
    for each (the middle of a million issues: 110 -> 60 ms)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}" if connection.in_atomic_block else f"VACUUM (ANALYZE) {table}")


def _save_issues(job: TransformJob, report: engine.Report) -> None:
    """Every issue in the JobIssue table at bulk speed: COPY on PostgreSQL, executemany elsewhere;
    never one ORM object per issue. A redelivered run replaces the rows, never duplicates them."""
    JobIssue.objects.filter(job=job).delete()
    table = connection.ops.quote_name(JobIssue._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(JobIssue._meta.get_field(f).column) for f in ISSUE_FIELDS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                for rows in _issue_tables(job, report):
                    copy.write(engine.csv_rows(rows))
            if len(report.issues) >= ANALYZE_AFTER_ISSUES:
                transaction.on_commit(lambda: _analyze(table))
            return
        insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(ISSUE_FIELDS))})"
        for rows in _issue_tables(job, report):
            cursor.executemany(insert, zip(*(column.to_pylist() for column in rows.columns), strict=True))


def store_result(local_path: Path, name: str, stored: StoredNames) -> str:
    """A result of this attempt, moved into storage: its temporary folder is removed afterwards."""
    saved = _store_result(local_path, name, move=True, replaced=stored.replaced)
    stored.saved.append(saved)
    return saved


def _import_name(job: TransformJob, suffix: str) -> str:
    """An import file's name carries its job: a rerun's file never reads like the one imported before."""
    return result_name(job, f"_job{job.id}_import{suffix}")


def _store_import(job: TransformJob, outputs: dict[str, Path], base: str, stored: StoredNames) -> dict:
    """The import file and its parts, stored; the parts described for the pack and the checklist."""
    if "import" not in outputs:
        return {}
    suffix = outputs["import"].suffix
    names: dict = {"import_file": store_result(outputs["import"], base + _import_name(job, suffix), stored)}
    parts = []
    for p in outputs["import_parts"]:
        if p.part is None:
            name, file = names["import_file"], names["import_file"].rsplit("/", 1)[-1]
        else:
            file = _import_name(job, f"_part{p.part:02d}{suffix}")
            name = store_result(p.path, base + "parts/" + file, stored)
        parts.append(
            {"name": name, "file": file, "part": p.part, "rows": p.rows, "first_row": p.first_row,
             "last_row": p.last_row, "bytes": p.size, "sha256": p.sha256}
        )  # fmt: skip
    names["import_parts"] = parts
    return names


def _store_imports(job: TransformJob, produced: RunOutput, base: str) -> dict:
    """The import files of a re-export in parts: each stored whole (for the verification), and every
    file to import listed in order across them, numbered 1..N for the pack and the checklist."""
    outputs = produced.files
    if "imports" not in outputs:
        return _store_import(job, outputs, base, produced.stored)
    imports = outputs["imports"]
    if len(imports) == 1:
        path, parts = imports[0]
        return _store_import(job, {"import": path, "import_parts": parts}, base, produced.stored)
    wholes, listed = [], []
    uploads = reexport_uploads(job)
    for n, ((path, parts), upload) in enumerate(zip(imports, uploads, strict=True), start=1):
        whole = store_result(path, base + _import_name(job, f"{n}{path.suffix}"), produced.stored)
        wholes.append(whole)
        for p in parts:
            number = len(listed) + 1
            if p.part is None:
                name, file = whole, whole.rsplit("/", 1)[-1]
            else:
                file = _import_name(job, f"_part{number:02d}{path.suffix}")
                name = store_result(p.path, base + "parts/" + file, produced.stored)
            listed.append(
                {"name": name, "file": file, "part": number, "rows": p.rows, "first_row": p.first_row,
                 "last_row": p.last_row, "bytes": p.size, "sha256": p.sha256,
                 "reexport": upload.original_name}
            )  # fmt: skip
    produced.import_files = wholes
    return {"import_file": wholes[0], "import_parts": listed}


def _store_parts(job: TransformJob, produced: RunOutput, base: str) -> dict:
    """Each part's outputs beside the job's report; the job summary lists them."""
    outputs, files = produced.files, []
    for n, (csv_out, xlsx_out, issues_out) in enumerate(outputs["parts"], start=1):
        # "review-copy", never "part": the import pack's parts are the files to import.
        copy, issues = result_name(job, f"_review-copy-{n}"), result_name(job, f"_issues-{n}")
        files.append(
            {
                "part": n,
                "csv": store_result(csv_out, base + f"{copy}.csv", produced.stored),
                "xlsx": store_result(xlsx_out, base + f"{copy}.xlsx", produced.stored) if xlsx_out else "",
                "issues": store_result(issues_out, base + f"{issues}{issues_out.suffix}", produced.stored),
            }
        )
    produced.part_files = files
    return {
        "report_json": store_result(
            outputs["report"], base + result_name(job, "_report.json"), produced.stored
        ),
        "issue_list": store_result(
            outputs["issue_list"], base + result_name(job, "_issue-list.csv"), produced.stored
        ),
    }


def store_run(job: TransformJob, produced: RunOutput) -> None:
    """Every output in storage, the issues in the database, the job succeeded: in that order. When
    any of it fails (the storage stops answering), nothing this run stored is left behind."""
    try:
        _store_run(job, produced)
    except BaseException:
        stored_delete(produced.stored.saved)
        raise


def _store_run(job: TransformJob, produced: RunOutput) -> None:
    base, outputs = f"migrations/{job.migration_id}/jobs/{job.id}/", produced.files
    if "parts" in outputs:
        stored = {**_store_parts(job, produced, base), **_store_imports(job, produced, base)}
        _finish_stored(job, produced, stored)
        return
    xlsx = outputs["xlsx"]
    names = {
        **_store_imports(job, produced, base),
        "output_csv": store_result(
            outputs["csv"], base + result_name(job, "_review-copy.csv"), produced.stored
        ),
        "output_xlsx": store_result(xlsx, base + result_name(job, "_review-copy.xlsx"), produced.stored)
        if xlsx
        else "",
        "report_json": store_result(
            outputs["report"], base + result_name(job, "_report.json"), produced.stored
        ),
        "issue_list": store_result(
            outputs["issue_list"], base + result_name(job, "_issue-list.csv"), produced.stored
        ),
        "issues_file": store_result(
            outputs["issues"],
            base + result_name(job, "_issues" + outputs["issues"].suffix),
            produced.stored,
        ),
    }
    _finish_stored(job, produced, names)


def _finish_stored(job: TransformJob, produced: RunOutput, names: dict) -> None:
    report = produced.report
    _save_issues(job, report)
    summary = report.summary()
    if produced.part_files:
        summary["part_files"] = produced.part_files
    if produced.import_files:  # a re-export in parts: one import file per part
        summary["import_files"] = produced.import_files

    # One commit: a page that sees the job succeeded also sees the checklist rows of its import
    # files (the live redraw starts at the change of state, and nothing changes after it).
    with transaction.atomic():
        finished = TransformJob.objects.filter(id=job.id, state=JobState.RUNNING).update(
            state=JobState.SUCCEEDED,
            finished_at=timezone.now(),
            rows_done=report.rows_out,
            rows_total=report.rows_in,
            progress=1,
            phase="",
            summary=summary,
            message=f"{report.rows_out} rows written; {report.errors} errors, {report.warnings} warnings.",
            **names,
        )
        if finished and names.get("import_parts"):
            job.import_parts = names["import_parts"]
            import_parts_record(job=job)
        if finished:
            activity_record(
                migration=job.migration,
                actor=job.created_by,
                verb="job",
                description=f"Job #{job.id} ({job.table}) done: {report.rows_out} rows, "
                f"{report.errors} error(s)",
                step=runbook.INITIALIZE_STEP,
            )
    stored_delete(produced.stored.replaced if finished else produced.stored.saved)
