"""Step 9, after initial sync: F&O's exports reconciled with our step-8 outputs, and the errors of
an initial sync triaged by cause. Each upload (one file or several parts) starts one SyncCheck that a
worker runs; its lists are stored beside it with their SHA-256."""

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.text import slugify

from .. import engine, runbook, selectors
from ..models import (
    ExportUpload,
    JobState,
    Migration,
    SyncCheck,
    SyncCheckKind,
    TransformJob,
    UploadKind,
    UploadState,
)
from ..storage import (
    STORAGE_DOWN,
    local_copy,
    sha256_of_upload,
    storage_outage_as,
    storage_unreachable,
    store_result,
    stored_delete,
)
from . import checklist
from .activity import activity_record
from .queue import enqueue_on_commit
from .uploads import UploadError, check_upload

logger = logging.getLogger(__name__)

# Rows of each list kept in the database for the page and the evidence pack; the files hold all.
LIST_LIMIT = 200
UPLOAD_KIND = {SyncCheckKind.RECONCILE: UploadKind.FNO_EXPORT, SyncCheckKind.TRIAGE: UploadKind.SYNC_ERRORS}
REQUEUE_AFTER = timedelta(minutes=5)


class SyncError(Exception):
    """A step-9 upload refused before it is stored; the message says what to do."""


def _entity(table: str, entity: str) -> str:
    specs = engine.RECONCILE_SPECS.get(table)
    if not specs:
        raise SyncError(f"{table} is not reconciled after initial sync.")
    names = [s.entity for s in specs]
    if not entity:
        return names[0]
    if entity not in names:
        raise SyncError(f"{entity} is not an entity of the {table} table: use one of {', '.join(names)}.")
    return entity


def _store(
    migration: Migration, table: str, kind: str, upload, actor, version: int, company: str
) -> ExportUpload:
    record = ExportUpload(
        migration=migration,
        table=table,
        kind=kind,
        version=version,
        original_name=Path(upload.name).name[:255],
        size=upload.size,
        sha256=sha256_of_upload(upload),
        uploaded_by=actor,
        # Read by the check it belongs to, not inspected on its own.
        state=UploadState.READY,
        state_message="Kept for step 9",
        # Never inspected: the field keeps the company an F&O export without DATAAREAID holds.
        inspection={"company": company} if company else {},
    )
    with storage_outage_as(SyncError):
        record.file.save(Path(upload.name).name, upload, save=False)
    record.save()
    return record


def _company(migration: Migration, company: str) -> str:
    company = company.strip().upper()
    codes = list(migration.legal_entities.values_list("code", flat=True))
    if company and company not in codes:
        raise SyncError(
            f"{company} is not a legal entity of this migration: choose one of {', '.join(codes)}."
        )
    return company


def _check_file(kind: str, upload, table: str, entity: str) -> None:
    """Refuse, before anything is stored, what the check could not read: a file that is no export
    or no error log, too large, or with two columns of one name."""
    text = kind == SyncCheckKind.TRIAGE and Path(upload.name).suffix.lower() in engine.TEXT_SUFFIXES
    try:
        if not text:
            check_upload(upload)
    except UploadError as error:
        raise SyncError(str(error)) from None
    limit = settings.P2C_SYNC_UPLOAD_MB
    if upload.size > limit * 1024 * 1024:
        raise SyncError(
            f"{upload.name} is {upload.size / 1024 / 1024:.0f} MB; step 9's limit is {limit} MB "
            "(P2C_SYNC_UPLOAD_MB). Export it in parts (by company, say) and upload them together."
        )
    try:
        with _uploaded_path(upload) as path:
            if kind == SyncCheckKind.TRIAGE:
                engine.error_log_form(path, upload.name)
            else:
                engine.check_fno_export(path, table, entity, upload.name)
    except engine.EngineError as error:
        raise SyncError(f"{upload.name}: {error}") from None


@contextmanager
def _uploaded_path(upload) -> Iterator[str]:
    """A path to the received file: where Django spooled it, else a temporary copy (small files)."""
    if hasattr(upload, "temporary_file_path"):
        yield upload.temporary_file_path()
        return
    os.makedirs(settings.P2C_TMP_DIR, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix, dir=settings.P2C_TMP_DIR) as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        upload.seek(0)
        yield copy.name


def _previous_parts(migration: Migration, kind: str, table: str, entity: str) -> list[ExportUpload]:
    last = SyncCheck.objects.filter(migration=migration, kind=kind, table=table, entity=entity).first()
    return list(last.uploads.order_by("version")) if last else []


def sync_check_create(
    *,
    migration: Migration,
    kind: str,
    table: str,
    files: list,
    actor,
    entity: str = "",
    more_parts: bool = False,
    company: str = "",
) -> SyncCheck:
    """Store the uploaded file(s) and queue their reconciliation or triage.

    `more_parts`: the files are further parts of the previous upload of this slot, which is
    checked again with all of them. `company`: the legal entity of F&O exports without a
    DATAAREAID column (each upload, so each part, may give its own).
    """
    if kind not in UPLOAD_KIND:
        raise SyncError(f"Unknown check {kind}.")
    if checklist.step_locked(migration=migration, step=runbook.ENABLE_MAPS_STEP):
        raise SyncError(
            "Step 9 opens once a project manager signs off step 8 (or opens step 9 early, with a "
            "reason): the initial sync these files come from runs after every table is initialized."
        )
    if kind == SyncCheckKind.RECONCILE:
        entity = _entity(table, entity)
    elif table not in engine.RECONCILED_TABLES:
        raise SyncError(f"{table} is not reconciled after initial sync.")
    else:
        entity = ""
    if not files:
        raise SyncError(
            "Choose the file(s) to upload."
            if kind == SyncCheckKind.RECONCILE
            else "Choose the error log file(s), or paste the error details."
        )
    company = _company(migration, company)
    job = selectors.latest_result(migration, table)
    name = engine.TABLES[table].export_name
    if job is None and kind == SyncCheckKind.RECONCILE:
        raise SyncError(f"Run the {name} job at step 8 first: the reconciliation compares with its output.")
    for upload in files:
        _check_file(kind, upload, table, entity)
    upload_kind = UPLOAD_KIND[kind]
    with transaction.atomic():
        Migration.objects.lock(migration.pk)
        latest = ExportUpload.objects.filter(migration=migration, table=table, kind=upload_kind)
        version = latest.aggregate(v=Max("version"))["v"] or 0
        parts = _previous_parts(migration, kind, table, entity) if more_parts else []
        for i, upload in enumerate(files, start=1):
            parts.append(_store(migration, table, upload_kind, upload, actor, version + i, company))
        check = SyncCheck.objects.create(
            migration=migration, kind=kind, table=table, entity=entity, job=job, created_by=actor
        )
        check.uploads.set(parts)
        what = "reconciliation" if kind == SyncCheckKind.RECONCILE else "error triage"
        activity_record(
            migration=migration,
            actor=actor,
            verb="upload",
            description=f"Uploaded {', '.join(u.original_name for u in parts[-len(files) :])} for the "
            f"{name} {what} #{check.id}" + (f" ({len(parts)} parts)" if len(parts) > 1 else ""),
            step=runbook.ENABLE_MAPS_STEP,
        )
        _enqueue(check)
    return check


def _enqueue(check: SyncCheck) -> None:
    SyncCheck.objects.filter(id=check.id).update(enqueued_at=timezone.now())
    enqueue_on_commit("run_sync_check", check.id, task_id=str(uuid.uuid4()))


def sync_checks_sweep_stale(now=None) -> int:
    """Re-send checks whose message was lost; fail those whose worker died. Returns the failed."""
    now = now or timezone.now()
    for check in SyncCheck.objects.filter(state=JobState.QUEUED, enqueued_at__lt=now - REQUEUE_AFTER):
        with transaction.atomic():
            _enqueue(check)
    dead = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    return SyncCheck.objects.filter(state=JobState.RUNNING, started_at__lt=dead).update(
        state=JobState.FAILED,
        finished_at=now,
        message="The worker stopped while running this check. Upload the file again.",
    )


# --- running a check (in a worker) -----------------------------------------------------------


def sync_check_run(*, check_id: int) -> None:
    # Queued, or running and redelivered after its worker died: outputs have fixed names, so
    # running again replaces them.
    claimed = SyncCheck.objects.filter(id=check_id, state__in=SyncCheck.ACTIVE)
    if not claimed.update(state=JobState.RUNNING, started_at=timezone.now()):
        return
    check = SyncCheck.objects.select_related("migration", "job", "created_by").get(id=check_id)
    replaced: list[str] = []  # a redelivered check's earlier lists, deleted once the row has the new
    try:
        with _check_folder(check) as folder:
            if check.kind == SyncCheckKind.RECONCILE:
                outcome = _reconcile(check, folder, replaced)
            else:
                outcome = _triage(check, folder, replaced)
    except engine.EngineError as error:
        _end(check, JobState.FAILED, str(error))
        return
    ended = SyncCheck.objects.filter(id=check.id, state=JobState.RUNNING).update(
        state=JobState.SUCCEEDED, finished_at=timezone.now(), **outcome
    )
    stored_delete(replaced)
    if ended:
        activity_record(
            migration=check.migration,
            actor=check.created_by,
            verb="check",
            description=f"{check.get_kind_display()} #{check.id} ({check.table}): {outcome['message']}",
            step=runbook.ENABLE_MAPS_STEP,
        )


@contextmanager
def _check_folder(check: SyncCheck) -> Iterator[Path]:
    """The check's own folder in this machine's P2C_TMP_DIR: local copies and lists, removed after."""
    root = Path(settings.P2C_TMP_DIR)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"sync{check.id}-", dir=root) as folder:
        yield Path(folder)


def sync_check_fail_unexpectedly(*, check_id: int, error: BaseException) -> None:
    logger.exception("sync check %s crashed", check_id, exc_info=error)
    check = SyncCheck.objects.get(id=check_id)
    if storage_unreachable(error):
        _end(check, JobState.FAILED, STORAGE_DOWN.format(error=type(error).__name__))
        return
    _end(
        check,
        JobState.FAILED,
        f"Unexpected error ({type(error).__name__}). Upload again; if it fails, ask an admin.",
    )


def _end(check: SyncCheck, state: str, message: str) -> None:
    SyncCheck.objects.filter(id=check.id, state=JobState.RUNNING).update(
        state=state, finished_at=timezone.now(), message=message[:1000]
    )


def _keep(check: SyncCheck, local: Path, name: str, rows: int, replaced: list[str]) -> dict:
    prefix = f"{slugify(check.migration.name)}_{check.table}_{check.kind}{check.id}_"
    stored = store_result(
        local, f"migrations/{check.migration_id}/step9/{check.id}/{prefix}{name}", replaced=replaced
    )
    return {"path": stored, "sha256": engine.sha256_file(local), "rows": rows}


def _inputs(
    check: SyncCheck, stack: ExitStack, folder: Path, companies: dict | None = None
) -> tuple[list[str], dict[str, str]]:
    """Local paths of the check's uploads, and the names users know them by; `companies` gets the
    company given with each (an F&O export without DATAAREAID)."""
    paths, names = [], {}
    for upload in check.uploads.order_by("version"):
        path = stack.enter_context(local_copy(upload.file, under=folder))
        paths.append(path)
        names[os.path.basename(path)] = f"{upload.original_name} (version {upload.version})"
        if companies is not None and (upload.inspection or {}).get("company"):
            companies[path] = upload.inspection["company"]
    return paths, names


def _meant_to_arrive(job) -> list[tuple[str, str]]:
    """The files dual-write was meant to bring into F&O, as (stored name, name shown): the import
    files of a table that took the import route (one per re-export part), else the job's output
    (one per step-2 part)."""
    if job is None:
        return []
    if job.import_file:
        wholes = job.summary.get("import_files") or [job.import_file.name]
        return [(name, f"{Path(name).name} (import file of job #{job.id})") for name in wholes]
    parts = job.summary.get("part_files") or []
    if parts:
        return [(p["csv"], f"{Path(p['csv']).name} (output of job #{job.id})") for p in parts]
    if job.output_csv:
        name = job.output_csv.name
        return [(name, f"{Path(name).name} (output of job #{job.id})")]
    return []


def _our_outputs(check: SyncCheck, stack: ExitStack, folder: Path, names: dict[str, str]) -> list[str]:
    field = TransformJob._meta.get_field("import_file")
    paths = []
    for name, shown in _meant_to_arrive(check.job):
        path = stack.enter_context(local_copy(FieldFile(check.job, field, name), under=folder))
        paths.append(path)
        names[os.path.basename(path)] = shown
    return paths


def _renamed(df, column: str, names: dict[str, str]):
    if column not in df.columns or not len(df):
        return df
    return df.assign(
        **{column: df[column].astype(object).map(lambda v: names.get(v, v)).astype("string[pyarrow]")}
    )


def _date_order(job) -> str:
    order = (job.run_settings or {}).get("date_order", "mdy")
    return order if order in ("mdy", "dmy", "ymd") else "mdy"


def _reconcile(check: SyncCheck, folder: Path, replaced: list[str]) -> dict:
    with ExitStack() as stack:
        per_file: dict[str, str] = {}
        fno, names = _inputs(check, stack, folder, per_file)
        ours = _our_outputs(check, stack, folder, names)
        if not ours:
            raise engine.EngineError("the step-8 job of this table has no output: run it again at step 8")
        companies = list(check.migration.legal_entities.values_list("code", flat=True))
        result = engine.reconcile_sync(
            check.table,
            ours,
            fno,
            entity=check.entity,
            # An export without DATAAREAID is unambiguous only when the migration has one company.
            company=companies[0] if len(companies) == 1 else "",
            companies=per_file,
            date_order=_date_order(check.job),
        )
        # Our output's own rows (headers, hidden columns, cells): fix them and import them again.
        written = result.write_missing(folder / "missing_rows.csv")
        files = {
            "missing_rows": _keep(check, folder / "missing_rows.csv", "missing_rows.csv", written, replaced)
        }
    for name in ("missing", "unexpected", "differences", "assigned"):
        setattr(result, name, _renamed(getattr(result, name), "file", names))
        rows = result.write_list(name, folder / f"{name}.csv")
        files[name] = _keep(check, folder / f"{name}.csv", f"{name}.csv", rows, replaced)
    data = result.to_dict(limit=LIST_LIMIT)
    data["ours"]["files"] = [names.get(os.path.basename(p), p) for p in result.ours_files]
    data["fno"]["files"] = [names.get(os.path.basename(p), p) for p in result.fno_files]
    t = data["totals"]
    message = (
        f"expected {t['expected']}, arrived {t['arrived']}, missing {t['missing']}, "
        f"unexpected {t['unexpected']}, differing {t['differing']}"
    )
    return {"result": data, "files": files, "ok": result.ok, "message": message}


def _triage(check: SyncCheck, folder: Path, replaced: list[str]) -> dict:
    with ExitStack() as stack:
        errors, names = _inputs(check, stack, folder)
        ours = _our_outputs(check, stack, folder, names)
        # Read in batches, the list written as read: memory stays flat whatever the log's size.
        result = engine.triage_errors(
            errors,
            outputs=ours or None,
            table=check.table,
            list_path=folder / "errors.csv",
            keep=LIST_LIMIT,
            shown=names,
        )
    files = {"errors": _keep(check, folder / "errors.csv", "errors.csv", result.total, replaced)}
    data = result.to_dict(limit=LIST_LIMIT)
    data["ours_files"] = result.ours_files
    unknown = sum(c["errors"] for c in data["causes"] if c["cause"] == "unknown")
    message = (
        f"{data['errors_total']} error(s) in {len(data['causes'])} cause(s); "
        f"{data['tied_to_output']} tied to our output; {unknown} unknown"
    )
    return {"result": data, "files": files, "ok": data["errors_total"] == 0, "message": message}
