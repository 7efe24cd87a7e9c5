"""Step 8 transformation jobs: start, run (in a worker), cancel, retry, sweep."""

import logging
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from .. import engine, runbook, selectors
from ..engine import STEP2_ONLY_CODES, write_rows
from ..models import ExportUpload, JobIssue, JobState, Migration, TransformJob, UploadKind
from ..run_settings import engine_settings, settings_snapshot
from ..storage import local_copy
from ..storage import store_result as _store_result
from .activity import activity_record
from .imports import import_parts_record
from .uploads import USABLE

logger = logging.getLogger(__name__)

ISSUE_BATCH = 50_000
# A thread writes the running job's heartbeat this often (seconds), whatever the run is doing.
HEARTBEAT_EVERY = 5
# A running job whose worker has not reported for this long is presumed dead; with the
# sweep every minute, a dead worker's job is failed within two minutes. A native call
# that holds the interpreter over a minute (calamine opening a huge workbook) would
# also pause the heartbeat thread: that job is failed too, its late result discarded
# by the guarded updates, and a retry runs it again.
STALE_AFTER = timedelta(minutes=1)
# A job whose worker dies every time (out of memory) would be redelivered forever.
MAX_ATTEMPTS = 3
TOO_MANY_ATTEMPTS = (
    f"The worker died {MAX_ATTEMPTS} times running this job (out of memory?). Retry it with a smaller "
    "export, or ask an administrator to raise P2C_WORKER_MAX_MEMORY_MB."
)
# Progress is written at most this often: cheap, yet the page's bar moves.
PROGRESS_EVERY = timedelta(seconds=1)
# A job still queued after this long is sent again.
REQUEUE_AFTER = timedelta(minutes=5)


class JobError(Exception):
    """A job that cannot start now; the message says what to do."""


class JobCancelled(Exception):
    pass


def _usable(upload: ExportUpload | None) -> ExportUpload | None:
    return upload if upload is not None and upload.state in USABLE else None


def _usable_parts(migration: Migration, table: str, kind: str = UploadKind.EXPORT) -> list[ExportUpload]:
    """The step-2 export's parts (or the re-export's: kind), all inspected and readable; else []."""
    parts = selectors.export_parts(migration, kind).get(table, [])
    return parts if parts and all(p.state in USABLE for p in parts) else []


def _inputs(migration: Migration, table: str, run_settings: dict) -> dict:
    info = engine.TABLES[table]
    parts = _usable_parts(migration, table)
    if not parts:
        raise JobError(
            f"Upload the {info.export_name} export at step 2 first (every part, and wait until each "
            "shows Ready)."
        )
    source = parts[0]
    party_numbers = None
    if table == "account" and run_settings["account_numbers_customized"]:
        party_numbers = _usable(selectors.latest_uploads(migration, UploadKind.PARTY_NUMBERS).get("account"))
        if party_numbers is None:
            raise JobError(
                "Account numbers are customized: upload the Finance and Operations customer list "
                "(Customers V3 export) on this page first."
            )
    # The import route: the re-export (every part of it) filled in place from the step-2 export.
    reexports = _usable_parts(migration, table, UploadKind.REEXPORT)
    return {
        "source": source,
        "reexport": reexports[0] if reexports else None,
        "party_numbers": party_numbers,
        "parts": parts,
        "reexports": reexports,
    }


def _header_parts(migration: Migration, table: str) -> list[ExportUpload]:
    """Lines take their header's company: the order (quote) export's parts, when uploaded."""
    header = engine.TABLES[table].checked.header
    return _usable_parts(migration, header[0]) if header else []


def job_start(*, migration: Migration, table: str, actor) -> TransformJob:
    if table not in engine.TABLES:
        raise JobError(f"Unknown table {table}.")
    if not engine.TABLES[table].transforms:
        raise JobError(f"{engine.TABLES[table].export_name}: {engine.TABLES[table].why_not}.")
    run_settings = settings_snapshot(migration)
    inputs = _inputs(migration, table, run_settings)
    parts = inputs.pop("parts")
    reexports = inputs.pop("reexports")
    headers = _header_parts(migration, table)
    if headers:
        run_settings["header_parts"] = [u.id for u in headers]
    if len(reexports) > 1:
        run_settings["reexport_parts"] = [u.id for u in reexports]
    hashes = {k: u.sha256 for k, u in inputs.items() if u is not None}
    hashes["parts"] = [u.sha256 for u in parts]
    if len(reexports) > 1:
        hashes["reexport_parts"] = [u.sha256 for u in reexports]
    with transaction.atomic():
        job = _create_job(
            migration=migration,
            table=table,
            run_settings=run_settings,
            input_sha256=hashes,
            parts=[u.id for u in parts],
            created_by=actor,
            **inputs,
        )
        activity_record(
            migration=migration,
            actor=actor,
            verb="job",
            description=f"Started the {table} job #{job.id}",
            step=runbook.INITIALIZE_STEP,
        )
        _enqueue(job)
    return job


def _create_job(**fields) -> TransformJob:
    """A new queued job; the database refuses a second active job for a table (one_active_job_per_table)."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            return TransformJob.objects.create(**fields)
    except IntegrityError:
        name = engine.TABLES[fields["table"]].export_name
        raise JobError(f"A {name} job is already queued or running.") from None


def _enqueue(job: TransformJob) -> None:
    from ..tasks import run_transform_job

    task_id = str(uuid.uuid4())
    TransformJob.objects.filter(id=job.id).update(task_id=task_id, enqueued_at=timezone.now())
    transaction.on_commit(lambda: run_transform_job.apply_async((job.id,), task_id=task_id))


def job_start_all(*, migration: Migration, actor) -> tuple[list[TransformJob], list[str]]:
    started, problems = [], []
    for table in selectors.transformable_tables():
        try:
            started.append(job_start(migration=migration, table=table, actor=actor))
        except JobError as error:
            problems.append(str(error))
    return started, problems


def job_retry(*, job: TransformJob, actor) -> TransformJob:
    """A new run with the failed job's inputs and settings; the failed one stays in the history."""
    if job.is_active:
        raise JobError("This job is still queued or running.")
    with transaction.atomic():
        retry = _create_job(
            migration=job.migration,
            table=job.table,
            run_settings=job.run_settings,
            source=job.source,
            reexport=job.reexport,
            party_numbers=job.party_numbers,
            input_sha256=job.input_sha256,
            parts=job.parts,
            created_by=actor,
        )
        activity_record(
            migration=job.migration,
            actor=actor,
            verb="job",
            description=f"Retried the {job.table} job #{job.id} as #{retry.id}",
            step=runbook.INITIALIZE_STEP,
        )
        _enqueue(retry)
    _remove_tmp(job.id)  # what its dead attempts left on this machine
    return retry


def job_cancel(*, job: TransformJob, actor) -> None:
    now = timezone.now()
    queued = TransformJob.objects.filter(id=job.id, state=JobState.QUEUED)
    if not queued.update(state=JobState.CANCELLED, finished_at=now, message="Cancelled before it started."):
        # Running: the worker notices the request at its next progress report.
        TransformJob.objects.filter(id=job.id, state=JobState.RUNNING).update(cancel_requested=True)
    activity_record(
        migration=job.migration,
        actor=actor,
        verb="job",
        description=f"Cancelled the {job.table} job #{job.id}",
        step=runbook.INITIALIZE_STEP,
    )


def jobs_sweep_stale(now=None) -> int:
    """Fail running jobs whose worker stopped reporting, so none stays 'running' forever."""
    now = now or timezone.now()
    failed = TransformJob.objects.filter(state=JobState.RUNNING, heartbeat_at__lt=now - STALE_AFTER).update(
        state=JobState.FAILED,
        finished_at=now,
        message="The worker stopped while running this job (restarted or out of memory). Retry it.",
    )
    # After failing the silent ones: a job re-sent now and claimed at once is not silent.
    _requeue_lost(now)
    jobs_tmp_clean()
    return failed


def _tmp_root() -> Path:
    return Path(django_settings.P2C_TMP_DIR) / "jobs"


def _remove_tmp(job_id: int) -> None:
    shutil.rmtree(_tmp_root() / str(job_id), ignore_errors=True)


def jobs_tmp_clean() -> int:
    """Remove the temporary folders of jobs no worker runs any more (dead attempts); how many."""
    root = _tmp_root()
    if not root.is_dir():
        return 0
    ids = {int(p.name) for p in root.iterdir() if p.name.isdigit()}
    active = TransformJob.objects.filter(id__in=ids, state__in=TransformJob.ACTIVE).values_list(
        "id", flat=True
    )
    dead = ids - set(active)
    for job_id in dead:
        _remove_tmp(job_id)
    return len(dead)


def _requeue_lost(now) -> None:
    """Send queued jobs again whose message the broker may have lost (Redis restarted, say).

    The new message gets a new task id, so if the first one still arrives it is ignored.
    """
    lost = TransformJob.objects.filter(state=JobState.QUEUED, enqueued_at__lt=now - REQUEUE_AFTER)
    for job in lost:
        with transaction.atomic():
            _enqueue(job)


# --- running a job (in a worker) -------------------------------------------------------


def _claim(job_id: int, task_id: str | None) -> bool:
    """Queued jobs, or running ones redelivered after their worker died; never finished ones."""
    now = timezone.now()
    claimed = TransformJob.objects.filter(id=job_id, state__in=TransformJob.ACTIVE, cancel_requested=False)
    if task_id is not None:
        claimed = claimed.filter(task_id=task_id)
    # Attempts are counted as the job is claimed: a worker that dies never gets to count its own.
    return bool(
        claimed.update(
            state=JobState.RUNNING,
            started_at=now,
            heartbeat_at=now,
            rows_done=0,
            rows_total=None,
            progress=0,
            phase="",
            attempts=F("attempts") + 1,
        )
    )


@contextmanager
def _heartbeat(job_id: int) -> Iterator[None]:
    """Write the job's heartbeat from a thread while the body runs, even while one step takes long.

    Inside a transaction (eager tasks, tests) another connection could neither see the
    row nor write it before the caller commits: no thread there.
    """
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_EVERY):
                try:
                    TransformJob.objects.filter(id=job_id, state=JobState.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a busy database: the next beat tries again
                    logger.warning("heartbeat of job %s not written", job_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"p2c-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def _attempt_folder(job: TransformJob) -> Iterator[Path]:
    """P2C_TMP_DIR/jobs/<job>/<attempt>: every temporary file of this attempt, removed after it."""
    _remove_tmp(job.id)  # earlier attempts died here (this is a redelivery)
    folder = _tmp_root() / str(job.id) / str(job.attempts)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        _remove_tmp(job.id)


class _ProgressWriter:
    """The whole job's progress on its row, now and then; notices a cancel request.

    A job is a plan of steps (each pass over an input, the issues file, storing), each with its
    share of the whole; inside a pass the share moves with the bytes read (a CSV, whose rows are
    unknown) or the rows (a workbook). Rows done add up over the passes. Never backwards.
    """

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.last = timezone.now() - PROGRESS_EVERY
        self.start = self.width = self.done = 0.0
        self.rows_before = self.rows = 0
        self.rows_total: int | None = None
        self.phase = ""

    def step(self, phase: str, width: float) -> None:
        """The next step of the plan, `width` its share of the whole job."""
        self.start, self.width = self.start + self.width, width
        self.rows_before += self.rows
        self.rows, self.rows_total, self.phase = 0, None, phase
        self._advance(0.0, force=True)

    def read(self, bytes_done: int, bytes_total: int) -> None:
        """The engine's bytes-read callback (CSV): the pass's share follows the bytes."""
        self._advance(bytes_done / bytes_total if bytes_total else 0.0)

    def __call__(self, rows_done: int, rows_total: int | None) -> None:
        """The engine's rows callback; without bytes (a workbook), rows over the known total."""
        self.rows, self.rows_total = rows_done, rows_total
        self._advance(rows_done / rows_total if rows_total else None)

    def _advance(self, share: float | None, force: bool = False) -> None:
        if share is not None:
            self.done = max(self.done, self.start + self.width * min(1.0, share))
        now = timezone.now()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        TransformJob.objects.filter(id=self.job_id).update(
            rows_done=self.rows_before + self.rows,
            rows_total=self.rows_before + self.rows_total if self.rows_total else None,
            progress=round(self.done, 4),
            phase=self.phase,
            heartbeat_at=now,
        )
        if TransformJob.objects.filter(id=self.job_id, cancel_requested=True).exists():
            raise JobCancelled


def result_name(job: TransformJob, suffix: str) -> str:
    """File names carry the migration, the table and the date."""
    stamp = (job.started_at or timezone.now()).strftime("%Y-%m-%d")
    return f"{slugify(job.migration.name)}_{job.table}_{stamp}{suffix}"


def job_run(*, job_id: int, task_id: str | None = None) -> None:
    """Run a job; `task_id` is the Celery message's, None when called directly."""
    if not _claim(job_id, task_id):
        return
    job = TransformJob.objects.select_related("migration", "source", "reexport", "party_numbers").get(
        id=job_id
    )
    if job.attempts > MAX_ATTEMPTS:
        _end(job_id, JobState.FAILED, TOO_MANY_ATTEMPTS)
        _remove_tmp(job_id)
        return
    try:
        with _heartbeat(job_id), _attempt_folder(job) as folder:
            progress = _ProgressWriter(job_id)
            outputs = _transform(job, folder, progress)
            progress.step("Storing the results", 1 - PASSES_SHARE - ISSUES_SHARE)
            _store(job, outputs)
    except JobCancelled:
        _end(job_id, JobState.CANCELLED, "Cancelled while running; no output was kept.")
    except engine.EngineError as error:
        # A bad file is the user's to fix, not a transient error to retry.
        _end(job_id, JobState.FAILED, str(error))


def _in_parts(job: TransformJob) -> bool:
    run = job.run_settings
    return len(job.parts) > 1 or bool(run.get("header_parts")) or len(run.get("reexport_parts", [])) > 1


def _named_copies(stack: ExitStack, uploads: list[ExportUpload], folder: Path) -> list[str]:
    """Local paths that carry each upload's own file name (the report names parts by it)."""
    paths = []
    for n, upload in enumerate(uploads, start=1):
        local = stack.enter_context(local_copy(upload.file, under=folder))
        named = folder / f"in{n}" / upload.original_name
        named.parent.mkdir(parents=True)
        named.symlink_to(Path(local).resolve())
        paths.append(str(named))
    return paths


def _ordered(ids: list[int]) -> list[ExportUpload]:
    found = ExportUpload.objects.in_bulk(ids)
    return [found[i] for i in ids]


# Shares of the whole job: the passes over the inputs share PASSES_SHARE by their bytes; the
# issues file and storing the results take the rest.
PASSES_SHARE, ISSUES_SHARE = 0.9, 0.05


def _plan(paths: list[str]) -> list[float]:
    """Each pass's share of the job, by the size of what it reads."""
    sizes = [max(1, Path(p).stat().st_size) for p in paths]
    return [PASSES_SHARE * size / sum(sizes) for size in sizes]


def _review_xlsx(job: TransformJob, inputs: list[str]) -> bool:
    """The whole-table xlsx review copy: for a workbook input, or when the settings ask for it."""
    return bool(job.run_settings.get("review_xlsx")) or any(p.lower().endswith(".xlsx") for p in inputs)


def _transform_parts(job: TransformJob, folder: Path, progress: _ProgressWriter) -> dict[str, Path]:
    """An export in several parts (or lines with their header export): one output per part."""
    with ExitStack() as stack:
        inputs = _named_copies(stack, _ordered(job.parts or [job.source_id]), folder / "parts")
        headers = _named_copies(stack, _ordered(job.run_settings.get("header_parts", [])), folder / "headers")
        party = (
            stack.enter_context(local_copy(job.party_numbers.file, under=folder))
            if job.party_numbers
            else None
        )
        settings = engine_settings(job.run_settings, party)
        out = folder / "out"
        out.mkdir()
        csv_outs = [out / engine.part_output_name(p, ".csv") for p in inputs]
        if len(set(csv_outs)) < len(csv_outs):  # two parts of the same name: number them
            csv_outs = [out / f"{n}_{p.name}" for n, p in enumerate(csv_outs, start=1)]
        xlsx_outs = [p.with_suffix(".xlsx") for p in csv_outs] if _review_xlsx(job, inputs) else []
        report_out = folder / "report.json"
        reexports = _reexport_uploads(job)
        progress.step("Transforming", PASSES_SHARE * (0.5 if reexports else 1))
        report = engine.transform_parts(
            job.table, inputs, csv_outs, settings, progress=progress,
            progress_bytes=progress.read, header_paths=headers,
            also_write=[[x] for x in xlsx_outs] if xlsx_outs else None,
        )  # fmt: skip
        job.report = report
        filled = {}
        if reexports:
            progress.step("Filling the re-export in place", PASSES_SHARE * 0.5)
            filled = _fill_reexport_parts(job, stack, folder, reexports, inputs, headers, settings, progress)
        progress.step("Writing the issues files", ISSUES_SHARE)
        issue_list = _write_report(job, report_out)
        issues_outs = []
        for path, csv_out in zip(inputs, csv_outs, strict=True):
            notes = _row_notes(report, Path(path).name if len(inputs) > 1 else None)
            issues_outs.append(_issues_file(path, out / f"{csv_out.stem}_issues", notes))
    xlsx_or_none = xlsx_outs or [None] * len(csv_outs)
    if len(inputs) == 1:  # lines with their header export: one output, as any one-file job
        return {
            "csv": csv_outs[0], "xlsx": xlsx_or_none[0], "report": report_out, "issue_list": issue_list,
            "issues": issues_outs[0], **filled,
        }  # fmt: skip
    return {
        "report": report_out, "issue_list": issue_list,
        "parts": list(zip(csv_outs, xlsx_or_none, issues_outs, strict=True)), **filled,
    }  # fmt: skip


def _reexport_uploads(job: TransformJob) -> list[ExportUpload]:
    """The re-export's parts the job fills, in order (one file: the job's re-export)."""
    ids = job.run_settings.get("reexport_parts")
    if ids:
        return _ordered(ids)
    return [job.reexport] if job.reexport_id else []


def _fill_reexport_parts(
    job: TransformJob,
    stack: ExitStack,
    folder: Path,
    uploads: list[ExportUpload],
    step2: list[str],
    headers: list[str],
    settings: engine.TransformSettings,
    progress: _ProgressWriter,
) -> dict:
    """The import route over parts: each re-export part filled in place from the whole step-2 export
    (all its parts), one import file per re-export part, each cut to P2C_IMPORT_PART_MB. The job's
    report is then the fill's, as for one file."""
    reexports = _named_copies(stack, uploads, folder / "reexports")
    out = folder / "import"
    out.mkdir()
    import_outs = [out / f"import{n}{Path(p).suffix.lower()}" for n, p in enumerate(reexports, start=1)]
    job.report = engine.transform_parts(
        job.table, reexports, import_outs, settings, progress=progress, progress_bytes=progress.read,
        header_paths=headers, merge_source_paths=step2,
    )  # fmt: skip
    imports = [(p, _split(p, folder / f"import-parts{n}")) for n, p in enumerate(import_outs, start=1)]
    return {"imports": imports}


def _row_notes(
    report: engine.Report, file: str | None = None, exclude: frozenset[str] = frozenset()
) -> engine.RowNotes:
    """Data row -> what is wrong in it, in words: the issues file's last column. `file`: only the
    rows of that part; `exclude`: codes whose rows are not this file's (the step-2 export's)."""
    return engine.row_notes(report.issues, file=file, exclude=exclude)


def _transform(job: TransformJob, folder: Path, progress: _ProgressWriter) -> dict[str, Path]:
    """The review copies (the step-2 export with dual-write's columns appended: not for import) and,
    with a re-export, the import file: the re-export filled in place, cut into parts if too large.

    One pass over each input: the review pass writes the CSV (and the xlsx where wanted) at once.
    """
    if _in_parts(job):
        return _transform_parts(job, folder, progress)
    with ExitStack() as stack:
        source = stack.enter_context(local_copy(job.source.file, under=folder))
        reexport = stack.enter_context(local_copy(job.reexport.file, under=folder)) if job.reexport else None
        party = (
            stack.enter_context(local_copy(job.party_numbers.file, under=folder))
            if job.party_numbers
            else None
        )
        settings = engine_settings(job.run_settings, party)
        csv_out, report_out = folder / "output.csv", folder / "report.json"
        xlsx_out = folder / "output.xlsx" if _review_xlsx(job, [job.source.original_name]) else None
        outputs = {"csv": csv_out, "xlsx": xlsx_out, "report": report_out}
        shares = _plan([reexport, source] if reexport else [source])
        if reexport:
            import_out = folder / ("import" + Path(job.reexport.original_name).suffix.lower())
            progress.step("Filling the re-export in place", shares.pop(0))
            job.report = engine.transform_file(
                job.table, reexport, import_out, settings, progress=progress,
                progress_bytes=progress.read, merge_source_path=source,
            )  # fmt: skip
            outputs["import"] = import_out
            outputs["import_parts"] = _split(import_out, folder / "import-parts")
        progress.step("Writing the review copy", shares.pop(0))
        report = engine.transform_file(
            job.table, source, csv_out, settings, progress=progress, progress_bytes=progress.read,
            also_write=[xlsx_out] if xlsx_out else (),
        )  # fmt: skip
        if not reexport:
            job.report = report
        main = reexport or source
        progress.step("Writing the issues file", ISSUES_SHARE)
        outputs["issue_list"] = _write_report(job, report_out)
        # Rows found only in the step-2 export are numbered in that file, not in the one filled.
        notes = _row_notes(job.report, exclude=STEP2_ONLY_CODES)
        outputs["issues"] = _issues_file(main, folder / "issues", notes)
    return outputs


def _issues_file(source: str, stem: Path, notes: engine.RowNotes) -> Path:
    """The problem rows, in the source's shape, to fix and upload again, with a last column saying
    what is wrong (the readers leave it out when the file comes back). People open it in Excel, so
    it is always xlsx of text cells: no cell runs as a formula. That costs time when nearly every
    row of a huge export has an issue (xlsxwriter writes ~7,000 rows/s); safety comes first, and
    the full issue list is a CSV beside it."""
    out = stem.with_suffix(".xlsx")
    write_rows(source, out, notes.rows, as_text=True, notes=notes)
    return out


# The report JSON keeps the counts and this many issues of each code; the issue list has them all.
REPORT_ISSUES_PER_CODE = 100


def _write_report(job: TransformJob, report_out: Path) -> Path:
    """The report JSON (the first issues of each code) and the issue list (CSV, every issue)."""
    job.report.write_json(report_out, first_per_code=REPORT_ISSUES_PER_CODE)
    issue_list = report_out.with_name("issue-list.csv")
    job.report.write_issues_csv(issue_list)
    return issue_list


def _split(import_out: Path, parts_dir: Path) -> list[engine.PackPart]:
    """The files to import: the import file itself, or its parts when larger than the wizard takes."""
    parts_dir.mkdir()
    return engine.split_for_import(import_out, part_mb=django_settings.P2C_IMPORT_PART_MB, out_dir=parts_dir)


ISSUE_FIELDS = ("job_id", "file", "row", "guid", "column", "severity", "code", "message")


def _issue_tables(job: TransformJob) -> Iterator:
    """The report's issues as JobIssue columns (arrow tables), ISSUE_BATCH rows at a time, text cut
    to the model's columns."""
    widths = {name: JobIssue._meta.get_field(name).max_length for name in ("file", "column", "message")}
    for table in job.report.issues.iter_records(ISSUE_BATCH, widths):
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


def _save_issues(job: TransformJob) -> None:
    """Every issue in the JobIssue table at bulk speed: COPY on PostgreSQL, executemany elsewhere;
    never one ORM object per issue. A redelivered run replaces the rows, never duplicates them."""
    JobIssue.objects.filter(job=job).delete()
    table = connection.ops.quote_name(JobIssue._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(JobIssue._meta.get_field(f).column) for f in ISSUE_FIELDS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                for rows in _issue_tables(job):
                    copy.write(engine.csv_rows(rows))
            if len(job.report.issues) >= ANALYZE_AFTER_ISSUES:
                transaction.on_commit(lambda: _analyze(table))
            return
        insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(ISSUE_FIELDS))})"
        for rows in _issue_tables(job):
            cursor.executemany(insert, zip(*(column.to_pylist() for column in rows.columns), strict=True))


def store_result(local_path: Path, name: str) -> str:
    """A result of this attempt, moved into storage: its temporary folder is removed afterwards."""
    return _store_result(local_path, name, move=True)


def _import_name(job: TransformJob, suffix: str) -> str:
    """An import file's name carries its job: a rerun's file never reads like the one imported before."""
    return result_name(job, f"_job{job.id}_import{suffix}")


def _store_import(job: TransformJob, outputs: dict[str, Path], base: str) -> dict:
    """The import file and its parts, stored; the parts described for the pack and the checklist."""
    if "import" not in outputs:
        return {}
    suffix = outputs["import"].suffix
    names: dict = {"import_file": store_result(outputs["import"], base + _import_name(job, suffix))}
    parts = []
    for p in outputs["import_parts"]:
        if p.part is None:
            name, file = names["import_file"], names["import_file"].rsplit("/", 1)[-1]
        else:
            file = _import_name(job, f"_part{p.part:02d}{suffix}")
            name = store_result(p.path, base + "parts/" + file)
        parts.append(
            {"name": name, "file": file, "part": p.part, "rows": p.rows, "first_row": p.first_row,
             "last_row": p.last_row, "bytes": p.size, "sha256": p.sha256}
        )  # fmt: skip
    names["import_parts"] = parts
    return names


def _store_imports(job: TransformJob, outputs: dict, base: str) -> dict:
    """The import files of a re-export in parts: each stored whole (for the verification), and every
    file to import listed in order across them, numbered 1..N for the pack and the checklist."""
    if "imports" not in outputs:
        return _store_import(job, outputs, base)
    imports = outputs["imports"]
    if len(imports) == 1:
        path, parts = imports[0]
        return _store_import(job, {"import": path, "import_parts": parts}, base)
    wholes, listed = [], []
    uploads = _reexport_uploads(job)
    for n, ((path, parts), upload) in enumerate(zip(imports, uploads, strict=True), start=1):
        whole = store_result(path, base + _import_name(job, f"{n}{path.suffix}"))
        wholes.append(whole)
        for p in parts:
            number = len(listed) + 1
            if p.part is None:
                name, file = whole, whole.rsplit("/", 1)[-1]
            else:
                file = _import_name(job, f"_part{number:02d}{path.suffix}")
                name = store_result(p.path, base + "parts/" + file)
            listed.append(
                {"name": name, "file": file, "part": number, "rows": p.rows, "first_row": p.first_row,
                 "last_row": p.last_row, "bytes": p.size, "sha256": p.sha256,
                 "reexport": upload.original_name}
            )  # fmt: skip
    job.import_files = wholes
    return {"import_file": wholes[0], "import_parts": listed}


def _store_parts(job: TransformJob, outputs: dict, base: str) -> dict:
    """Each part's outputs beside the job's report; the job summary lists them."""
    files = []
    for n, (csv_out, xlsx_out, issues_out) in enumerate(outputs["parts"], start=1):
        # "review-copy", never "part": the import pack's parts are the files to import.
        copy, issues = result_name(job, f"_review-copy-{n}"), result_name(job, f"_issues-{n}")
        files.append(
            {
                "part": n,
                "csv": store_result(csv_out, base + f"{copy}.csv"),
                "xlsx": store_result(xlsx_out, base + f"{copy}.xlsx") if xlsx_out else "",
                "issues": store_result(issues_out, base + f"{issues}{issues_out.suffix}"),
            }
        )
    job.part_files = files
    return {
        "report_json": store_result(outputs["report"], base + result_name(job, "_report.json")),
        "issue_list": store_result(outputs["issue_list"], base + result_name(job, "_issue-list.csv")),
    }


def _store(job: TransformJob, outputs: dict[str, Path]) -> None:
    base = f"migrations/{job.migration_id}/jobs/{job.id}/"
    if "parts" in outputs:
        _finish_stored(job, {**_store_parts(job, outputs, base), **_store_imports(job, outputs, base)})
        return
    xlsx = outputs["xlsx"]
    names = {
        **_store_imports(job, outputs, base),
        "output_csv": store_result(outputs["csv"], base + result_name(job, "_review-copy.csv")),
        "output_xlsx": store_result(xlsx, base + result_name(job, "_review-copy.xlsx")) if xlsx else "",
        "report_json": store_result(outputs["report"], base + result_name(job, "_report.json")),
        "issue_list": store_result(outputs["issue_list"], base + result_name(job, "_issue-list.csv")),
        "issues_file": store_result(
            outputs["issues"], base + result_name(job, "_issues" + outputs["issues"].suffix)
        ),
    }
    _finish_stored(job, names)


def _finish_stored(job: TransformJob, names: dict) -> None:
    _save_issues(job)
    report = job.report
    summary = report.summary()
    if getattr(job, "part_files", None):
        summary["part_files"] = job.part_files
    if getattr(job, "import_files", None):  # a re-export in parts: one import file per part
        summary["import_files"] = job.import_files

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


def _end(job_id: int, state: str, message: str) -> None:
    TransformJob.objects.filter(id=job_id, state=JobState.RUNNING).update(
        state=state, finished_at=timezone.now(), message=message[:1000]
    )


def job_stop_on_time_limit(*, job_id: int, minutes: int) -> None:
    _end(
        job_id,
        JobState.FAILED,
        f"The job ran longer than its {minutes}-minute limit and was stopped. Split the export by company, "
        "or ask an administrator to raise P2C_TASK_SOFT_TIME_LIMIT.",
    )


def job_fail_unexpectedly(*, job_id: int, error: BaseException) -> None:
    logger.exception("job %s crashed", job_id, exc_info=error)
    reason = f"Unexpected error ({type(error).__name__}). Retry the job; if it fails again, ask an admin."
    _end(job_id, JobState.FAILED, reason)
