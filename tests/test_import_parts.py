"""The import route with parts on both sides: a step-2 export in 3 parts, a re-export in 2."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from migration.models import ChecklistItem, ImportVerification, UploadKind
from migration.services import imports

from .engine.helpers import assert_only_targets_changed, reexport_parts, step2_parts
from .helpers import step_url, upload_inspected
from .helpers_sync import after_import, import_job, stored_bytes, workbook_rows

# On the folder storage and on Blob storage (Azurite): import files, parts, packs, verifications.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_storage")]

REEXPORT_CUTS = [list(range(0, 1500)), list(range(1500, 3000))]


@pytest.fixture
def order_in_parts(settings, file_storage, migration, consultant, tmp_path):
    """Uploaded and inspected: the step-2 order export in 3 parts and its re-export in 2."""
    settings.P2C_IMPORT_PART_MB = 0.05
    for path in step2_parts(tmp_path, [range(0, 1000), range(1000, 2000), range(2000, 3000)]):
        upload_inspected(migration, consultant, str(path), table="order")
    reexports = reexport_parts(tmp_path, REEXPORT_CUTS)
    for path in reexports:
        upload_inspected(migration, consultant, str(path), table="order", kind=UploadKind.REEXPORT)
    return reexports


def test_it_fills_every_reexport_part_into_import_files_holding_all_its_rows(
    migration, consultant, order_in_parts, tmp_path
):
    job = import_job(migration, consultant)
    assert job.summary["merge"] == {
        "step2_rows": 3000, "reexport_rows": 3000, "matched": 3000, "only_in_reexport": 0, "only_in_step2": 0,
    }  # fmt: skip
    # One import file per re-export part, each the re-export's own workbook with only targets filled.
    wholes = job.summary["import_files"]
    assert len(wholes) == 2
    for n, (name, reexport) in enumerate(zip(wholes, order_in_parts, strict=True)):
        filled = tmp_path / f"filled{n}.xlsx"
        filled.write_bytes(stored_bytes(name))
        assert_only_targets_changed(reexport, filled, "KLMNOP")
    # Each cut to the wizard's limit; the files to import, in order, hold every re-export row once.
    parts = job.import_parts
    assert len(parts) > 2 and [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    assert all(p["bytes"] <= 0.05 * 2**20 for p in parts)
    assert [p["reexport"] for p in parts] == sorted(p["reexport"] for p in parts)
    rows = [r for p in parts for r in workbook_rows(stored_bytes(p["name"]))[1:]]
    reexport_rows = [r for path in order_in_parts for r in workbook_rows(path.read_bytes())[1:]]
    assert [r[:10] for r in rows] == [r[:10] for r in reexport_rows]
    assert [r[12] for r in rows] == [f"S2 Customer {i}" for i in range(3000)]  # from each record's part
    assert sum(p["rows"] for p in parts) == 3000
    for p in parts:
        assert hashlib.sha256(stored_bytes(p["name"])).hexdigest() == p["sha256"]
    # One step-8 row per file to import, in order.
    items = ChecklistItem.objects.filter(migration=migration, key__startswith="import-order-").order_by(
        "position"
    )
    assert [i.details["file"] for i in items] == [p["file"] for p in parts]
    assert items[0].title.endswith(f"(part 1 of {len(parts)}) imported")


def test_it_packs_every_import_file_in_order_with_a_manifest(
    client_for, migration, consultant, order_in_parts
):
    job = import_job(migration, consultant)
    response = client_for("viewer").get(reverse("import_pack", kwargs={"migration_id": migration.id}))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    files = [n for n in archive.namelist() if n.startswith("5_order/")]
    assert files == [f"5_order/{p['file']}" for p in job.import_parts]
    manifest = json.loads(archive.read("manifest.json"))["files"]
    assert [(f["file"], f["part"], f["rows"], f["sha256"]) for f in manifest] == [
        (p["file"], p["part"], p["rows"], p["sha256"]) for p in job.import_parts
    ]
    assert all(
        hashlib.sha256(archive.read(n)).hexdigest() == f["sha256"]
        for n, f in zip(files, manifest, strict=True)
    )
    assert f"(part 1 of {len(files)})" in archive.read("MANIFEST.txt").decode()


def verify(migration, actor, paths: list[Path]) -> ImportVerification:
    for path in paths:
        upload_inspected(migration, actor, str(path), table="order", kind=UploadKind.VERIFICATION)
    checks = list(ImportVerification.objects.order_by("id"))  # after each part, with the parts so far
    assert [len(c.parts) for c in checks] == list(range(1, len(paths) + 1))
    for check in checks:
        imports.verification_run(check_id=check.id)
    first, *_, check = (c for c in ImportVerification.objects.order_by("id"))
    assert "Superseded" in first.message  # the first part alone is never the verdict
    return check


def test_it_verifies_two_post_import_parts_against_all_import_files(
    client_for, migration, consultant, order_in_parts, tmp_path
):
    job = import_job(migration, consultant)
    check = verify(migration, consultant, after_import(job, tmp_path, 2200))
    assert check.matches, check.message
    assert check.result["counts"] == {"match": 3000, "differs": 0, "missing": 0, "unexpected": 0}
    assert ChecklistItem.objects.get(migration=migration, key="init-order").done
    page = client_for("consultant").get(step_url(migration, "initialize")).content.decode()
    assert "Verified" in page
    # The re-export and verification slots list their parts, each to replace or remove.
    for slot in ("Order re-export", "Order verification export"):
        assert f"Add a part to {slot}" in page and f"Replace part 2 of {slot}" in page


def test_it_names_the_import_file_of_each_record_to_import_again(
    migration, consultant, order_in_parts, tmp_path
):
    job = import_job(migration, consultant)

    def plant(rows):
        rows[10][2] = "DEMF"  # in the first import file, row 11
        rows[1600][2] = "DEMF"  # in the second, its row 101
        return rows

    check = verify(migration, consultant, after_import(job, tmp_path, 1000, plant))
    assert check.result["counts"]["differs"] == 2 and not check.matches
    wholes = [Path(n).name for n in job.summary["import_files"]]
    differs = [(r["file"], r["row"]) for r in check.result["records"]]
    assert differs == [(wholes[0], 11), (wholes[1], 101)]
    again = zipfile.ZipFile(io.BytesIO(check.issues_file.read()))
    assert len(again.namelist()) == 2  # the rows to import again, from each import file
    assert [len(workbook_rows(again.read(n))) - 1 for n in again.namelist()] == [1, 1]


def test_it_names_every_filled_reexport_part_on_the_job_page(
    client_for, migration, consultant, order_in_parts
):
    job = import_job(migration, consultant)
    url = reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    page = client_for("viewer").get(url).content.decode()
    assert "re-export part 1: " in page and "re-export part 2: " in page
    for path in order_in_parts:
        assert path.name in page
    assert f"from {order_in_parts[0].name}" in page


@pytest.fixture
def order_reexported_in_part(settings, file_storage, migration, consultant, tmp_path):
    """Step 2: 3,000 orders in 3 parts; the re-export, in 2 parts, holds 2,800 of them."""
    for path in step2_parts(tmp_path, [range(0, 1000), range(1000, 2000), range(2000, 3000)]):
        upload_inspected(migration, consultant, str(path), table="order")
    for path in reexport_parts(tmp_path, [list(range(0, 1400)), list(range(1500, 2900))]):
        upload_inspected(migration, consultant, str(path), table="order", kind=UploadKind.REEXPORT)


@pytest.mark.usefixtures("order_reexported_in_part")
def test_the_evidence_pack_counts_step_2s_rows_and_lists_every_input_part(client_for, migration, consultant):
    from migration.pack.data import pack_get

    job = import_job(migration, consultant)
    pack = pack_get(migration, user=consultant)
    [order] = [r for r in pack.stages if r.table == "order"]
    assert order.exported == 3000  # step 2's three parts, not the re-export's 2,800
    labels = [i.label for i in pack.inputs[job.id]]
    assert [label.split(":")[0] for label in labels] == [
        "step-2 export part 1", "step-2 export part 2", "step-2 export part 3", "re-export part 1",
        "re-export part 2",
    ]  # fmt: skip

    url = reverse("job_detail", kwargs={"migration_id": migration.id, "job_id": job.id})
    page = client_for("viewer").get(url).content.decode()
    assert all(label in page for label in labels)
    pack_page = client_for("viewer").get(reverse("evidence_pack", args=[migration.id])).content.decode()
    assert all(label in pack_page for label in labels)
