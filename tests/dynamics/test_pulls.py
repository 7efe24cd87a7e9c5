"""A table pulled from Sales is stored like an upload and inspected as one; a pull interrupted
mid-read (a worker restarting) goes on from its last page: nothing read twice, nothing lost."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from migration.connections.pulls import pull_file, pull_run, pull_start
from migration.models import ExportUpload, Pull, PullState
from migration.services.migrations import LegalEntityData, migration_create
from migration.services.uploads import upload_create, upload_inspect

from ..helpers import thread_worker, wait_for

pytestmark = pytest.mark.django_db


class WorkerStopped(BaseException):
    """As a worker killed mid-task: nothing after it runs."""


def stop_after(number):
    def on_page(page):
        if page.number == number:
            raise WorkerStopped

    return on_page


def test_an_interrupted_pull_goes_on_from_its_last_page_and_is_stored_as_an_upload(
    connected, manager, sales, tmp_path
):
    connection, _ = connected
    pull = pull_start(connection=connection, table="order", actor=manager)
    with pytest.raises(WorkerStopped):
        pull_run(pull_id=pull.id, page_size=7, on_page=stop_after(3))
    pull.refresh_from_db()
    assert (pull.state, pull.pages, pull.rows) == (PullState.RUNNING, 3, 21)
    with pull_file(pull).open("ab") as half_written:  # the worker died writing page 4
        half_written.write(b"8de315cb-07ea,ORD-0")
    pull_run(pull_id=pull.id, page_size=7)

    pull.refresh_from_db()
    assert pull.state == PullState.DONE and pull.rows == 120
    skiptokens = [r.query.get("$skiptoken", "0") for r in sales.received if r.path.endswith("/salesorders")]
    assert len(skiptokens) == len(set(skiptokens)) == 18  # each page read once
    # The stored file is the one a single uninterrupted read writes.
    call_command(
        "p2c_dataverse", "read", "order", str(tmp_path / "whole.csv"), "--url", sales.url, "--page-size", "7"
    )
    assert pull.upload.file.read() == (tmp_path / "whole.csv").read_bytes()
    assert not pull_file(pull).exists()


def test_a_pulled_table_is_inspected_as_its_uploaded_export(connected, manager):
    # The maker-portal export of the same records, uploaded to a twin migration: the same rows,
    # the same findings (the pull reads the engine's columns only, so the headers differ).
    connection, export = connected
    pull = pull_start(connection=connection, table="order", actor=manager)
    pull_run(pull_id=pull.id)
    pulled = Pull.objects.get().upload
    twin = migration_create(
        creator=manager, name="Twin", customer="Contoso", legal_entities=[LegalEntityData("USMF", "US")]
    )
    uploaded = upload_create(
        migration=twin, table="order", kind="export", actor=manager,
        upload=SimpleUploadedFile("order.csv", export.read_bytes()),
    )  # fmt: skip
    for upload in (pulled, uploaded):
        upload_inspect(upload_id=upload.id)
    pulled, uploaded = (ExportUpload.objects.get(pk=u.pk) for u in (pulled, uploaded))
    assert pulled.state == uploaded.state == "ready"
    assert (
        pulled.state_message
        == uploaded.state_message
        == "120 rows; 0 row error(s) and 5 warning(s) to review at step 8."
    )
    same = ("detected_table", "issue_counts", "missing_required", "rows", "targets_missing", "warning")
    assert {k: pulled.inspection[k] for k in same} == {k: uploaded.inspection[k] for k in same}
    assert pulled.inspection["issue_counts"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_consultant_pulls_a_table_through_a_real_worker(connected, client_for, migration):
    client = client_for("consultant")
    response = client.post(f"/migrations/{migration.id}/connections/pulls/", {"table": "order"}, follow=True)
    assert "Pulling order" in response.text
    with thread_worker():
        wait_for(lambda: Pull.objects.get().state == PullState.DONE, what="the pull")
        upload = Pull.objects.get().upload
        wait_for(lambda: ExportUpload.objects.get(pk=upload.pk).state == "ready", what="its inspection")
    page = client.get(f"/migrations/{migration.id}/connections/").text
    assert "Stored as an upload" in page and "order-pulled.csv v1" in page
