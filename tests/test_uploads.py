"""Uploads: kept as uploaded, versioned, checked by content, inspected, cross-checked; members only."""

import hashlib
import io
import os
import time
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from migration import gate, runbook
from migration.models import ExportUpload, UploadState
from migration.services import cross_check, uploads

from .engine.helpers import minimal_workbook, with_dtd
from .helpers import SAMPLES, UPLOAD_POINTS, post_to, upload_inspected

pytestmark = pytest.mark.django_db


CSV = "(Do Not Modify) Account,Account Name,Account Number\r\nabc,Contoso,C-1\r\n".encode("utf-8-sig")


def upload_url(migration, table="account", kind="export"):
    return reverse("upload_create", kwargs={"migration_id": migration.id, "kind": kind, "table": table})


def post_file(client, migration, name, content, table="account", **extra):
    return client.post(upload_url(migration, table), {"file": SimpleUploadedFile(name, content)}, **extra)


def test_it_keeps_the_upload_byte_for_byte_with_its_hash(client_for, migration, consultant):
    response = post_file(client_for("consultant"), migration, "account.csv", CSV)
    assert response.status_code == 302
    upload = ExportUpload.objects.get()
    assert upload.file.read() == CSV
    assert upload.sha256 == hashlib.sha256(CSV).hexdigest()
    assert (upload.size, upload.version, upload.uploaded_by) == (len(CSV), 1, consultant)
    assert upload.state == "queued"


def test_it_adds_a_version_and_keeps_the_earlier_one(client_for, migration):
    client = client_for("consultant")
    post_file(client, migration, "account.csv", CSV)
    post_file(client, migration, "account.csv", CSV + b"def,Fabrikam,C-2\r\n")
    first, second = ExportUpload.objects.order_by("version")
    assert (first.version, second.version) == (1, 2)
    assert first.file.name != second.file.name
    download = client.get(
        reverse("upload_download", kwargs={"migration_id": migration.id, "upload_id": first.id})
    )
    assert b"".join(download.streaming_content) == CSV


def test_it_keeps_an_xlsx_export_as_uploaded(client_for, migration):
    content = (SAMPLES / "order.xlsx").read_bytes()
    post_file(client_for("consultant"), migration, "order.xlsx", content, table="order")
    assert ExportUpload.objects.get(table="order").file.read() == content


def test_it_answers_json_to_the_upload_script(client_for, migration):
    response = post_file(
        client_for("consultant"), migration, "account.csv", CSV, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    assert response.json()["state"] == "queued" and response.json()["version"] == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("account.txt", CSV, "is not a .csv or .xlsx file"),
        ("account.csv", b"", "is empty"),
        ("account.csv", b"MZ\x90\x00\x03\x00\x00\x00", "holds a binary file"),
        ("account.csv", b"abc\x00def\x00" * 10, "is not a text file"),
        ("account.xlsx", CSV, "is named .xlsx but is not an Excel workbook"),
        ("account.xlsx", (SAMPLES / "order.xlsx").read_bytes()[:5000], "not a complete Excel workbook"),
    ],
)
def test_it_refuses_what_cannot_be_an_export(client_for, migration, name, content, message):
    response = post_file(client_for("consultant"), migration, name, content, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not ExportUpload.objects.exists()


def test_it_refuses_a_zip_that_is_not_a_workbook(client_for, migration):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    response = post_file(client_for("consultant"), migration, "account.xlsx", buffer.getvalue(), follow=True)
    assert "is a zip file but not an Excel workbook" in response.content.decode()


def test_it_refuses_files_over_the_size_limit(client_for, migration, settings, media_root):
    settings.P2C_MAX_UPLOAD_MB = 1
    big = CSV + b"x,y,z\r\n" * 200_000
    response = post_file(
        client_for("consultant"), migration, "account.csv", big, HTTP_ACCEPT="application/json"
    )
    assert "account.csv is larger than the 1 MB limit" in response.json()["error"]
    assert not ExportUpload.objects.exists()
    assert not any(media_root.rglob("*"))  # stopped while it arrived: nothing kept


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (",".join(f"c{i}" for i in range(16_385)), "has 16,385 columns, more than Excel's 16,384"),
        ("Account Name," + "x" * 1001, "header is 1,001 characters long"),
        ("a," * 700_000, "header row is longer than 1 MB"),
    ],
)
def test_it_refuses_hostile_headers_before_storing_anything(
    client_for, migration, media_root, header, message
):
    content = (header + "\r\nrow\r\n").encode()
    response = post_file(
        client_for("consultant"), migration, "account.csv", content, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and message in response.json()["error"]
    assert not ExportUpload.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_it_shows_a_capped_preview_of_a_wide_file(client_for, migration, consultant, tmp_path):
    headers = ["(Do Not Modify) Account", "Account Name", "Account Number"] + [
        f"Extra {i}" for i in range(200)
    ]
    path = tmp_path / "account.csv"
    path.write_text(",".join(headers) + "\r\n" + ",".join(["z" * 900] * len(headers)) + "\r\n", "utf-8")
    upload = upload_inspected(migration, consultant, str(path), table="account")
    url = reverse("upload_detail", kwargs={"migration_id": migration.id, "upload_id": upload.id})
    page = client_for("viewer").get(url).text
    assert "Extra 36" in page and "Extra 37" not in page  # 40 columns
    assert "163 more are not shown" in page
    assert "z" * 100 not in page


def test_it_accepts_utf16_csv(client_for, migration):
    content = "Account Name\tAccount Number\r\nContoso\tC-1\r\n".encode("utf-16")
    assert post_file(client_for("consultant"), migration, "account.csv", content).status_code == 302
    assert ExportUpload.objects.get().file.read() == content


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("outsider", 404), ("anonymous", 302)])
def test_it_lets_only_consultants_and_managers_upload(client_for, migration, role, expected):
    assert post_file(client_for(role), migration, "account.csv", CSV).status_code == expected
    assert not ExportUpload.objects.exists()


@pytest.mark.parametrize(("role", "expected"), [("viewer", 200), ("outsider", 404), ("anonymous", 302)])
def test_it_lets_only_members_download_uploads(client_for, migration, role, expected):
    post_file(client_for("consultant"), migration, "account.csv", CSV)
    upload = ExportUpload.objects.get()
    client_for("anonymous").logout()
    url = reverse("upload_download", kwargs={"migration_id": migration.id, "upload_id": upload.id})
    assert client_for(role).get(url).status_code == expected


def test_it_refuses_an_unknown_slot(client_for, migration):
    url = upload_url(migration, table="opportunity")
    assert client_for("consultant").post(url, {"file": SimpleUploadedFile("a.csv", CSV)}).status_code == 404


def test_it_logs_each_upload(client_for, migration):
    post_file(client_for("consultant"), migration, "account.csv", CSV)
    assert migration.activities.filter(verb="upload", description__contains="account.csv").exists()


def test_it_shows_the_nine_slots_at_step_2(client_for, migration):
    page = client_for("consultant").get(
        reverse("runbook", kwargs={"migration_id": migration.id, "step": "exports"})
    )
    html = page.content.decode()
    assert html.count('class="slot card"') == 9
    assert "No job runs for this table" in html


def test_it_still_checks_the_csrf_token_on_uploads(migration, consultant):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(consultant)
    response = post_file(client, migration, "account.csv", CSV)
    assert response.status_code == 403
    assert not ExportUpload.objects.exists()


def test_it_inspects_an_upload_and_ticks_its_export_row(migration, consultant):
    upload = upload_inspected(migration, consultant, "account.csv")
    assert upload.state == UploadState.READY
    assert upload.inspection["rows"] == 300
    assert "300 rows;" in upload.state_message
    assert upload.inspection["issue_counts"]["missing_account_number"] > 0
    assert len(upload.inspection["preview"]) == 20
    item = migration.items.get(key="export-account")
    assert item.done and item.done_by == consultant and item.details["row_count"] == 300


def test_it_inspects_once_even_when_the_task_is_delivered_twice(migration, consultant):
    upload = upload_inspected(migration, consultant, "order.xlsx")
    ExportUpload.objects.filter(id=upload.id).update(state_message="kept")
    uploads.upload_inspect(upload_id=upload.id)
    upload.refresh_from_db()
    assert upload.state_message == "kept"


def test_it_checks_the_nine_exports_together_once_all_are_in(migration, consultant):
    for table, _ in runbook.EXPORT_TABLES:
        upload_inspected(migration, consultant, f"{table}.csv")
    check = cross_check.cross_check_queue_if_complete(migration=migration)
    uploads.cross_check_run(check_id=check.id)
    check.refresh_from_db()
    assert check.state in (UploadState.READY, UploadState.PROBLEMS)
    assert "account.csv version 1" in check.summary and "/" not in check.result["files"]["account"]
    assert check.result["rows"]
    assert cross_check.cross_check_queue_if_complete(migration=migration) == check  # same inputs: not again
    page = client_for_page(migration, consultant)
    assert "Cross-file check" in page and check.get_state_display() in page


def client_for_page(migration, user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.get(
        reverse("runbook", kwargs={"migration_id": migration.id, "step": "exports"})
    ).content.decode()


def test_it_waits_for_every_slot_before_the_cross_check(migration, consultant):
    upload_inspected(migration, consultant, "account.csv")
    assert cross_check.cross_check_queue_if_complete(migration=migration) is None


@pytest.mark.parametrize(
    ("sheet", "size_hint", "message"),
    [
        (b"<worksheet><sheetData>", 160, "decompression bomb"),
        (
            b'<worksheet><dimension ref="A1:B2000000"/><sheetData></sheetData></worksheet>',
            0,
            "more than Excel",
        ),
    ],
)
def test_it_fails_the_inspection_of_a_workbook_too_big_to_open(
    migration, consultant, tmp_path, sheet, size_hint, message
):

    workbook = minimal_workbook(tmp_path / "order.xlsx", sheet, sheet_size_hint=size_hint)
    upload = upload_inspected(migration, consultant, str(workbook), table="order")
    assert upload.state == UploadState.FAILED
    assert message in upload.state_message
    assert upload.file.size == workbook.stat().st_size  # kept as uploaded all the same


@pytest.mark.parametrize(
    ("kind", "table"),
    [
        ("fno_export", "account"),
        ("sync_errors", "order"),
        ("party_numbers", "order"),
        ("nonsense", "account"),
    ],
)
def test_it_answers_404_for_a_slot_the_upload_page_does_not_have(client_for, migration, kind, table):
    """Step 9's files have their own URL; the customer list has the account slot only."""
    url = upload_url(migration, table=table, kind=kind)
    response = client_for("consultant").post(url, {"file": SimpleUploadedFile("account.csv", CSV)})
    assert response.status_code == 404
    assert not ExportUpload.objects.exists()


def test_it_refuses_a_customer_list_for_another_table_in_the_service_too(migration, consultant):
    with pytest.raises(uploads.UploadError, match="no such upload slot"):
        uploads.upload_create(
            migration=migration,
            table="order",
            kind="party_numbers",
            upload=SimpleUploadedFile("customers.csv", CSV),
            actor=consultant,
        )
    assert not ExportUpload.objects.exists()


@pytest.mark.parametrize("name", ["migration_detail", "activity_log", "init_settings"])
def test_it_answers_404_for_an_id_too_large_for_the_database(client_for, migration, name):
    path = reverse(name, kwargs={"migration_id": 1}).replace("/1/", "/99999999999999999999/")
    assert client_for("consultant").get(path).status_code == 404


def test_it_receives_a_large_upload_into_p2c_tmp_dir_not_the_systems_tmp(client_for, migration, monkeypatch):
    """A web process killed mid-upload leaves its temporary file where a start cleans up."""
    from p2cwizard import settings as configured

    received = []
    real = uploads.upload_create
    monkeypatch.setattr(
        uploads,
        "upload_create",
        lambda **kw: received.append(kw["upload"].temporary_file_path()) or real(**kw),
    )
    big = CSV + b"abc,Contoso,C-1\r\n" * (6 * 1024 * 1024 // 17)  # past the 5 MB held in memory
    assert post_file(client_for("consultant"), migration, "account.csv", big).status_code == 302
    assert Path(received[0]).parent == configured.P2C_TMP_DIR / "uploads"


def test_it_removes_what_a_killed_upload_left_when_a_worker_starts(settings, tmp_path):
    from migration.tasks import clean_dead_attempts

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    left, receiving = tmp_path / "tmpdead.upload.csv", tmp_path / "tmplive.upload.csv"
    for path in (left, receiving):
        path.write_bytes(b"part of an upload")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(left, (two_hours_ago, two_hours_ago))
    clean_dead_attempts()
    assert not left.exists() and receiving.exists()  # another web process may be receiving that one


@pytest.mark.parametrize("point", UPLOAD_POINTS)
def test_it_refuses_a_workbook_with_a_dtd_at_every_upload_point(
    client_for, migration, tmp_path, request, point
):
    """Excel never writes one; defusedxml would raise in the worker, leaving it "Inspecting"."""

    if point == "step-9 F&O export":
        request.getfixturevalue("account_job")  # a reconciliation compares with the job's output
    before = ExportUpload.objects.count()
    hostile = with_dtd(SAMPLES / "account.xlsx", tmp_path / "account.xlsx").read_bytes()
    page = post_to(client_for("consultant"), migration, point, "account.xlsx", hostile).text
    assert "This workbook contains a DTD, which Excel never writes: export it again." in page
    assert ExportUpload.objects.count() == before and not migration.evidence.exists()


def test_it_fails_the_inspection_of_a_stored_workbook_with_a_dtd_at_once(migration, consultant, tmp_path):
    """One stored before this check: its inspection fails with the message, never left waiting."""
    from django.core.files import File

    hostile = with_dtd(SAMPLES / "account.xlsx", tmp_path / "account.xlsx", "xl/worksheets/sheet1.xml")
    upload = ExportUpload(migration=migration, table="account", kind="export", version=1, part=1,
                          original_name="account.xlsx", size=1, uploaded_by=consultant)  # fmt: skip
    upload.file.save("account.xlsx", File(hostile.open("rb")))
    uploads.upload_inspect(upload_id=upload.id)
    upload.refresh_from_db()
    assert upload.state == UploadState.FAILED
    assert "this workbook contains a DTD, which Excel never writes: export it again" in upload.state_message


def test_a_file_in_another_tables_slot_says_what_it_looks_like_and_where_it_belongs(
    client_for, migration, consultant
):
    upload = upload_inspected(migration, consultant, "contact.csv", table="account")
    assert upload.state == UploadState.PROBLEMS
    assert upload.state_message == (
        "This looks like the Contact export, not Account: upload it into the Contact slot, and the Account "
        "export here."
    )
    [reason] = [r for r in gate.step2_gate(migration) if "contact.csv" in r.text]
    assert reason.text.endswith("Remove it from this slot.") and reason.url.endswith("#slot-account")
    page = client_for("consultant").get(reverse("runbook", args=[migration.id, "exports"])).content.decode()
    assert '<a href="#slot-contact">Go to that slot</a>' in page
