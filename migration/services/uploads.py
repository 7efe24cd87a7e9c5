"""Step 2 uploads: keep every version as uploaded, inspect it with the engine, check them together."""

import contextlib
import logging
import zipfile
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .. import engine, filetypes, quota, runbook, selectors
from ..engine import load_party_numbers
from ..models import (
    CrossCheck,
    ExportUpload,
    FindingAcknowledgement,
    Membership,
    Migration,
    Pull,
    UploadKind,
    UploadState,
)
from ..run_settings import engine_settings, settings_snapshot
from ..storage import local_copy, sha256_of_upload, storage_outage_as, stored_delete
from ..upload_limits import limit_mb, over_limit
from . import checklist
from .activity import activity_record
from .cross_check import cross_check_queue_if_complete, cross_check_waits_for
from .imports import verification_queue
from .queue import enqueue, enqueue_on_commit

logger = logging.getLogger(__name__)

ACCEPTED = (".csv", ".xlsx")


class UploadError(Exception):
    """An upload refused before it is stored; the message says what to do."""


def _check_size(upload) -> None:
    if upload.size == 0:
        raise UploadError(f"{upload.name} is empty. Export the table again and upload the new file.")
    if over_limit(upload.size):
        raise UploadError(
            f"{upload.name} is {upload.size / 1024 / 1024:.0f} MB; the limit is {limit_mb()} MB. "
            "Export fewer columns or split the export by company."
        )


def _check_workbook(upload) -> None:
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise UploadError(
            f"{upload.name} is not a complete Excel workbook (it may be truncated). "
            "Open it in Excel, save it again as .xlsx, and upload that."
        ) from None
    finally:
        upload.seek(0)
    if "xl/workbook.xml" not in names:
        raise UploadError(
            f"{upload.name} is a zip file but not an Excel workbook. Upload the .xlsx that Sales exported."
        )
    _refuse_engine_error(upload, engine.check_workbook_parts, upload)


def _refuse_engine_error(upload, check, *args, **kwargs) -> None:
    """Run one of the engine's checks on the upload; its error, if any, refuses it."""
    try:
        check(*args, **kwargs)
    except engine.EngineError as error:
        raise UploadError(f"{upload.name}: {error.message[0].upper()}{error.message[1:]}.") from None
    finally:
        upload.seek(0)


def _check_text(upload) -> None:
    head = filetypes.read_head(upload, 64 * 1024)
    if filetypes.starts_like_binary(head):
        raise UploadError(
            f"{upload.name} is named .csv but holds a binary file. "
            "Save the export as CSV (comma or semicolon delimited) and upload that."
        )
    if not filetypes.looks_like_text(head):
        raise UploadError(f"{upload.name} is not a text file. Save the export as CSV and upload that.")
    # Columns and header sizes from a bounded prefix: a hostile header never reaches a worker.
    head = filetypes.read_head(upload, engine.SAMPLE_BYTES)
    _refuse_engine_error(upload, engine.check_csv_head, head, whole=upload.size <= len(head))


def check_upload(upload) -> None:
    """Refuse what cannot be an export, by size and by content, not only by name."""
    suffix = Path(upload.name).suffix.lower()
    if suffix not in ACCEPTED:
        raise UploadError(
            f"{upload.name} is not a .csv or .xlsx file. Upload the export as CSV or Excel workbook."
        )
    _check_size(upload)
    if suffix == ".xlsx":
        if not filetypes.matches_suffix(filetypes.read_head(upload, 4), ".xlsx"):
            raise UploadError(
                f"{upload.name} is named .xlsx but is not an Excel workbook. "
                "Upload the file Sales' Export to Excel produced, or save it as .xlsx in Excel."
            )
        _check_workbook(upload)
    else:
        _check_text(upload)


def _slot_label(table: str, kind: str) -> str:
    names = dict(runbook.EXPORT_TABLES)
    if kind == UploadKind.PARTY_NUMBERS:
        return "Finance and Operations customer list"
    label = names.get(table, table)
    suffix = {UploadKind.REEXPORT: " re-export", UploadKind.VERIFICATION: " verification export"}
    return label + suffix.get(kind, "")


def upload_create(
    *, migration: Migration, table: str, kind: str, upload, actor, part: int | None = None
) -> ExportUpload:
    """Store an upload as a new version of its slot and queue its inspection.

    Step-2 exports, re-exports and verification exports come in parts: `part` None adds a
    part, a number replaces that part (its earlier version stays, downloadable). Other kinds
    keep one file per slot, in versions.
    """
    if not selectors.upload_slot_exists(kind=kind, table=table):
        raise UploadError("There is no such upload slot: upload the file on its step's page.")
    check_upload(upload)
    digest = sha256_of_upload(upload)
    with transaction.atomic():
        # Serialize versions of a migration's slots: two consultants uploading
        # at once each get their own version number, nothing is overwritten.
        Migration.objects.lock(migration.pk)
        slot = ExportUpload.objects.filter(migration=migration, table=table, kind=kind)
        latest = slot.aggregate(v=Max("version"), p=Max("part"))
        if kind not in selectors.PARTED_KINDS:
            part = 1
        elif part is not None and not slot.filter(part=part, removed_at__isnull=True).exists():
            raise UploadError("That part is no longer in this export: add the file as a new part.")
        record = ExportUpload(
            migration=migration,
            table=table,
            kind=kind,
            version=(latest["v"] or 0) + 1,
            part=part or (latest["p"] or 0) + 1,
            original_name=Path(upload.name).name[:255],
            size=upload.size,
            sha256=digest,
            uploaded_by=actor,
        )
        with storage_outage_as(UploadError):
            record.file.save(Path(upload.name).name, upload, save=False)
        record.save()
        what = _slot_label(table, kind)
        if kind in selectors.PARTED_KINDS:
            what += f" part {record.part}" + (" (replaced)" if part else "")
        activity_record(
            migration=migration,
            actor=actor,
            verb="upload",
            description=f"Uploaded {record.original_name} as {what} v{record.version}",
            step=runbook.EXPORTS_STEP if kind == UploadKind.EXPORT else runbook.INITIALIZE_STEP,
        )
        enqueue_on_commit("inspect_upload", record.id)
    return record


# A temporary upload file untouched this long belongs to no request: one being received is
# written to as its bytes arrive, and a received one is stored within minutes.
UPLOAD_TMP_STALE_AFTER = timedelta(hours=1)


def uploads_tmp_clean(*, stale_after: timedelta = UPLOAD_TMP_STALE_AFTER) -> int:
    """Remove the temporary files of uploads whose web process died while receiving them; how many."""
    cutoff = (timezone.now() - stale_after).timestamp()
    removed = 0
    for path in Path(django_settings.FILE_UPLOAD_TEMP_DIR).glob("*.upload*"):
        with contextlib.suppress(FileNotFoundError):  # its request finished while we looked
            if path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
    return removed


# An inspection still waiting after this long is sent again (a lost message, a dead worker).
REQUEUE_AFTER = timedelta(minutes=5)


def uploads_requeue_stale(now=None) -> int:
    """Re-send inspections that never finished; inspecting twice is harmless."""
    now = now or timezone.now()
    stale = ExportUpload.objects.filter(
        state__in=(UploadState.QUEUED, UploadState.INSPECTING), updated_at__lt=now - REQUEUE_AFTER
    )
    ids = list(stale.values_list("id", flat=True))
    ExportUpload.objects.filter(id__in=ids).update(updated_at=now)
    for upload_id in ids:
        enqueue("inspect_upload", upload_id)
    return len(ids)


def _claim_for_inspection(upload_id: int) -> bool:
    """Queued (or redelivered mid-inspection) uploads only: a finished inspection is never redone."""
    active = (UploadState.QUEUED, UploadState.INSPECTING)
    return (
        ExportUpload.objects.filter(id=upload_id, state__in=active).update(state=UploadState.INSPECTING) == 1
    )


def upload_remove(*, upload: ExportUpload, actor) -> None:
    """Take a part out of its export; its file stays, downloadable, as an earlier version."""
    with transaction.atomic():
        removed = ExportUpload.objects.filter(
            migration=upload.migration, table=upload.table, kind=upload.kind, part=upload.part
        ).filter(removed_at__isnull=True)
        if not removed.update(removed_at=timezone.now(), removed_by=actor):
            raise UploadError("That part was already removed.")
        activity_record(
            migration=upload.migration,
            actor=actor,
            verb="upload",
            description=f"Removed {upload.original_name} (part {upload.part}) from "
            f"{_slot_label(upload.table, upload.kind)}",
            step=runbook.EXPORTS_STEP if upload.kind == UploadKind.EXPORT else runbook.INITIALIZE_STEP,
        )
    if upload.kind == UploadKind.VERIFICATION:
        verification_queue(upload=upload, removed=True)
        return
    if upload.kind != UploadKind.EXPORT:
        return
    _record_export_total(upload.migration, upload.table, actor)
    cross_check_queue_if_complete(migration=upload.migration)


def upload_confirm_limit(*, upload: ExportUpload, actor, reason: str) -> None:
    """A part of exactly 100,000 rows whose count is real: the reason goes to the activity log."""
    reason = reason.strip()
    if not reason:
        raise UploadError("Say why the count of 100,000 rows is real (for example: checked in Sales).")
    if not upload.limit_reached:
        raise UploadError("This part does not have exactly 100,000 rows: nothing to confirm.")
    ExportUpload.objects.filter(id=upload.id).update(
        limit_confirmed_reason=reason[:300], limit_confirmed_by=actor
    )
    activity_record(
        migration=upload.migration,
        actor=actor,
        verb="confirmed",
        description=f"Confirmed the 100,000 rows of {upload.original_name} are real: {reason}"[:500],
        step=runbook.EXPORTS_STEP,
    )


def _require_manager(migration: Migration, actor, doing: str) -> None:
    if not Membership.objects.filter(migration=migration, user=actor, role="manager").exists():
        raise UploadError(f"Only a project manager can {doing}.")


def finding_acknowledge(*, migration: Migration, actor, code: str, table: str, message: str, reason: str):
    """A project manager acknowledges a cross-file check error with a reason; it stops blocking."""
    _require_manager(migration, actor, "acknowledge a cross-file check error")
    if not reason.strip():
        raise UploadError("Say why this error can be accepted.")
    check = selectors.latest_cross_check(migration)
    findings = check.result.get("findings", []) if check else []
    if not any(f["code"] == code and f["table"] == table and f["message"] == message for f in findings):
        raise UploadError("That finding is not in the latest cross-file check.")
    FindingAcknowledgement.objects.create(
        migration=migration, code=code, table=table, message=message[:1000], reason=reason.strip()[:500],
        acknowledged_by=actor,
    )  # fmt: skip
    activity_record(
        migration=migration,
        actor=actor,
        verb="acknowledged",
        description=f"Acknowledged the cross-file check error {code} on {table}: {reason.strip()}"[:500],
        step=runbook.EXPORTS_STEP,
    )


def _other_parts_columns(upload: ExportUpload) -> tuple[str, list[str]] | None:
    """The first other part in use (of the same slot) that has been read: its name and headers."""
    others = selectors.export_parts(upload.migration, upload.kind).get(upload.table, [])
    for other in others:
        if other.id != upload.id and other.inspection.get("headers"):
            return other.original_name, other.inspection["headers"]
    return None


def upload_inspect(*, upload_id: int) -> None:
    if not _claim_for_inspection(upload_id):
        return
    upload = ExportUpload.objects.select_related("migration", "uploaded_by").get(id=upload_id)
    try:
        inspection = _inspect(upload)
    except engine.EngineError as error:
        _finish(upload, UploadState.FAILED, str(error), {})
        return
    if upload.kind in selectors.PARTED_KINDS and (other := _other_parts_columns(upload)):
        differ = engine.column_difference(other[1], inspection.get("headers", []))
        if differ:
            message = (
                f"Refused: its columns are not those of {other[0]} ({differ}). Export every part from "
                "the same view, then replace this part."
            )
            _finish(upload, UploadState.FAILED, message, inspection)
            return
    if upload.kind in AFTER_INSTALL:
        problems = bool(inspection.get("targets_missing") or inspection.get("warning"))
        message = after_install_summary(upload.kind, inspection, upload.table)
    else:
        problems = bool(inspection.get("missing_required") or inspection.get("warning"))
        message = inspection_summary(inspection, upload.table)
    # One commit: a page that sees the export inspected also sees the step-2 row it ticks.
    with transaction.atomic():
        _finish(upload, UploadState.PROBLEMS if problems else UploadState.READY, message, inspection)
        if upload.kind == UploadKind.EXPORT:
            _record_export(upload, inspection)
    if upload.kind == UploadKind.EXPORT:
        cross_check_queue_if_complete(migration=upload.migration)
    if upload.kind == UploadKind.VERIFICATION and not inspection.get("targets_missing"):
        verification_queue(upload=upload)


# Exports taken after dual-write was installed: P2C's columns are gone, dual-write's must be there.
AFTER_INSTALL = (UploadKind.REEXPORT, UploadKind.VERIFICATION)


def wrong_slot_message(table: str, inspection: dict) -> str:
    """A file uploaded into another table's slot: what it looks like and where it belongs, or ""."""
    detected = inspection.get("detected_table")
    if not detected or detected == table or detected not in engine.TABLES:
        return ""
    looks, meant = engine.TABLES[detected].export_name, engine.TABLES[table].export_name
    return (
        f"This looks like the {looks} export, not {meant}: upload it into the {looks} slot, and the "
        f"{meant} export here."
    )


def after_install_summary(kind: str, inspection: dict, table: str = "") -> str:
    if wrong := wrong_slot_message(table, inspection):
        return wrong
    missing = inspection.get("targets_missing")
    if missing:
        return (
            f"Dual-write column(s) missing: {', '.join(missing)}. Add them to the table's view in Sales, "
            "export again and upload the new file."
        )
    if inspection.get("warning"):
        warning = inspection["warning"]
        return warning[0].upper() + warning[1:] + "."
    rows = inspection.get("rows", 0)
    if kind == UploadKind.VERIFICATION:
        return f"{rows} rows; comparing them with the import file."
    newest = inspection.get("modified_on_newest")
    return f"{rows} rows; newest Modified On {newest.replace('T', ' ')[:16]}." if newest else f"{rows} rows."


def inspection_summary(inspection: dict, table: str = "") -> str:
    """One line for the slot: what is wrong and what to do, or what the file holds."""
    if wrong := wrong_slot_message(table, inspection):
        return wrong
    missing = inspection.get("missing_required")
    if missing:
        return (
            f"Required column(s) missing: {', '.join(missing)}. Add them to the view in Sales, export again "
            "and upload the new file."
        )
    if inspection.get("warning"):
        warning = inspection["warning"]
        return warning[0].upper() + warning[1:] + "."
    counts = inspection.get("issue_counts") or {}
    errors = sum(n for code, n in counts.items() if engine.ISSUE_CODES[code][0] == "error")
    warnings = sum(counts.values()) - errors
    rows = inspection.get("rows", 0)
    if not counts:
        return f"{rows} rows, no row issues."
    return f"{rows} rows; {errors} row error(s) and {warnings} warning(s) to review at step 8."


def _inspect(upload: ExportUpload) -> dict:
    if upload.kind == UploadKind.PARTY_NUMBERS:
        with local_copy(upload.file) as path:
            found, _ = load_party_numbers(path)
        return {"rows": len(found)}
    with local_copy(upload.file) as path:
        settings = engine_settings(settings_snapshot(upload.migration), party_numbers_path=None)
        inspection = engine.inspect_file(path, table=upload.table, settings=settings).to_dict()
    if pulled_upload_ids(
        {upload.id}
    ):  # read through the Web API: Sales' 100,000-row export limit cut nothing
        inspection.get("issue_counts", {}).pop("export_limit_reached", None)
    return inspection


def pulled_upload_ids(upload_ids: set[int]) -> set[int]:
    """The uploads a pull stored (migration/connections/pulls.py), not exported from Sales."""
    return set(Pull.objects.filter(upload_id__in=upload_ids).values_list("upload_id", flat=True))


def _finish(upload: ExportUpload, state: str, message: str, inspection: dict) -> None:
    ExportUpload.objects.filter(id=upload.id, state=UploadState.INSPECTING).update(
        state=state, state_message=message[:1000], inspection=inspection, updated_at=timezone.now()
    )


def _record_export(upload: ExportUpload, inspection: dict) -> None:
    """Tick the step-2 checklist row from the inspected parts, as the uploader."""
    _record_export_total(upload.migration, upload.table, upload.uploaded_by)


def _record_export_total(migration: Migration, table: str, actor) -> None:
    item = migration.items.filter(key=f"export-{table}").first()
    parts = selectors.export_parts(migration).get(table, [])
    rows = [p.inspection.get("rows") for p in parts if p.state != UploadState.FAILED]
    if item is None or not rows or None in rows:
        return
    checklist.item_update(
        item=item,
        actor=actor,
        details={"status": "exported", "row_count": sum(rows), "reason": ""},
        blocker=item.blocker,
        due_on=item.due_on,
    )


USABLE = (UploadState.READY, UploadState.PROBLEMS)


def cross_check_request(*, migration: Migration, actor) -> CrossCheck:
    """A project manager runs the cross-file check now, over the exports in use; logged."""
    _require_manager(migration, actor, "run the cross-file check on demand")
    if waits := cross_check_waits_for(migration):
        raise UploadError(
            f"The cross-file check cannot run yet: {'; '.join(waits)}. Upload, replace or remove those "
            "parts, or mark the table not used with a reason."
        )
    check = cross_check_queue_if_complete(migration=migration, again=True)
    activity_record(
        migration=migration, actor=actor, verb="upload", description="Ran the cross-file check",
        step=runbook.EXPORTS_STEP,
    )  # fmt: skip
    return check


def cross_check_run(*, check_id: int) -> None:
    active = (UploadState.QUEUED, UploadState.INSPECTING)
    if not CrossCheck.objects.filter(id=check_id, state__in=active).update(state=UploadState.INSPECTING):
        return
    check = CrossCheck.objects.select_related("migration").get(id=check_id)
    by_id = {u.id: u for u in ExportUpload.objects.filter(id__in=_ids(check.inputs))}
    uploads = {t: [by_id[i] for i in _listed(ids) if i in by_id] for t, ids in check.inputs.items()}
    run = engine_settings(settings_snapshot(check.migration), party_numbers_path=None)
    try:
        result = _check_all(uploads, run)
    except engine.EngineError as error:
        CrossCheck.objects.filter(id=check_id).update(state=UploadState.FAILED, message=str(error)[:1000])
        return
    findings = result.to_dict()
    state = UploadState.PROBLEMS if findings["errors"] or findings["warnings"] else UploadState.READY
    message = f"{findings['errors']} error(s), {findings['warnings']} warning(s) across the exports."
    CrossCheck.objects.filter(id=check_id).update(
        state=state, result=findings, summary=result.summary_text(), message=message
    )


def _listed(ids) -> list[int]:
    return list(ids) if isinstance(ids, list) else [ids]  # checks before parts: one id per table


def _ids(inputs: dict) -> list[int]:
    return [i for ids in inputs.values() for i in _listed(ids)]


def _check_all(uploads: dict[str, list[ExportUpload]], run: engine.TransformSettings):
    with ExitStack() as stack:
        paths = {
            table: [stack.enter_context(local_copy(u.file)) for u in parts]
            for table, parts in uploads.items()
        }
        pulled = pulled_upload_ids({u.id for parts in uploads.values() for u in parts})
        read_whole = [
            path
            for table, parts in uploads.items()
            for u, path in zip(parts, paths[table], strict=True)
            if u.id in pulled
        ]
        result = engine.check_exports(
            paths, company=run.company, company_rule=run.company_rule, expect_all=False, read_whole=read_whole
        )
    # Users see the names they uploaded, never the server's paths.
    result.files = {
        table: " + ".join(f"{u.original_name} version {u.version}" for u in parts)
        for table, parts in uploads.items()
    }
    for table, listed in result.parts.items():
        for entry, u in zip(listed, uploads[table], strict=True):
            entry["file"] = u.original_name
    return result


def uploads_remove_old_versions(*, migration: Migration, actor) -> tuple[int, int]:
    """Delete the versions newer ones replaced and no job used; (how many, bytes freed). Logged."""
    with transaction.atomic():
        Migration.objects.lock(migration.pk)
        old = list(quota.old_versions(migration))
        freed = sum(u.size for u in old)
        if not old:
            return 0, 0
        ExportUpload.objects.filter(id__in=[u.id for u in old]).delete()
        activity_record(
            migration=migration,
            actor=actor,
            verb="upload",
            description=f"Removed {len(old)} earlier upload version(s), {freed / 1024**2:,.1f} MB: "
            + ", ".join(f"{u.original_name} v{u.version}" for u in old),
        )
        # Files go once the rows are gone for good; a failed delete leaves a file, never a row without one.
        transaction.on_commit(lambda: stored_delete([u.file.name for u in old]))
    return len(old), freed
