"""A step-8 job run in the worker: claimed, its heartbeat written, the engine run over local copies
of its inputs in the attempt's own folder, its progress reported, a cancel noticed. What the run
made is held in a RunOutput and stored by job_results.py."""

import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from .. import engine
from ..engine import STEP2_ONLY_CODES, write_rows
from ..models import ExportUpload, JobState, TransformJob
from ..run_settings import engine_settings
from ..storage import STORAGE_DOWN, local_copy, storage_unreachable
from .job_results import RunOutput, reexport_uploads, store_run, uploads_in_order
from .uploads import pulled_upload_ids

logger = logging.getLogger(__name__)

# A thread writes the running job's heartbeat this often (seconds), whatever the run is doing.
HEARTBEAT_EVERY = 5
# A job whose worker dies every time (out of memory) would be redelivered forever.
MAX_ATTEMPTS = 3
TOO_MANY_ATTEMPTS = (
    f"The worker died {MAX_ATTEMPTS} times running this job (out of memory?). Retry it with a smaller "
    "export, or ask an administrator to raise P2C_WORKER_MAX_MEMORY_MB."
)
# Progress is written at most this often: cheap, yet the page's bar moves.
PROGRESS_EVERY = timedelta(seconds=1)


class JobCancelled(Exception):
    pass


def jobs_tmp_root() -> Path:
    return Path(django_settings.P2C_TMP_DIR) / "jobs"


def job_tmp_remove(job_id: int) -> None:
    shutil.rmtree(jobs_tmp_root() / str(job_id), ignore_errors=True)


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
    job_tmp_remove(job.id)  # earlier attempts died here (this is a redelivery)
    folder = jobs_tmp_root() / str(job.id) / str(job.attempts)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        job_tmp_remove(job.id)


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


def job_run(*, job_id: int, task_id: str | None = None) -> None:
    """Run a job; `task_id` is the Celery message's, None when called directly."""
    if not _claim(job_id, task_id):
        return
    job = TransformJob.objects.select_related("migration", "source", "reexport", "party_numbers").get(
        id=job_id
    )
    if job.attempts > MAX_ATTEMPTS:
        _end(job_id, JobState.FAILED, TOO_MANY_ATTEMPTS)
        job_tmp_remove(job_id)
        return
    try:
        with _heartbeat(job_id), _attempt_folder(job) as folder:
            progress = _ProgressWriter(job_id)
            produced = _transform(job, folder, progress)
            progress.step("Storing the results", 1 - PASSES_SHARE - ISSUES_SHARE)
            store_run(job, produced)
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


def _transform_parts(job: TransformJob, folder: Path, progress: _ProgressWriter) -> RunOutput:
    """An export in several parts (or lines with their header export): one output per part."""
    with ExitStack() as stack:
        parts = uploads_in_order(job.parts or [job.source_id])
        inputs = _named_copies(stack, parts, folder / "parts")
        headers = _named_copies(
            stack, uploads_in_order(job.run_settings.get("header_parts", [])), folder / "headers"
        )
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
        reexports = reexport_uploads(job)
        progress.step("Transforming", PASSES_SHARE * (0.5 if reexports else 1))
        pulled = pulled_upload_ids({u.id for u in parts})
        report = engine.transform_parts(
            job.table, inputs, csv_outs, settings, progress=progress,
            progress_bytes=progress.read, header_paths=headers,
            also_write=[[x] for x in xlsx_outs] if xlsx_outs else None,
            read_whole=[path for u, path in zip(parts, inputs, strict=True) if u.id in pulled],
        )  # fmt: skip
        produced = RunOutput(report)
        filled = {}
        if reexports:
            progress.step("Filling the re-export in place", PASSES_SHARE * 0.5)
            fill = (stack, folder, reexports, inputs, headers, settings, progress)
            filled = _fill_reexport_parts(job, produced, *fill)
        progress.step("Writing the issues files", ISSUES_SHARE)
        issue_list = _write_report(produced.report, report_out)
        issues_outs = []
        for path, csv_out in zip(inputs, csv_outs, strict=True):
            notes = _row_notes(report, Path(path).name if len(inputs) > 1 else None)
            issues_outs.append(_issues_file(path, out / f"{csv_out.stem}_issues", notes))
    xlsx_or_none = xlsx_outs or [None] * len(csv_outs)
    if len(inputs) == 1:  # lines with their header export: one output, as any one-file job
        produced.files = {
            "csv": csv_outs[0], "xlsx": xlsx_or_none[0], "report": report_out, "issue_list": issue_list,
            "issues": issues_outs[0], **filled,
        }  # fmt: skip
        return produced
    produced.files = {
        "report": report_out, "issue_list": issue_list,
        "parts": list(zip(csv_outs, xlsx_or_none, issues_outs, strict=True)), **filled,
    }  # fmt: skip
    return produced


def _fill_reexport_parts(
    job: TransformJob,
    produced: RunOutput,
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
    produced.report = engine.transform_parts(
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


def _transform(job: TransformJob, folder: Path, progress: _ProgressWriter) -> RunOutput:
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
            filled = engine.transform_file(
                job.table, reexport, import_out, settings, progress=progress,
                progress_bytes=progress.read, merge_source_path=source,
            )  # fmt: skip
            outputs["import"] = import_out
            outputs["import_parts"] = _split(import_out, folder / "import-parts")
        progress.step("Writing the review copy", shares.pop(0))
        report = engine.transform_file(
            job.table, source, csv_out, settings, progress=progress, progress_bytes=progress.read,
            also_write=[xlsx_out] if xlsx_out else (), read_whole=bool(pulled_upload_ids({job.source_id})),
        )  # fmt: skip
        produced = RunOutput(filled if reexport else report, outputs)
        main = reexport or source
        progress.step("Writing the issues file", ISSUES_SHARE)
        outputs["issue_list"] = _write_report(produced.report, report_out)
        # Rows found only in the step-2 export are numbered in that file, not in the one filled.
        notes = _row_notes(produced.report, exclude=STEP2_ONLY_CODES)
        outputs["issues"] = _issues_file(main, folder / "issues", notes)
    return produced


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


def _write_report(report: engine.Report, report_out: Path) -> Path:
    """The report JSON (the first issues of each code) and the issue list (CSV, every issue)."""
    report.write_json(report_out, first_per_code=REPORT_ISSUES_PER_CODE)
    issue_list = report_out.with_name("issue-list.csv")
    report.write_issues_csv(issue_list)
    return issue_list


def _split(import_out: Path, parts_dir: Path) -> list[engine.PackPart]:
    """The files to import: the import file itself, or its parts when larger than the wizard takes."""
    parts_dir.mkdir()
    return engine.split_for_import(import_out, part_mb=django_settings.P2C_IMPORT_PART_MB, out_dir=parts_dir)


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
    if storage_unreachable(error):
        reason = STORAGE_DOWN.format(error=type(error).__name__).replace("Try again", "Retry the job")
    _end(job_id, JobState.FAILED, reason)
