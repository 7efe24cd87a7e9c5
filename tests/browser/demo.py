"""A migration as a real team leaves it after step 8 and the first initial sync: six tables
through the import route (step-2 export, re-export, job, import file verified), the account
reconciled and its initial-sync errors triaged. The layout tests and the README's screenshots
(`make screenshots`) are drawn from it."""

import csv
import shutil
from pathlib import Path

from migration.models import ImportVerification, SyncCheck, UploadKind
from migration.runbook import TRANSFORM_TABLES
from migration.services import checklist, imports, job_worker, jobs, sync
from tests.helpers import step_9_open, upload_inspected, write_reexport
from tests.helpers_sync import FNO, LOOKUP, output_rows


def finish_step8(migration, actor, folder: Path) -> None:
    """Every table of step 8 exported, re-exported, filled, imported and verified."""
    for table, _ in TRANSFORM_TABLES:
        upload_inspected(migration, actor, f"{table}.csv")
        reexport = write_reexport(f"{table}.csv", folder / f"{table}_reexport.csv")
        upload_inspected(migration, actor, str(reexport), table, kind=UploadKind.REEXPORT)
        job = jobs.job_start(migration=migration, table=table, actor=actor)
        job_worker.job_run(job_id=job.id)
        job.refresh_from_db()
        for number, stored in enumerate(imports.import_files(job), 1):
            # What Sales exports after a clean import holds exactly what the import file holds.
            imported = folder / f"{table}_verification_{number}{Path(stored.name).suffix}"
            with stored.open("rb") as source, open(imported, "wb") as target:
                shutil.copyfileobj(source, target)
            upload_inspected(migration, actor, str(imported), table, kind=UploadKind.VERIFICATION)
        files = migration.items.filter(key__startswith=f"import-{table}-")
        rows = [{"item_id": item.id, "details": {"imported": True}} for item in files]
        checklist.step_save(migration=migration, step=8, actor=actor, rows=rows)
        check = ImportVerification.objects.filter(migration=migration, table=table).latest("id")
        imports.verification_run(check_id=check.id)


def _write_csv(path: Path, headers, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([headers, *rows])
    return path


def sync_accounts(migration, actor, folder: Path) -> None:
    """The account map's initial sync: all accounts but one arrived, one error to triage."""
    step_9_open(migration)
    item = migration.items.get(key="map-customers-v3--accounts")
    details = {"enabled": True, "sync_result": "succeeded", "error_count": 1}
    checklist.step_save(
        migration=migration, step=9, actor=actor, rows=[{"item_id": item.id, "details": details}]
    )
    job = migration.jobs.filter(table="account").latest("id")
    rows = [r for r in output_rows(job) if r["Account Number"]]
    fno = [
        [r["Account Number"], "usmf", r["Party Number"], r["Customer Group Id"], "Organization"]
        for r in rows[1:]
    ]
    errors = [[rows[0]["Account Number"], LOOKUP, "USMF"]]
    for kind, path, entity in (
        ("reconcile", _write_csv(folder / "CustomersV3.csv", FNO, fno), "Customers V3 (accounts)"),
        ("triage", _write_csv(folder / "errors.csv", ["Record key", "Error message", "Company"], errors), ""),
    ):
        with open(path, "rb") as handle:
            from django.core.files import File

            check = sync.sync_check_create(
                migration=migration,
                kind=kind,
                table="account",
                files=[File(handle, name=path.name)],
                actor=actor,
                entity=entity,
            )
        sync.sync_check_run(check_id=check.id)
    assert not SyncCheck.objects.filter(migration=migration).exclude(state="succeeded").exists()
