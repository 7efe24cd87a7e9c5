"""The storage path on the folder storage and on Azure Blob storage (Azurite): one local copy in the
caller's own temporary folder, results replaced without a gap, downloads and the results zip
streamed, evidence and clean-ups, and what a user sees when the storage stops answering."""

import io
import os
import zipfile
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from migration.models import ExportUpload, JobState, TransformJob
from migration.services import jobs, uploads
from migration.storage import local_copy, store_result, stored_delete

from .helpers import SAMPLES, migration_url, post_to, run, upload_inspected, upload_sample

pytestmark = pytest.mark.django_db


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def test_it_replaces_a_result_without_a_moment_when_it_is_missing(file_storage, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes(b"old run\n")
    second.write_bytes(b"new run\n")
    name = "migrations/1/jobs/7/contoso_account_review-copy.csv"
    assert store_result(first, name) == name
    replaced: list[str] = []
    saved = store_result(second, name, replaced=replaced)
    # Until the row points at the new file, a download of the old one still finds it.
    assert saved != name and replaced == [name]
    assert (_read(name), _read(saved)) == (b"old run\n", b"new run\n")
    stored_delete(replaced)
    assert file_storage.names() == [saved]


def test_it_copies_a_stored_file_once_into_the_callers_folder_and_removes_it(file_storage, tmp_path):
    name = default_storage.save(
        default_storage.generate_filename("migrations/1/uploads/export/order/v1/Sales orders.csv"),
        ContentFile(b"a,b\n1,2\n"),
    )
    job_folder = tmp_path / "job-attempt"
    job_folder.mkdir()
    field = ExportUpload._meta.get_field("file")
    from django.db.models.fields.files import FieldFile

    stored = FieldFile(None, field, name)
    with pytest.raises(RuntimeError), local_copy(stored, under=job_folder) as path:
        assert Path(path).read_bytes() == b"a,b\n1,2\n"
        assert path.endswith("Sales_orders.csv")  # the user's name, made safe: reports name it
        if file_storage.kind == "azure":
            assert str(job_folder) in path
        raise RuntimeError("the job failed half-way")
    assert not [p for p in job_folder.rglob("*") if p.is_file()]  # removed on the failing path too


def test_it_streams_a_jobs_results_and_the_results_zip(
    file_storage, client_for, migration, consultant, settings
):
    upload_inspected(migration, consultant, "account.csv")
    job = run(jobs.job_start(migration=migration, table="account", actor=consultant))
    assert job.state == JobState.SUCCEEDED, job.message
    client = client_for("consultant")
    response = client.get(migration_url("job_download", migration, job_id=job.id, what="csv"))
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    assert body == _read(job.output_csv.name) and int(response["Content-Length"]) == len(body)
    response = client.get(migration_url("results_zip", migration))
    assert response.status_code == 200 and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert any(n.endswith("_review-copy.csv") for n in archive.namelist())
    # Nothing was spooled to disk on the way (django-storages' own reader downloads whole files
    # into the upload temp folder first).
    assert not list((settings.P2C_TMP_DIR / "uploads").glob("*AzureStorageFile*"))
    assert job.output_csv.name in file_storage.names()


def test_it_keeps_evidence_and_removes_replaced_upload_versions(
    file_storage, client_for, migration, consultant, django_capture_on_commit_callbacks
):
    client = client_for("consultant")
    assert post_to(client, migration, "evidence").status_code == 200
    assert any("/evidence/" in n for n in file_storage.names())
    first = upload_sample(migration, consultant, "account.csv")
    with open(SAMPLES / "account.csv", "rb") as handle:  # a new version of part 1
        uploads.upload_create(
            migration=migration, table="account", kind="export", upload=File(handle, name="account.csv"),
            actor=consultant, part=1,
        )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone for good
        removed, _ = uploads.uploads_remove_old_versions(migration=migration, actor=consultant)
    assert removed == 1
    assert first.file.name not in file_storage.names()
    assert not ExportUpload.objects.filter(id=first.id).exists()


# --- the storage stops answering --------------------------------------------------------------


@pytest.fixture
def blob_storage(azurite, settings, media_root):
    from .conftest import StoredFiles

    if not azurite.answers():
        azurite.start()
    container = azurite.new_container()
    settings.STORAGES = {**settings.STORAGES, "default": azurite.storage_settings(container)}
    yield StoredFiles("azure", media_root, azurite, container)
    if not azurite.answers():
        azurite.start()


def test_it_says_so_when_the_storage_is_down_during_an_upload_and_keeps_nothing(
    blob_storage, migration, consultant
):
    blob_storage.azurite.stop()
    with pytest.raises(uploads.UploadError, match=r"The file storage did not answer .* nothing was kept"):
        upload_sample(migration, consultant, "account.csv")
    assert not ExportUpload.objects.exists()
    blob_storage.azurite.start()
    assert blob_storage.names() == []  # no half-written blob
    upload = upload_inspected(migration, consultant, "account.csv")  # the retry
    assert upload.version == 1 and blob_storage.names() == [upload.file.name]


def test_it_fails_a_job_in_words_when_the_storage_goes_down_and_the_retry_succeeds(
    blob_storage, migration, consultant
):
    upload_inspected(migration, consultant, "account.csv")
    before = blob_storage.names()
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    blob_storage.azurite.stop()
    from migration.services import job_worker

    with pytest.raises(Exception) as raised:
        job_worker.job_run(job_id=job.id)
    job_worker.job_fail_unexpectedly(job_id=job.id, error=raised.value)  # as the task does
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.message.startswith("The file storage did not answer") and "Retry the job" in job.message
    assert not job.output_csv and not job.report_json  # the row points at nothing half-made
    blob_storage.azurite.start()
    assert blob_storage.names() == before
    retried = run(jobs.job_retry(job=job, actor=consultant))
    assert retried.state == JobState.SUCCEEDED, retried.message
    assert _read(retried.output_csv.name).count(b"\n") > 1
    assert TransformJob.objects.filter(state=JobState.SUCCEEDED).count() == 1


def test_it_records_nothing_when_the_storage_goes_down_while_results_are_stored(
    blob_storage, migration, consultant, monkeypatch
):
    from migration.services import job_results, job_worker

    upload_inspected(migration, consultant, "account.csv")
    real_store = job_results._store_result

    def store_then_lose_the_storage(*args, **kwargs):
        saved = real_store(*args, **kwargs)
        blob_storage.azurite.stop()  # the outage comes right after the first result is written
        return saved

    monkeypatch.setattr(job_results, "_store_result", store_then_lose_the_storage)
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    with pytest.raises(Exception) as raised:
        job_worker.job_run(job_id=job.id)
    job_worker.job_fail_unexpectedly(job_id=job.id, error=raised.value)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.message.startswith("The file storage did not answer")
    assert not any(getattr(job, f) for f in ("output_csv", "report_json", "issue_list", "import_file"))
    monkeypatch.setattr(job_results, "_store_result", real_store)
    blob_storage.azurite.start()
    retried = run(jobs.job_retry(job=job, actor=consultant))
    assert retried.state == JobState.SUCCEEDED, retried.message
    assert retried.output_csv.name in blob_storage.names()


def test_it_says_so_when_the_storage_is_down_as_evidence_is_attached(blob_storage, client_for, migration):
    from migration.models import Evidence

    blob_storage.azurite.stop()
    page = post_to(client_for("consultant"), migration, "evidence").content.decode()
    assert "Evidence not added: The file storage did not answer" in page
    assert not Evidence.objects.exists()
    blob_storage.azurite.start()
    assert blob_storage.names() == []
    page = post_to(client_for("consultant"), migration, "evidence").content.decode()
    assert "Evidence added." in page and Evidence.objects.count() == 1


def test_it_sweeps_local_copies_a_killed_process_left_and_keeps_fresh_ones(settings):
    import os
    import time
    from datetime import timedelta

    from migration.storage import local_copies_clean

    root = settings.P2C_TMP_DIR
    old, fresh, check = root / "copies" / "copy-old", root / "copies" / "copy-fresh", root / "sync7-abc"
    for folder in (old, fresh, check):
        folder.mkdir(parents=True)
        (folder / "Sales_orders.csv").write_bytes(b"a,b\n")
    two_hours_ago = time.time() - 7200
    for folder in (old, check):
        os.utime(folder, (two_hours_ago, two_hours_ago))
    assert local_copies_clean(stale_after=timedelta(hours=1)) == 2
    assert not old.exists() and not check.exists() and fresh.exists()


def test_it_sends_the_zips_first_bytes_before_a_members_whole_blob_is_downloaded(blob_storage, monkeypatch):
    from migration import blob
    from migration.zipstream import zip_stream

    size = 12 * 1024 * 1024
    name = default_storage.save("migrations/1/jobs/1/big_review-copy.csv", ContentFile(os.urandom(size)))
    fetched = []
    real_readinto = blob._BlobStream.readinto

    def counting_readinto(self, buffer):
        n = real_readinto(self, buffer)
        fetched.append(n)
        return n

    monkeypatch.setattr(blob._BlobStream, "readinto", counting_readinto)

    class Stored:
        def open(self, mode="rb"):
            return default_storage.open(name, mode)

    stream = zip_stream([("big.csv", Stored())])
    first = next(stream)
    assert first.startswith(b"PK") and sum(fetched) <= blob.BLOCK  # one block, not 12 MB
    rest = b"".join(stream)
    member = zipfile.ZipFile(io.BytesIO(first + rest)).read("big.csv")
    assert len(member) == size and sum(fetched) == size
