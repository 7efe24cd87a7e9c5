"""Step 8's import route: the pack's checklist rows, verification exports, the tables verified."""

import tempfile
from pathlib import Path

from django.db import transaction

from .. import engine, item_kinds, runbook, selectors
from ..models import (
    ChecklistItem,
    ExportUpload,
    ImportVerification,
    Migration,
    TransformJob,
    UploadState,
)
from ..storage import local_copy, store_result
from .activity import activity_record
from .checklist import item_update

# Records listed on the page and kept in the row; the issues file holds every one to import again.
RECORDS_KEPT = 200
PART_POSITION = 1000  # pack rows come after the six tables' rows


def _label(table: str) -> str:
    return engine.TABLES[table].export_name


def part_title(table: str, part: dict, count: int) -> str:
    of = f" (part {part['part']} of {count})" if part["part"] else ""
    return f"{_label(table)}: {part['file']}{of} imported"


@transaction.atomic
def import_parts_record(*, job: TransformJob) -> list[ChecklistItem]:
    """One step-8 row per file to import; a file that did not change keeps its row (and its tick)."""
    migration, table = job.migration, job.table
    prefix = f"import-{table}-"
    old = {i.key: i for i in ChecklistItem.objects.filter(migration=migration, key__startswith=prefix)}
    base = PART_POSITION * (engine.IMPORT_ORDER.index(table) + 1)
    keep: list[ChecklistItem] = []
    for n, part in enumerate(job.import_parts, start=1):
        key = f"{prefix}{n:02d}"
        item = old.pop(key, None)
        if item is not None and item.details.get("sha256") == part["sha256"]:
            keep.append(item)
            continue
        if item is not None:
            item.delete()
        keep.append(
            ChecklistItem.objects.create(
                migration=migration,
                step=runbook.INITIALIZE_STEP,
                key=key,
                kind=item_kinds.IMPORT_PART,
                title=part_title(table, part, len(job.import_parts))[:200],
                position=base + n,
                details={"job_id": job.id, "file": part["file"], "sha256": part["sha256"], "imported": False},
            )
        )
    for item in old.values():
        item.delete()
    _unverify(migration, table, job.created_by, f"new import file from job #{job.id}")
    return keep


def _init_item(migration: Migration, table: str) -> ChecklistItem | None:
    return ChecklistItem.objects.filter(migration=migration, key=f"init-{table}").first()


def _unverify(migration: Migration, table: str, actor, why: str) -> None:
    """A table verified by a matching export is open again once what it verified changed."""
    item = _init_item(migration, table)
    if item is None or not item.details.get("verified"):
        return
    item_update(
        item=item,
        actor=actor,
        details={"verified": False, "verification_id": None, "verified_because": why},
        blocker=item.blocker,
        due_on=item.due_on,
    )


# --- verification exports ----------------------------------------------------------------


def verification_queue(*, upload: ExportUpload) -> ImportVerification | None:
    """After a verification export is inspected: compare it with its table's latest import file."""
    job = selectors.latest_import_job(upload.migration, upload.table)
    if job is None:
        ExportUpload.objects.filter(id=upload.id).update(
            state=UploadState.PROBLEMS,
            state_message="No import file for this table yet: upload a re-export and run its job first.",
        )
        return None
    with transaction.atomic():
        check = ImportVerification.objects.create(
            migration=upload.migration, table=upload.table, job=job, upload=upload
        )
        from ..tasks import run_verification

        run_verification.delay_on_commit(check.id)
    return check


def _claim(check_id: int) -> bool:
    active = (UploadState.QUEUED, UploadState.INSPECTING)
    updated = ImportVerification.objects.filter(id=check_id, state__in=active).update(
        state=UploadState.INSPECTING
    )
    return bool(updated)


def verification_run(*, check_id: int) -> None:
    if not _claim(check_id):
        return
    check = ImportVerification.objects.select_related("migration", "job", "upload__uploaded_by").get(
        id=check_id
    )
    try:
        result, issues_name = _compare(check)
    except engine.EngineError as error:
        ImportVerification.objects.filter(id=check_id).update(
            state=UploadState.FAILED, message=str(error)[:1000]
        )
        return
    data = result.to_dict()
    data["records"] = data["records"][:RECORDS_KEPT]
    data.pop("expected", None), data.pop("actual", None), data.pop("issues_file", None)
    state = UploadState.READY if result.ok else UploadState.PROBLEMS
    ImportVerification.objects.filter(id=check_id).update(
        state=state, result=data, message=result.summary()[:1000], issues_file=issues_name
    )
    _record_outcome(check, result.ok)


def _compare(check: ImportVerification) -> tuple[engine.VerifyResult, str]:
    columns, guid_names = engine.table_columns(check.table)
    with (
        local_copy(check.job.import_file) as expected,
        local_copy(check.upload.file) as actual,
        tempfile.TemporaryDirectory(prefix=f"p2c-verify{check.id}-") as folder,
    ):
        issues = Path(folder) / ("import-again" + Path(check.job.import_file.name).suffix)
        result = engine.verify_import(expected, [actual], columns, guid_names=guid_names, issues_path=issues)
        name = ""
        if result.issues_rows:
            stem = f"{check.table}_import-again_verification{check.id}{issues.suffix}"
            name = store_result(issues, f"migrations/{check.migration_id}/verifications/{check.id}/{stem}")
    return result, name


def _record_outcome(check: ImportVerification, ok: bool) -> None:
    item = _init_item(check.migration, check.table)
    actor = check.upload.uploaded_by
    if item is not None and ok:
        item_update(
            item=item,
            actor=actor,
            details={"verified": True, "verification_id": check.id, "verified_because": ""},
            blocker=item.blocker,
            due_on=item.due_on,
        )
    elif item is not None:
        _unverify(check.migration, check.table, actor, f"verification #{check.id} found differences")
    activity_record(
        migration=check.migration,
        actor=actor,
        verb="verified" if ok else "verification",
        description=f"Verification #{check.id} of {_label(check.table)}: "
        + ("every record matches" if ok else check_message(check.id)),
        step=runbook.INITIALIZE_STEP,
    )


def check_message(check_id: int) -> str:
    return ImportVerification.objects.filter(id=check_id).values_list("message", flat=True).first() or ""
