"""Step 8's import route: the pack's checklist rows, verification exports, the tables verified."""

import tempfile
import zipfile
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile, FileField

from .. import engine, item_kinds, runbook, selectors
from ..models import (
    ChecklistItem,
    ExportUpload,
    ImportVerification,
    Migration,
    TransformJob,
    UploadKind,
    UploadState,
)
from ..storage import local_copy, store_result, stored_delete
from .activity import activity_record
from .checklist import item_update
from .queue import enqueue_on_commit

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
    _supersede(job)
    return keep


def _supersede(job: TransformJob) -> None:
    """A rerun's import file replaces the one verified: the table is open again, and the log says so."""
    item = _init_item(job.migration, job.table)
    verified = item.details.get("verification_id") if item is not None else None
    _unverify(job.migration, job.table, job.created_by, f"new import file from job #{job.id}")
    if verified:
        activity_record(
            migration=job.migration,
            actor=job.created_by,
            verb="verification",
            description=f"Verification #{verified} of {_label(job.table)} superseded: job #{job.id} made a "
            "new import file; import it and verify it again",
            step=runbook.INITIALIZE_STEP,
        )


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


INSPECTED = (UploadState.READY, UploadState.PROBLEMS)


def verification_queue(*, upload: ExportUpload, removed: bool = False) -> ImportVerification | None:
    """After a verification export's part is inspected (or one is removed): once every part in use
    is inspected and has dual-write's columns, compare them all with the table's latest import files."""
    parts = selectors.export_parts(upload.migration, UploadKind.VERIFICATION).get(upload.table, [])
    if not parts or any(p.state not in INSPECTED or p.inspection.get("targets_missing") for p in parts):
        return None  # a part still inspected, or one to replace: its own message says what to do
    job = selectors.latest_import_job(upload.migration, upload.table)
    if job is None:
        if not removed:
            ExportUpload.objects.filter(id=upload.id).update(
                state=UploadState.PROBLEMS,
                state_message="No import file for this table yet: upload a re-export and run its job first.",
            )
        return None
    with transaction.atomic():
        check = ImportVerification.objects.create(
            migration=upload.migration,
            table=upload.table,
            job=job,
            upload=parts[-1] if removed else upload,
            parts=[p.id for p in parts],
        )
        enqueue_on_commit("run_verification", check.id)
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
    newer = ImportVerification.objects.filter(migration=check.migration, table=check.table, id__gt=check.id)
    if newer.exists():  # another part arrived meanwhile: the newer check compares them all
        ImportVerification.objects.filter(id=check_id).update(
            state=UploadState.FAILED, message="Superseded by a later check with every part of the export."
        )
        return
    replaced: list[str] = []  # a redelivered check's earlier file, deleted once the row has the new
    try:
        result, issues_name = _compare(check, replaced)
    except engine.EngineError as error:
        ImportVerification.objects.filter(id=check_id).update(
            state=UploadState.FAILED, message=str(error)[:1000]
        )
        return
    data = result.to_dict()
    data["records"] = data["records"][:RECORDS_KEPT]
    data.pop("expected", None), data.pop("actual", None), data.pop("issues_file", None)
    data.pop("issues_files", None)
    state = UploadState.READY if result.ok else UploadState.PROBLEMS
    # One commit: a page that sees the verification finished also sees the tick it gave the table.
    with transaction.atomic():
        ImportVerification.objects.filter(id=check_id).update(
            state=state, result=data, message=result.summary()[:1000], issues_file=issues_name
        )
        # The parts said "comparing them with the import file": now they say it is done, and where.
        ExportUpload.objects.filter(id__in=check.parts or [check.upload_id]).update(
            state_message=f"Compared with job #{check.job_id}'s import file (verification #{check.id}): "
            + ("every record matches." if result.ok else "differences found, listed under Verify the import.")
        )
        _record_outcome(check, result.ok)
    stored_delete(replaced)


def import_files(job: TransformJob) -> list[FieldFile]:
    """The job's whole import files: one, or one per part of its re-export, in order."""
    names = job.summary.get("import_files") or []
    if not names:
        return [job.import_file]
    return [FieldFile(None, FileField(storage=default_storage), name) for name in names]


def _actuals(check: ImportVerification) -> list[ExportUpload]:
    if not check.parts:
        return [check.upload]
    found = ExportUpload.objects.in_bulk(check.parts)
    return [found[i] for i in check.parts if i in found]


def _compare(check: ImportVerification, replaced: list[str]) -> tuple[engine.VerifyResult, str]:
    """Every part of the export taken after the import against every import file of the table."""
    columns, guid_names = engine.table_columns(check.table)
    files = import_files(check.job)
    suffix = Path(files[0].name).suffix
    with ExitStack() as stack:
        Path(settings.P2C_TMP_DIR).mkdir(parents=True, exist_ok=True)
        folder = stack.enter_context(
            tempfile.TemporaryDirectory(prefix=f"verify{check.id}-", dir=settings.P2C_TMP_DIR)
        )
        expected = [stack.enter_context(local_copy(f, under=folder)) for f in files]
        actual = [stack.enter_context(local_copy(u.file, under=folder)) for u in _actuals(check)]
        issues = Path(folder) / ("import-again" + suffix)
        result = engine.verify_import(
            expected if len(expected) > 1 else expected[0], actual, columns, guid_names=guid_names,
            issues_path=issues,
        )  # fmt: skip
        name = ""
        base = f"migrations/{check.migration_id}/verifications/{check.id}/{check.table}_import-again"
        if result.issues_rows and result.issues_files:  # several import files: one zip of their rows
            bundle = Path(folder) / "import-again.zip"
            with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in result.issues_files:
                    n = int(Path(path).stem.rsplit("_", 1)[-1])
                    archive.write(path, f"{Path(files[n - 1].name).stem}_import-again{suffix}")
            name = store_result(bundle, f"{base}_verification{check.id}.zip", replaced=replaced)
        elif result.issues_rows:
            name = store_result(issues, f"{base}_verification{check.id}{suffix}", replaced=replaced)
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
