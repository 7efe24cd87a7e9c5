"""Step 9 compares with what was meant to arrive, whatever route the table took at step 8: the
import files of a re-export (every part), or the job's output (every step-2 part)."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from migration.models import JobState, TransformJob, UploadKind
from migration.services import sync

from .engine.helpers import reexport_parts, step2_parts
from .helpers import step_9_open, upload_inspected
from .test_import_parts import import_job

# On the folder storage and on Azure Blob storage (Azurite): step 2's parts, the re-export's, the
# job, its import files, and step 9's checks read back through the same storage API.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_storage")]

ORDER_FNO = ["SALESORDERNUMBER", "DATAAREAID", "LANGUAGEID", "REQUESTEDRECEIPTDATE"]
ERROR = (
    "Couldn't resolve the guid for the field: msdyn_customergroupid.msdyn_groupid. The lookup wasn't "
    "found: 30. Try this URL(s) to check if the reference data exists: https://org.crm.dynamics.com/x"
)


def order_job(migration, consultant, tmp_path: Path, *, reexport: bool) -> TransformJob:
    """Order in two step-2 parts; with `reexport`, initialized through a re-export in two parts."""
    step_9_open(migration)
    for path in step2_parts(tmp_path, [range(0, 150), range(150, 300)]):
        upload_inspected(migration, consultant, str(path), table="order")
    if reexport:
        for path in reexport_parts(tmp_path, [list(range(0, 140)), list(range(140, 300))]):
            upload_inspected(migration, consultant, str(path), table="order", kind=UploadKind.REEXPORT)
    return import_job(migration, consultant)


def meant_rows(job: TransformJob) -> list[dict]:
    """Every row of the files meant to arrive (import files, else the parts' outputs)."""
    names = job.summary.get("import_files") or [p["csv"] for p in job.summary["part_files"]]
    rows = []
    for name in names:
        with default_storage.open(name, "rb") as handle:
            data = handle.read()
        if name.endswith(".xlsx"):
            sheet = openpyxl.load_workbook(io.BytesIO(data)).active
            values = list(sheet.iter_rows(values_only=True))
            rows += [dict(zip(values[0], r, strict=True)) for r in values[1:]]
        else:
            rows += list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    return rows


def fno_export(rows: list[dict], drop: int = 0) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ORDER_FNO)
    for r in rows[drop:]:
        writer.writerow([r["Sales Order Number"], str(r["Company"]).lower(), r["Language"] or "", ""])
    return SimpleUploadedFile("SalesOrderHeadersV2.csv", out.getvalue().encode(), content_type="text/csv")


def run(migration, consultant, kind: str, upload) -> object:
    check = sync.sync_check_create(
        migration=migration, kind=kind, table="order", files=[upload], actor=consultant
    )
    sync.sync_check_run(check_id=check.id)
    check.refresh_from_db()
    return check


@pytest.mark.parametrize("reexport", [True, False], ids=["import-route", "step2-parts"])
def test_it_reconciles_a_table_in_parts_against_what_was_meant_to_arrive(
    migration, consultant, tmp_path, reexport
):
    job = order_job(migration, consultant, tmp_path, reexport=reexport)
    rows = meant_rows(job)
    check = run(migration, consultant, "reconcile", fno_export(rows, drop=1))
    assert check.state == JobState.SUCCEEDED, check.message
    totals = check.result["totals"]
    assert (totals["expected"], totals["arrived"], totals["missing"]) == (300, 299, 1)
    compared = check.result["ours"]["files"]
    assert len(set(compared)) == 2  # each file by its own name, however the storage hands it over
    word = "import file" if reexport else "output"
    assert all(f"({word} of job #{job.id})" in name for name in compared)


def test_it_ties_triaged_errors_to_the_import_files(migration, consultant, tmp_path):
    job = order_job(migration, consultant, tmp_path, reexport=True)
    key = meant_rows(job)[200]["Sales Order Number"]
    errors = SimpleUploadedFile("errors.csv", f'Key,Message\n{key},"{ERROR}"\n'.encode(), "text/csv")
    check = run(migration, consultant, "triage", errors)
    assert check.state == JobState.SUCCEEDED, check.message
    assert check.result["tied_to_output"] == 1
    assert check.result["errors"][0]["our_file"].endswith(f"(import file of job #{job.id})")
    assert len(check.result["ours_files"]) == 2
