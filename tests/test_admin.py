"""The Django admin: operators see uploads, checks, jobs and issues, and change none of them."""

import pytest
from django.urls import reverse

from migration.services import job_worker, jobs

from .helpers import upload_inspected

pytestmark = pytest.mark.django_db

READ_ONLY = [
    "exportupload",
    "crosscheck",
    "transformjob",
    "jobissue",
    "activity",
    "importverification",
    "synccheck",
]


@pytest.fixture
def job(migration, consultant):
    upload_inspected(migration, consultant, "contact.csv")
    job = jobs.job_start(migration=migration, table="contact", actor=consultant)
    job_worker.job_run(job_id=job.id)
    return job


@pytest.mark.parametrize("model", READ_ONLY)
def test_it_lists_the_rows_to_operators(admin_client, job, model):
    response = admin_client.get(reverse(f"admin:migration_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", READ_ONLY)
def test_it_lets_operators_add_nothing(admin_client, model):
    assert admin_client.get(reverse(f"admin:migration_{model}_add")).status_code == 403


def test_it_shows_a_job_without_a_save_button(admin_client, job):
    page = admin_client.get(reverse("admin:migration_transformjob_change", args=[job.id])).content.decode()
    assert job.table in page
    assert 'name="_save"' not in page


def test_a_user_page_says_how_to_let_someone_create_migrations(admin_client, consultant):
    page = admin_client.get(reverse("admin:auth_user_change", args=[consultant.id])).content.decode()
    assert "To let this person create migrations (and become their project manager), add them to the" in page
    assert "“Project managers” group below" in page


def test_the_dashboard_tells_an_administrator_about_the_project_managers_group(admin_client, client_for):
    hint = "to let a colleague create migrations, add them to the “Project managers” group"
    assert hint in admin_client.get(reverse("dashboard")).content.decode()
    assert hint not in client_for("manager").get(reverse("dashboard")).content.decode()
