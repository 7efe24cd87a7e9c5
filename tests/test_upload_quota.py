"""Storage quota per migration, uploads per user per minute, and removing earlier versions."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from migration import quota
from migration.models import ExportUpload, TransformJob
from migration.services import jobs

from .helpers import POINT_CSV, POINT_ERRORS, UPLOAD_POINTS, post_to, step_9_open, upload_inspected

# Every test on the folder storage and on Blob storage (Azurite).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_storage")]

CSV = POINT_CSV


def post(client, migration, content=CSV, part=None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse(
        "upload_create", kwargs={"migration_id": migration.id, "kind": "export", "table": "account"}
    )
    data = {"file": SimpleUploadedFile("account.csv", content), **({"part": part} if part else {})}
    return client.post(url, data, HTTP_ACCEPT="application/json")


def stored_files(file_storage) -> list[str]:
    """Every stored file's name, on the folder storage or in Blob storage (Azurite)."""
    return file_storage.names()


def test_it_refuses_an_upload_past_the_migrations_quota_and_stores_nothing(
    client_for, migration, settings, file_storage, monkeypatch
):
    settings.P2C_MIGRATION_QUOTA_GB = 1
    monkeypatch.setattr(quota, "GB", len(CSV) * 3 // 2)  # room for one upload
    client = client_for("consultant")
    assert post(client, migration).status_code == 201
    response = post(client, migration)
    assert response.status_code == 400
    assert (
        "would pass it" in response.json()["error"] and "P2C_MIGRATION_QUOTA_GB" in response.json()["error"]
    )
    assert ExportUpload.objects.count() == 1 and len(stored_files(file_storage)) == 1


def test_it_limits_uploads_per_user_per_minute(client_for, migration, settings, file_storage):
    settings.P2C_UPLOADS_PER_MINUTE = 2
    client = client_for("consultant")
    assert [post(client, migration).status_code for _ in range(3)] == [201, 201, 400]
    assert "Wait a minute" in post(client, migration).json()["error"]
    assert ExportUpload.objects.count() == 2 and len(stored_files(file_storage)) == 2
    assert post(client_for("manager"), migration).status_code == 201  # per user


def test_it_shows_the_space_used_on_the_migration_page(client_for, migration, settings):
    settings.P2C_MIGRATION_QUOTA_GB = 20
    post(client_for("consultant"), migration)
    page = client_for("viewer").get(reverse("migration_detail", kwargs={"migration_id": migration.id})).text
    assert f"{len(CSV)}\xa0bytes of 20.0\xa0GB used by uploads" in page
    assert "earlier upload version" not in page  # only project managers remove versions


def test_it_removes_earlier_versions_only_when_a_project_manager_asks(
    client_for, migration, file_storage, django_capture_on_commit_callbacks
):
    for n in range(3):  # the first part, then replaced twice
        post(client_for("consultant"), migration, part=1 if n else None)
    detail = reverse("migration_detail", kwargs={"migration_id": migration.id})
    assert "Remove 2 earlier upload versions" in client_for("manager").get(detail).text
    url = reverse("uploads_remove_old", kwargs={"migration_id": migration.id})
    assert client_for("consultant").post(url).status_code == 403
    assert ExportUpload.objects.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        client_for("manager").post(url)
    assert list(ExportUpload.objects.values_list("version", flat=True)) == [3]
    assert len(stored_files(file_storage)) == 1
    logged = migration.activities.get(description__startswith="Removed 2 earlier upload version(s)")
    assert "account.csv v1" in logged.description and logged.actor.username == "mia-manager"


def test_it_keeps_every_part_in_use_of_an_export_in_parts(client_for, migration, manager):
    from migration.services.uploads import uploads_remove_old_versions

    for _ in range(3):  # three parts of one export (Sales stops at 100,000 rows per file)
        post(client_for("consultant"), migration)
    assert uploads_remove_old_versions(migration=migration, actor=manager) == (0, 0)
    assert ExportUpload.objects.count() == 3


def test_it_keeps_a_version_a_job_ran_on(migration, consultant, manager):
    from migration.services.uploads import uploads_remove_old_versions

    first = upload_inspected(migration, consultant, "order.csv")
    jobs.job_start(migration=migration, table="order", actor=consultant)
    upload_inspected(migration, consultant, "order.csv")
    assert uploads_remove_old_versions(migration=migration, actor=manager) == (0, 0)
    assert TransformJob.objects.get().source == first


# Those that store without a job run first (a reconciliation compares with the job's output).
STORING_POINTS = [point for point in UPLOAD_POINTS if point != "step-9 F&O export"]


def stored_count(migration) -> int:
    return ExportUpload.objects.filter(migration=migration).count() + migration.evidence.count()


@pytest.mark.parametrize("point", UPLOAD_POINTS)
def test_it_holds_every_upload_point_to_the_users_pace(client_for, migration, settings, file_storage, point):
    settings.P2C_UPLOADS_PER_MINUTE = 1
    client = client_for("consultant")
    post(client, migration)  # the one upload of this minute, on step 2
    page = post_to(client, migration, point).text
    assert "You uploaded 1 file(s) in the last minute; 1 more would pass the 1 allowed per minute." in page
    assert stored_count(migration) == 1 and len(stored_files(file_storage)) == 1


@pytest.mark.parametrize("point", UPLOAD_POINTS)
def test_it_holds_every_upload_point_to_the_migrations_quota(
    client_for, migration, settings, file_storage, monkeypatch, point
):
    settings.P2C_MIGRATION_QUOTA_GB = 1
    monkeypatch.setattr(quota, "GB", len(CSV) * 3 // 2)  # room for one upload
    client = client_for("consultant")
    post(client, migration)
    page = post_to(client, migration, point).text
    assert "would pass it" in page and "P2C_MIGRATION_QUOTA_GB" in page
    assert stored_count(migration) == 1 and len(stored_files(file_storage)) == 1


@pytest.mark.parametrize("point", STORING_POINTS)
def test_it_counts_what_every_upload_point_stores(client_for, migration, settings, file_storage, point):
    settings.P2C_UPLOADS_PER_MINUTE = 1
    client = client_for("consultant")
    post_to(client, migration, point)
    assert stored_count(migration) == 1
    assert quota.storage_used(migration) == sum(default_storage.size(n) for n in stored_files(file_storage))
    assert "Wait a minute" in post(client, migration).json()["error"]  # it took the minute's upload


def test_it_wraps_every_view_that_reads_files_in_the_one_rule():
    """A new upload page cannot forget the pace and the quota: whatever reads request.FILES is
    behind `receives_uploads`."""
    import inspect

    from migration.urls import urlpatterns

    readers = {
        p.name for p in urlpatterns if "request.FILES" in inspect.getsource(inspect.unwrap(p.callback))
    }
    assert readers == {"upload_create", "sync_upload", "evidence_add", "connections"}
    assert all(getattr(p.callback, "receives_uploads", False) for p in urlpatterns if p.name in readers)


def test_it_says_files_posted_together_are_too_large_as_a_request(client_for, migration, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.P2C_MAX_UPLOAD_MB = 1
    half = CSV + b"abc,Contoso,C-1\r\n" * (700 * 1024 // 17)  # 0.7 MB each: two pass 1 MB
    url = reverse("sync_upload", kwargs={"migration_id": migration.id, "kind": "triage", "table": "account"})
    files = [SimpleUploadedFile("a.csv", half), SimpleUploadedFile("b.csv", half)]
    page = client_for("consultant").post(url, {"file": files}, follow=True).text
    assert "These files together are larger than the 1 MB limit of one upload" in page
    assert "upload the parts one by one" in page and "a.csv is larger" not in page
    assert not ExportUpload.objects.exists()


def test_it_keeps_every_file_a_step_9_check_was_run_on(client_for, migration, file_storage):
    """Two error triages of the same slot: the first one's log is an earlier version, still its."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    step_9_open(migration)
    url = reverse("sync_upload", kwargs={"migration_id": migration.id, "kind": "triage", "table": "account"})
    for name in ("errors-monday.csv", "errors-tuesday.csv"):
        client_for("consultant").post(url, {"file": SimpleUploadedFile(name, POINT_ERRORS)})
    first = ExportUpload.objects.get(original_name="errors-monday.csv")
    remove = reverse("uploads_remove_old", kwargs={"migration_id": migration.id})
    page = client_for("manager").post(remove, follow=True).text
    assert "No earlier version to remove." in page
    download = reverse("upload_download", kwargs={"migration_id": migration.id, "upload_id": first.id})
    assert b"".join(client_for("manager").get(download).streaming_content) == POINT_ERRORS
