"""Helpers of steps 8 and 9 shared by their tests: a job through the import route, the files
that were meant to arrive, and what F&O and Sales export after the initial sync."""

import csv
import io
from pathlib import Path

import openpyxl
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from migration.models import JobState, TransformJob, UploadKind
from migration.services import job_worker, jobs

from .engine.helpers import reexport_parts, step2_parts
from .helpers import step_9_open, upload_inspected

# Step 9: the columns of F&O's Customers V3 and of its sales orders, and a lookup error as
# the initial sync reports it (in two wordings).
FNO = ["CUSTOMERACCOUNT", "DATAAREAID", "PARTYNUMBER", "CUSTOMERGROUPID", "PARTYTYPE"]
LOOKUP = (
    "Couldn't resolve the guid for the field: msdyn_customergroupid.msdyn_groupid. The lookup was not "
    "found: 30. Try this URL(s) to check if the reference data exists: https://org.crm.dynamics.com/x"
)
ORDER_FNO = ["SALESORDERNUMBER", "DATAAREAID", "LANGUAGEID", "REQUESTEDRECEIPTDATE"]
ERROR = (
    "Couldn't resolve the guid for the field: msdyn_customergroupid.msdyn_groupid. The lookup wasn't "
    "found: 30. Try this URL(s) to check if the reference data exists: https://org.crm.dynamics.com/x"
)


def csv_file(name: str, headers: list[str], rows: list[list[str]]) -> SimpleUploadedFile:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([headers, *rows])
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"), content_type="text/csv")


def output_rows(job) -> list[dict]:
    with job.output_csv.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))


def import_job(migration, consultant) -> TransformJob:
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    return job


def workbook_rows(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data))["All Orders"].iter_rows(values_only=True))


def stored_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def after_import(job: TransformJob, folder: Path, cut: int, plant=lambda rows: rows) -> list[Path]:
    """What Sales exports after the import, in two parts cut elsewhere than the re-export was."""
    rows = [r for name in job.summary["import_files"] for r in workbook_rows(stored_bytes(name))[1:]]
    header = list(workbook_rows(stored_bytes(job.summary["import_files"][0]))[0])
    keep = [0, header.index("Ship To Country/Region"), *range(header.index("Company"), len(header))]
    out = plant([[str(r[i]) if r[i] is not None else "" for i in keep] for r in rows])
    paths = []
    for n, chunk in enumerate((out[:cut], out[cut:]), start=1):
        path = folder / f"after_{n}.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows([[header[i] for i in keep], *chunk])
        paths.append(path)
    return paths


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
