"""What a page shows is one moment of the database: the page is drawn from one snapshot, and a
worker commits a change of state together with what it causes (checklist rows and ticks)."""

import re
import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from migration import runbook, selectors
from migration.models import ChecklistItem, ExportUpload, JobState, Note, TransformJob, UploadKind
from migration.services import job_results, job_worker, jobs, uploads

from .helpers import upload_inspected

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Order verified: 285 match."


def _on_another_connection(work):
    """work() on a connection of its own, as a worker or another page would run it; its result."""
    done = []

    def run():
        try:
            done.append(work())
        finally:
            connection.close()

    other = threading.Thread(target=run)
    other.start()
    other.join()
    return done[0]


def _commit_in_another_connection(item: ChecklistItem, author) -> None:
    """What a worker does: tick a row and say why, in one commit."""

    def commit():
        with transaction.atomic():
            ChecklistItem.objects.filter(id=item.id).update(done=True, done_at=timezone.now())
            Note.objects.create(migration=item.migration, step=item.step, author=author, text=NOTE)

    _on_another_connection(commit)


def _row_done(page: str, item: ChecklistItem) -> bool:
    row = re.search(rf'<fieldset[^>]*id="item-{item.key}".*?</fieldset>', page, re.S)
    assert row, f"the page has no row for {item.key}"
    return "badge state-done" in row.group(0)


def test_a_commit_landing_while_a_step_page_is_drawn_shows_on_the_next_page_whole(
    client_for, migration, consultant, monkeypatch
):
    # Between the page's read of its checklist and its later reads, a worker ticks a row and adds
    # a note in one commit. Drawn from two moments, the page would show the note beside a row not
    # done, and the live redraw (which compares states) would never correct the row.
    item = migration.items.filter(step=1).order_by("position").first()
    url = reverse("runbook", kwargs={"migration_id": migration.id, "step": runbook.STEPS_BY_NUMBER[1].slug})
    read_checklist = selectors.step_items

    def checklist_then_a_commit(m, step):
        items = read_checklist(m, step)
        _commit_in_another_connection(item, consultant)
        return items

    monkeypatch.setattr(selectors, "step_items", checklist_then_a_commit)
    client = client_for("consultant")
    drawn_meanwhile = client.get(url).content.decode()
    assert not _row_done(drawn_meanwhile, item)
    assert NOTE not in drawn_meanwhile  # the same moment as its checklist: before the commit

    monkeypatch.setattr(selectors, "step_items", read_checklist)
    drawn_after = client.get(url).content.decode()
    assert _row_done(drawn_after, item) and NOTE in drawn_after


def test_a_job_s_success_and_its_import_file_rows_are_one_commit(
    migration,
    consultant,
    order_route,
    monkeypatch,
):
    record_parts = job_results.import_parts_record
    state_meanwhile = []

    def record_and_look(*, job):
        state = _on_another_connection(lambda: TransformJob.objects.get(id=job.id).state)
        state_meanwhile.append(state)
        return record_parts(job=job)

    monkeypatch.setattr(job_results, "import_parts_record", record_and_look)
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    # While its import files' rows were being written, nobody could see the job succeeded yet.
    assert state_meanwhile == [JobState.RUNNING]
    assert migration.items.filter(key__startswith="import-order-").exists()


def test_an_export_s_inspection_and_the_step_2_tick_are_one_commit(migration, consultant, monkeypatch):
    record = uploads._record_export
    state_meanwhile = []

    def record_and_look(upload, inspection):
        state_meanwhile.append(_on_another_connection(lambda: ExportUpload.objects.get(id=upload.id).state))
        return record(upload, inspection)

    monkeypatch.setattr(uploads, "_record_export", record_and_look)
    upload = upload_inspected(migration, consultant, "order.csv")
    assert upload.kind == UploadKind.EXPORT and state_meanwhile == ["inspecting"]
    assert migration.items.get(key="export-order").done
