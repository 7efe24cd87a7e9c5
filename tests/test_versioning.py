"""The migration's version (migration/versioning.py): status.json answers 304 from it alone, so every
change a poll shows must move it. These tests drive the real services and the worker's own
writes, and read the change where a browser does: the feed's ETag."""

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from migration.models import JobIssue, Migration, MigrationVersion, TransformJob
from migration.services import checklist, job_worker, jobs, notes, settings, uploads
from migration.versioning import Versioned

from .helpers import AUTH_QUERIES, run, upload_inspected, upload_sample


@pytest.fixture
def poll(client_for, migration):
    """The feed's ETag as a consultant's browser sees it now."""
    client = client_for("consultant")
    url = reverse("status_json", kwargs={"migration_id": migration.id})

    def etag() -> str:
        response = client.get(url)
        assert response.status_code == 200
        return response["ETag"]

    return etag


def test_it_answers_an_unchanged_poll_304_from_the_membership_query_alone(client_for, migration):
    client = client_for("consultant")
    url = reverse("status_json", kwargs={"migration_id": migration.id})
    first = client.get(url)
    with CaptureQueriesContext(connection) as captured:
        again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    assert len(captured) - AUTH_QUERIES <= 1


def test_it_moves_the_etag_when_an_upload_arrives_and_is_inspected(poll, migration, consultant):
    before = poll()
    upload = upload_sample(migration, consultant, "account.csv")
    arrived = poll()
    uploads.upload_inspect(upload_id=upload.id)
    assert len({before, arrived, poll()}) == 3


def test_it_moves_the_etag_with_a_job_its_progress_and_its_end(poll, migration, consultant):
    upload_inspected(migration, consultant, "account.csv")
    before = poll()
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    queued = poll()
    TransformJob.objects.filter(id=job.id).update(state="running")  # as the worker claims it
    claimed = poll()
    job_worker._ProgressWriter(job.id).step("reading", 0.5)  # the worker's progress report
    progressed = poll()
    assert len({before, queued, claimed, progressed}) == 4
    TransformJob.objects.filter(id=job.id).update(state="queued")
    ran = run(job)
    assert ran.state == "succeeded"
    assert poll() != progressed


def test_it_moves_the_etag_when_a_job_is_cancelled(poll, migration, consultant):
    upload_inspected(migration, consultant, "account.csv")
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    before = poll()
    jobs.job_cancel(job=job, actor=consultant)
    assert poll() != before


def test_it_moves_the_etag_with_the_checklist_sign_offs_notes_and_settings(poll, migration, manager):
    seen = [poll()]
    item = migration.items.filter(step=1).first()
    checklist.step_save(
        migration=migration, step=1, actor=manager, rows=[{"item_id": item.id, "ticked": True}]
    )
    seen.append(poll())
    notes.note_add(migration=migration, step=1, author=manager, text="Spoke to the customer.")
    seen.append(poll())
    settings.init_settings_update(
        init_settings=migration.init_settings, actor=manager, values={"customer_group": "30"}
    )
    seen.append(poll())
    migration.items.filter(step=1).update(done=True)
    seen.append(poll())
    checklist.step_sign_off(migration=migration, step=1, actor=manager)
    seen.append(poll())
    assert len(set(seen)) == len(seen)


def test_it_moves_the_etag_when_the_migration_itself_changes(poll, migration):
    before = poll()
    migration.name = "Contoso cutover, again"
    migration.save()
    renamed = poll()
    Migration.objects.filter(pk=migration.pk).update(purpose="rehearsal")  # as migration_copy does
    assert len({before, renamed, poll()}) == 3


def test_it_moves_only_the_changed_migrations_version(migration, other_migration, consultant):
    other = MigrationVersion.objects.get(migration=other_migration).version
    upload_sample(migration, consultant, "account.csv")
    assert MigrationVersion.objects.get(migration=other_migration).version == other


def test_it_gives_every_new_migration_its_version(migration):
    assert MigrationVersion.objects.filter(migration=migration).exists()


def test_it_versions_every_model_that_belongs_to_a_migration():
    # A new model of a migration's rows that is not Versioned would change pages without moving
    # the version: the feed would answer 304 over the change. Job issues are copied by raw SQL
    # and shown only once their job's state moved.
    owned = [
        model
        for model in apps.get_app_config("migration").get_models()
        if model is not Migration  # its own save() moves its version
        and any(
            getattr(field, "related_model", None) is Migration and field.many_to_one
            for field in model._meta.get_fields()
        )
    ]
    assert len(owned) >= 15
    assert [m.__name__ for m in owned if not issubclass(m, Versioned)] == []
    assert not any(f.name == "migration" for f in JobIssue._meta.get_fields())


def test_it_keeps_the_etag_while_nothing_changes(poll):
    assert poll() == poll()
