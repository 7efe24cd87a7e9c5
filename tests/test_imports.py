"""Step 8's import route: fill the re-export in place, the import pack, verification exports."""

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from migration.models import (
    Activity,
    ChecklistItem,
    ImportVerification,
    JobState,
    TransformJob,
    UploadKind,
    UploadState,
)
from migration.pack.data import verified_counts
from migration.services import imports, jobs

from .engine.helpers import assert_only_targets_changed, reexport_workbook, step2_export
from .helpers import run, step_data, step_url, upload_inspected

# On the folder storage and on Blob storage (Azurite): import files, parts, packs, verifications.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_storage")]


def import_job(migration, consultant) -> TransformJob:
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    return job


def test_it_fills_the_reexport_in_place_through_the_job(migration, consultant, order_route, tmp_path):
    job = import_job(migration, consultant)
    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(job.import_file.read())
    assert_only_targets_changed(order_route, filled, "KLMNOP")
    assert job.summary["filled_in_place"] and job.summary["columns_added"] == []
    assert job.output_csv.name.endswith("_review-copy.csv")  # the appended copy: for reading only
    assert not job.output_xlsx  # a CSV export's workbook copy only when the settings ask for it


def test_it_cuts_the_import_file_into_parts_each_under_the_limit(
    settings, migration, consultant, order_route, tmp_path
):
    settings.P2C_IMPORT_PART_MB = 0.05
    job = import_job(migration, consultant)
    assert len(job.import_parts) > 1
    assert [p["part"] for p in job.import_parts] == list(range(1, len(job.import_parts) + 1))
    assert all(p["bytes"] <= 0.05 * 2**20 for p in job.import_parts)
    assert sum(p["rows"] for p in job.import_parts) == 3000
    items = ChecklistItem.objects.filter(migration=migration, key__startswith="import-order-")
    assert [i.details["file"] for i in items] == [p["file"] for p in job.import_parts]
    assert all(i.kind == "import_part" and not i.done for i in items)


def test_it_keeps_a_part_s_tick_when_a_rerun_writes_the_same_file(migration, consultant, order_route):
    import_job(migration, consultant)
    item = ChecklistItem.objects.get(migration=migration, key="import-order-01")
    ChecklistItem.objects.filter(id=item.id).update(done=True, details={**item.details, "imported": True})
    import_job(migration, consultant)
    assert ChecklistItem.objects.get(migration=migration, key="import-order-01").done


def _rows_of_workbook(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data))["All Orders"].iter_rows(values_only=True))


def test_it_downloads_one_import_pack_in_import_order(
    settings, client_for, migration, consultant, order_route, tmp_path
):
    settings.P2C_IMPORT_PART_MB = 0.05
    job = import_job(migration, consultant)
    response = client_for("viewer").get(reverse("import_pack", kwargs={"migration_id": migration.id}))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    parts = [n for n in names if n.startswith("5_order/")]
    assert parts == [f"5_order/{p['file']}" for p in job.import_parts]
    assert {"MANIFEST.txt", "manifest.json"} <= set(names)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["import_order"][:2] == ["account", "contact"]
    assert [f["file"] for f in manifest["files"]] == [p["file"] for p in job.import_parts]
    assert "Import from Excel" in archive.read("MANIFEST.txt").decode()
    whole = _rows_of_workbook(job.import_file.read())
    joined = [whole[0]]
    for name in parts:
        rows = _rows_of_workbook(archive.read(name))
        assert rows[0] == whole[0]
        joined += rows[1:]
    assert joined == whole  # the parts together are the unsplit import file


def test_it_sends_back_to_step_8_when_no_pack_exists(client_for, migration):
    response = client_for("viewer").get(reverse("import_pack", kwargs={"migration_id": migration.id}))
    assert response.status_code == 302


def test_it_refuses_a_reexport_lacking_dual_write_columns(migration, consultant, tmp_path):
    step2 = step2_export(tmp_path / "order.csv", 5)
    upload_inspected(migration, consultant, str(step2), table="order")
    upload = upload_inspected(migration, consultant, str(step2), table="order", kind=UploadKind.REEXPORT)
    assert upload.state == UploadState.PROBLEMS
    assert "Company, Sales Order Number, Invoice Customer" in upload.state_message
    job = run(jobs.job_start(migration=migration, table="order", actor=consultant))
    assert job.state == JobState.FAILED
    assert "add them to the table's view in Sales" in job.message
    assert "'Order Type'" in job.message


# --- verification -------------------------------------------------------------------


def post_import_export(job: TransformJob, path: Path, plant) -> Path:
    """What Sales exports after the import: the import file's GUID and targets, as CSV."""
    rows = _rows_of_workbook(job.import_file.read())
    header = list(rows[0])
    keep = [0, header.index("Ship To Country/Region"), *range(header.index("Company"), len(header))]
    out = [[str(r[i]) if r[i] is not None else "" for i in keep] for r in rows[1:]]
    out = plant(out)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([[header[i] for i in keep], *out])
    return path


def verify(migration, actor, export: Path) -> ImportVerification:
    upload = upload_inspected(migration, actor, str(export), table="order", kind=UploadKind.VERIFICATION)
    check = ImportVerification.objects.get(upload=upload)
    imports.verification_run(check_id=check.id)
    check.refresh_from_db()
    return check


def _plant(rows: list[list[str]]) -> list[list[str]]:
    rows[3][2] = "DEMF"  # Company differs
    rows[10][7] = "Service-Maintenance Based"  # Order Type differs
    del rows[20]  # missing: not imported
    rows.append(["99999999-0000-0000-0000-000000000001", "", "USMF", "X", "Y", "", "en-us", "Item based"])
    return rows


def test_it_finds_exactly_the_planted_differences(migration, consultant, order_route, tmp_path):
    job = import_job(migration, consultant)
    check = verify(migration, consultant, post_import_export(job, tmp_path / "after.csv", _plant))
    assert check.state == UploadState.PROBLEMS, check.message
    assert check.result["counts"] == {"match": 2997, "differs": 2, "missing": 1, "unexpected": 1}
    assert check.result["by_company"]["USMF"]["differs"] == 2
    differs = [r for r in check.result["records"] if r["status"] == "differs"]
    assert [(r["row"], r["differences"][0]["column"]) for r in differs] == [
        (4, "Company"),
        (11, "Order Type"),
    ]
    assert check.result["issues_rows"] == 3  # the records to import again
    again = _rows_of_workbook(check.issues_file.read())
    assert [r[0] for r in again[1:]] == [f"00000000-0000-0000-0000-{n:012d}" for n in (3, 10, 20)]
    assert not ChecklistItem.objects.get(migration=migration, key="init-order").done
    # The evidence pack's "imported and verified" stage counts the records that matched.
    assert verified_counts(migration) == {("order", "USMF"): 2997}


def test_it_ticks_the_table_when_verification_matches(
    client_for, migration, consultant, order_route, tmp_path
):
    job = import_job(migration, consultant)
    check = verify(migration, consultant, post_import_export(job, tmp_path / "after.csv", lambda rows: rows))
    assert check.matches and not check.issues_file
    check.upload.refresh_from_db()  # no longer "comparing them with the import file"
    assert check.upload.state_message == (
        f"Compared with job #{job.id}'s import file (verification #{check.id}): every record matches."
    )
    item = ChecklistItem.objects.get(migration=migration, key="init-order")
    assert item.done and item.done_by == consultant
    assert Activity.objects.filter(migration=migration, verb="verified").exists()
    page = client_for("viewer").get(step_url(migration, "initialize")).content.decode()
    assert "Verified" in page
    import_job(migration, consultant)  # a new import file: an export of the old one proves nothing
    item.refresh_from_db()
    assert not item.done


def test_it_waits_for_an_import_file_before_verifying(migration, consultant, tmp_path):
    step2 = step2_export(tmp_path / "order.csv", 5)
    upload_inspected(migration, consultant, str(step2), table="order")
    export = reexport_workbook(tmp_path / "after.xlsx", 5)
    upload = upload_inspected(migration, consultant, str(export), table="order", kind=UploadKind.VERIFICATION)
    assert upload.state == UploadState.PROBLEMS and "No import file" in upload.state_message
    assert not ImportVerification.objects.exists()


# --- the checklist rows and the pages ----------------------------------------------------


def _step8_rows(migration, changes: dict) -> list[dict]:
    rows = []
    for item in migration.items.filter(step=8).order_by("position", "id"):
        row = {k: v for k, v in item.details.items() if k in ("ticked_by_hand", "reason", "imported")}
        rows.append({**row, **changes.get(item.key, {})})
    return rows


def test_it_lets_only_a_manager_tick_a_table_by_hand_with_a_reason(client_for, migration):
    url = step_url(migration, "initialize")
    by_hand = {"init-order": {"ticked_by_hand": True, "reason": "Imported by the customer's admin"}}
    client_for("consultant").post(url, step_data(migration, "initialize", _step8_rows(migration, by_hand)))
    assert not ChecklistItem.objects.get(migration=migration, key="init-order").done
    no_reason = {"init-order": {"ticked_by_hand": True, "reason": ""}}
    response = client_for("manager").post(
        url, step_data(migration, "initialize", _step8_rows(migration, no_reason))
    )
    assert "Say why this table counts as imported" in response.content.decode()
    client_for("manager").post(url, step_data(migration, "initialize", _step8_rows(migration, by_hand)))
    item = ChecklistItem.objects.get(migration=migration, key="init-order")
    assert item.done
    log = Activity.objects.get(migration=migration, verb="verified by hand")
    assert "Imported by the customer's admin" in log.description


def test_it_warns_at_step_9_while_a_table_is_unverified(client_for, migration):
    page = client_for("viewer").get(step_url(migration, "enable-maps")).content.decode()
    assert 'id="unverified-imports"' in page and "Order initialized and imported" in page
    migration.items.filter(key__startswith="init-").update(done=True)
    page = client_for("viewer").get(step_url(migration, "enable-maps")).content.decode()
    assert 'id="unverified-imports"' not in page


def test_it_lists_the_columns_to_add_to_each_view(client_for, migration):
    page = client_for("viewer").get(step_url(migration, "initialize")).content.decode()
    assert page.index("The import route") < page.index("Initialization settings")
    for column in ("Party Number", "Account Number/Contact Person ID", "Sales Order Number", "Order Type"):
        assert f"<li>{column}</li>" in page


def test_it_shows_the_reexport_s_age_and_warns_when_it_is_old(
    settings, client_for, migration, consultant, tmp_path
):
    reexport = reexport_workbook(tmp_path / "order.xlsx", 3)  # Modified On 2024-01-02 03:04
    upload_inspected(migration, consultant, str(reexport), table="order", kind=UploadKind.REEXPORT)
    page = client_for("viewer").get(step_url(migration, "initialize")).content.decode()
    assert "Re-export taken 2024-01-02 03:04 UTC (newest Modified On): older than 24 hours" in page
    since = timezone.now() - datetime(2024, 1, 1, tzinfo=UTC)
    settings.P2C_REEXPORT_MAX_AGE_HOURS = int(since / timedelta(hours=1)) + 48
    page = client_for("viewer").get(step_url(migration, "initialize")).content.decode()
    assert "Re-export taken 2024-01-02 03:04 UTC (newest Modified On)." in page


def test_a_rerun_supersedes_the_verification_and_names_its_new_file_differently(
    client_for, migration, consultant, order_route, tmp_path
):
    first = import_job(migration, consultant)
    verify(migration, consultant, post_import_export(first, tmp_path / "after.csv", lambda rows: rows))

    again = import_job(migration, consultant)

    assert again.import_file.name.rsplit("/", 1)[-1] != first.import_file.name.rsplit("/", 1)[-1]
    page = client_for("viewer").get(step_url(migration, "initialize")).content.decode()
    row = page[page.index('data-verify-table="order"') :][:1500]
    assert ">Superseded</span>" in row and ">Verified</span>" not in row
    assert f"checked job #{first.id}'s import file; job #{again.id} made a new one" in row
    assert "Import the new file and verify it again" in row
    assert " match, " not in row  # the old file's counts are not this file's
    assert Activity.objects.filter(
        migration=migration, description__contains=f"superseded: job #{again.id} made a new import file"
    ).exists()
