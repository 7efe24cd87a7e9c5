"""Step 9 compares with what was meant to arrive, whatever route the table took at step 8: the
import files of a re-export (every part), or the job's output (every step-2 part)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from migration.models import JobState
from migration.services import sync

from .helpers_sync import ERROR, fno_export, meant_rows, order_job

# On the folder storage and on Azure Blob storage (Azurite): step 2's parts, the re-export's, the
# job, its import files, and step 9's checks read back through the same storage API.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_storage")]


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
