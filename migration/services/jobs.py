"""Step 8 transformation jobs: start, run (in a worker), cancel, retry, sweep."""

import logging
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from .. import engine, runbook, selectors
from ..engine import STEP2_ONLY_CODES, write_rows
from ..models import ExportUpload, JobIssue, JobState, Migration, TransformJob, UploadKind
from ..run_settings import engine_settings, settings_snapshot
from ..storage import local_copy, store_result
from .activity import activity_record
from .imports import import_parts_record
from .uploads import USABLE

logger = logging.getLogger(__name__)

ISSUE_BATCH = 5000
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
            state=JobState.RUNNING, started_at=now, heartbeat_at=now, rows_done=0, attempts=F("attempts") + 1
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
    """Writes rows done to the job row now and then, and notices a cancel request."""

    def __init__(self, job_id: int, share: tuple[float, float]):
        self.job_id, self.share = job_id, share
        self.last = timezone.now() - PROGRESS_EVERY

    def __call__(self, rows_done: int, rows_total: int | None) -> None:
        now = timezone.now()
        if now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        start, width = self.share
        total = rows_total or 0
        done = int(total * start + rows_done * width) if total else rows_done
        TransformJob.objects.filter(id=self.job_id).update(
            rows_done=done, rows_total=rows_total, heartbeat_at=now
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
            outputs = _transform(job, folder)
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


def _transform_parts(job: TransformJob, folder: Path) -> dict[str, Path]:
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
        xlsx_outs = [out / engine.part_output_name(p, ".xlsx") for p in inputs]
        if len(set(csv_outs)) < len(csv_outs):  # two parts of the same name: number them
            csv_outs = [out / f"{n}_{p.name}" for n, p in enumerate(csv_outs, start=1)]
            xlsx_outs = [out / f"{n}_{p.name}" for n, p in enumerate(xlsx_outs, start=1)]
        report_out = folder / "report.json"
        shares = [(0.0, 0.3), (0.3, 0.3), (0.6, 0.4)] if job.reexport_id else [(0.0, 0.5), (0.5, 0.5)]
        report = engine.transform_parts(
            job.table, inputs, csv_outs, settings, report_path=report_out,
            progress=_ProgressWriter(job.id, shares[0]), header_paths=headers,
        )  # fmt: skip
        engine.transform_parts(
            job.table, inputs, xlsx_outs, settings,
            progress=_ProgressWriter(job.id, shares[1]), header_paths=headers,
        )  # fmt: skip
        by_part: dict[str, list[dict]] = {}
        for issue in report.issues.iter_dicts():
            by_part.setdefault(issue.get("file", Path(inputs[0]).name), []).append(issue)
        issues_outs = []
        for path, csv_out in zip(inputs, csv_outs, strict=True):
            notes = _row_notes(by_part.get(Path(path).name, []))
            # People open these to fix rows: xlsx of text cells, so no cell runs as a formula.
            issues_out = out / f"{csv_out.stem}_issues.xlsx"
            write_rows(path, issues_out, sorted(notes), as_text=True, notes=notes)
            issues_outs.append(issues_out)
        job.report = report
        filled = _fill_reexport_parts(job, stack, folder, inputs, headers, settings, report_out, shares[-1])
    if len(inputs) == 1:  # lines with their header export: one output, as any one-file job
        one = {"csv": csv_outs[0], "xlsx": xlsx_outs[0], "report": report_out, "issues": issues_outs[0]}
        return {**one, **filled}
    return {"report": report_out, "parts": list(zip(csv_outs, xlsx_outs, issues_outs, strict=True)), **filled}


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
    step2: list[str],
    headers: list[str],
    settings: engine.TransformSettings,
    report_out: Path,
    share: tuple[float, float],
) -> dict:
    """The import route over parts: each re-export part filled in place from the whole step-2 export
    (all its parts), one import file per re-export part, each cut to P2C_IMPORT_PART_MB. The job's
    report is then the fill's, as for one file."""
    uploads = _reexport_uploads(job)
    if not uploads:
        return {}
    reexports = _named_copies(stack, uploads, folder / "reexports")
    out = folder / "import"
    out.mkdir()
    import_outs = [out / f"import{n}{Path(p).suffix.lower()}" for n, p in enumerate(reexports, start=1)]
    job.report = engine.transform_parts(
        job.table, reexports, import_outs, settings, report_path=report_out,
        progress=_ProgressWriter(job.id, share), header_paths=headers, merge_source_paths=step2,
    )  # fmt: skip
    imports = [(p, _split(p, folder / f"import-parts{n}")) for n, p in enumerate(import_outs, start=1)]
    return {"imports": imports}


def _row_notes(issues) -> dict[int, str]:
    """Data row -> what is wrong in it, in words: the issues file's last column."""
    notes: dict[int, list[str]] = {}
    for issue in issues:
        where = f"{issue['column']}: " if issue.get("column") else ""
        said = f"{issue['severity'].capitalize()}, {where}{issue['message']}"
        notes.setdefault(issue["row"], []).append(said)
    return {row: "; ".join(said) for row, said in notes.items()}


def _transform(job: TransformJob, folder: Path) -> dict[str, Path]:
    """The review copies (the step-2 export with dual-write's columns appended: not for import) and,
    with a re-export, the import file: the re-export filled in place, cut into parts if too large."""
    if _in_parts(job):
        return _transform_parts(job, folder)
    with ExitStack() as stack:
        source = stack.enter_context(local_copy(job.source.file, under=folder))
        reexport = stack.enter_context(local_copy(job.reexport.file, under=folder)) if job.reexport else None
        party = (
            stack.enter_context(local_copy(job.party_numbers.file, under=folder))
            if job.party_numbers
            else None
        )
        settings = engine_settings(job.run_settings, party)
        csv_out, xlsx_out, report_out = folder / "output.csv", folder / "output.xlsx", folder / "report.json"
        outputs = {"csv": csv_out, "xlsx": xlsx_out, "report": report_out}
        shares = [(0.0, 0.5), (0.5, 0.5)]
        if reexport:
            shares = [(0.0, 0.4), (0.4, 0.3), (0.7, 0.3)]
            import_out = folder / ("import" + Path(job.reexport.original_name).suffix.lower())
            job.report = engine.transform_file(
                job.table, reexport, import_out, settings, report_path=report_out,
                progress=_ProgressWriter(job.id, shares.pop(0)), merge_source_path=source,
            )  # fmt: skip
            outputs["import"] = import_out
            outputs["import_parts"] = _split(import_out, folder / "import-parts")
        for out in (csv_out, xlsx_out):
            report = engine.transform_file(
                job.table, source, out, settings, progress=_ProgressWriter(job.id, shares.pop(0)),
                report_path=None if reexport or out != csv_out else report_out,
            )  # fmt: skip
            if not reexport and out == csv_out:
                job.report = report
        main = reexport or source
        # People open this file to fix rows: xlsx of text cells, so no cell runs as a formula.
        issues_out = folder / "issues.xlsx"
        # Rows found only in the step-2 export are numbered in that file, not in the one filled.
        notes = _row_notes(
            issue for issue in job.report.issues.iter_dicts() if issue["code"] not in STEP2_ONLY_CODES
        )
        write_rows(main, issues_out, sorted(notes), as_text=True, notes=notes)
        outputs["issues"] = issues_out
    return outputs


def _split(import_out: Path, parts_dir: Path) -> list[engine.PackPart]:
    """The files to import: the import file itself, or its parts when larger than the wizard takes."""
    parts_dir.mkdir()
    return engine.split_for_import(import_out, part_mb=django_settings.P2C_IMPORT_PART_MB, out_dir=parts_dir)


def _save_issues(job: TransformJob) -> None:
    JobIssue.objects.filter(job=job).delete()  # a redelivered run replaces, never duplicates
    batch = []
    for issue in job.report.issues.iter_dicts():
        batch.append(
            JobIssue(
                job=job,
                row=issue["row"],
                guid=issue.get("guid") or "",
                column=(issue.get("column") or "")[:200],
                file=(issue.get("file") or "")[:255],
                severity=issue["severity"],
                code=issue["code"],
                message=issue["message"][:500],
            )
        )
        if len(batch) >= ISSUE_BATCH:
            JobIssue.objects.bulk_create(batch)
            batch = []
    JobIssue.objects.bulk_create(batch)


def _store_import(job: TransformJob, outputs: dict[str, Path], base: str) -> dict:
    """The import file and its parts, stored; the parts described for the pack and the checklist."""
    if "import" not in outputs:
        return {}
    suffix = outputs["import"].suffix
    names: dict = {
        "import_file": store_result(outputs["import"], base + result_name(job, "_import" + suffix))
    }
    parts = []
    for p in outputs["import_parts"]:
        if p.part is None:
            name, file = names["import_file"], names["import_file"].rsplit("/", 1)[-1]
        else:
            file = result_name(job, f"_import_part{p.part:02d}{suffix}")
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
        whole = store_result(path, base + result_name(job, f"_import{n}{path.suffix}"))
        wholes.append(whole)
        for p in parts:
            number = len(listed) + 1
            if p.part is None:
                name, file = whole, whole.rsplit("/", 1)[-1]
            else:
                file = result_name(job, f"_import_part{number:02d}{path.suffix}")
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
        stem = f"{result_name(job, '')}_part{n}"
        files.append(
            {
                "part": n,
                "csv": store_result(csv_out, base + f"{stem}.csv"),
                "xlsx": store_result(xlsx_out, base + f"{stem}.xlsx"),
                "issues": store_result(issues_out, base + f"{stem}_issues{issues_out.suffix}"),
            }
        )
    job.part_files = files
    return {"report_json": store_result(outputs["report"], base + result_name(job, "_report.json"))}


def _store(job: TransformJob, outputs: dict[str, Path]) -> None:
    base = f"migrations/{job.migration_id}/jobs/{job.id}/"
    if "parts" in outputs:
        _finish_stored(job, {**_store_parts(job, outputs, base), **_store_imports(job, outputs, base)})
        return
    names = {
        **_store_imports(job, outputs, base),
        "output_csv": store_result(outputs["csv"], base + result_name(job, "_review-copy.csv")),
        "output_xlsx": store_result(outputs["xlsx"], base + result_name(job, "_review-copy.xlsx")),
        "report_json": store_result(outputs["report"], base + result_name(job, "_report.json")),
        "issues_file": store_result(
            outputs["issues"], base + result_name(job, "_issues" + outputs["issues"].suffix)
        ),
    }
    _finish_stored(job, names)


def _finish_stored(job: TransformJob, names: dict) -> None:
    _save_issues(job)
    report = job.report
    summary = {key: value for key, value in report.to_dict().items() if key != "issues"}
    if getattr(job, "part_files", None):
        summary["part_files"] = job.part_files
    if getattr(job, "import_files", None):  # a re-export in parts: one import file per part
        summary["import_files"] = job.import_files

    finished = TransformJob.objects.filter(id=job.id, state=JobState.RUNNING).update(
        state=JobState.SUCCEEDED,
        finished_at=timezone.now(),
        rows_done=report.rows_out,
        rows_total=report.rows_in,
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
            description=f"Job #{job.id} ({job.table}) done: {report.rows_out} rows, {report.errors} error(s)",
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
