from django.urls import path

from . import views, views_data
from .wizard import RunbookWizard

runbook_wizard = RunbookWizard.as_view(url_name="runbook", done_step_name="finished")

m = "migrations/<int:migration_id>/"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("migrations/new/", views.migration_create, name="migration_create"),
    path(m, views.migration_detail, name="migration_detail"),
    path(m + "progress.json", views.migration_progress_json, name="migration_progress_json"),
    path(m + "settings/", views.migration_settings, name="migration_settings"),
    path(m + "legal-entities/", views.legal_entity_add, name="legal_entity_add"),
    path(m + "legal-entities/<int:entity_id>/remove/", views.legal_entity_remove, name="legal_entity_remove"),
    path(m + "members/", views.members, name="members"),
    path(m + "members/<int:member_id>/", views.member_change, name="member_change"),
    path(m + "activity/", views.activity_log, name="activity_log"),
    path(m + "steps/", runbook_wizard, name="runbook_start"),
    path(m + "steps/<slug:step>/", runbook_wizard, name="runbook"),
    path(m + "steps/<slug:step>/notes/", views.note_add, name="note_add"),
    path(m + "steps/<slug:step>/evidence/", views.evidence_add, name="evidence_add"),
    path(m + "steps/<slug:step>/sign-off/", views.step_signoff, name="step_signoff"),
    path(m + "evidence/<int:evidence_id>/", views.evidence_download, name="evidence_download"),
    path(m + "uninstall/", views.uninstall_confirm, name="uninstall_confirm"),
    path(m + "duplicate-rules/", views.duplicate_rule_add, name="duplicate_rule_add"),
    path(m + "initialization/", views.init_settings, name="init_settings"),
    path(m + "slots/<str:kind>/<str:table>/upload/", views_data.upload_create, name="upload_create"),
    path(m + "uploads/<int:upload_id>/", views_data.upload_detail, name="upload_detail"),
    path(m + "uploads/<int:upload_id>/download/", views_data.upload_download, name="upload_download"),
    path(m + "status.json", views_data.status_json, name="status_json"),
    path(m + "jobs/run-all/", views_data.jobs_start_all, name="jobs_start_all"),
    path(m + "jobs/start/<str:table>/", views_data.job_start, name="job_start"),
    path(m + "jobs/<int:job_id>/", views_data.job_detail, name="job_detail"),
    path(m + "jobs/<int:job_id>/cancel/", views_data.job_cancel, name="job_cancel"),
    path(m + "jobs/<int:job_id>/retry/", views_data.job_retry, name="job_retry"),
    path(m + "jobs/<int:job_id>/<str:what>/", views_data.job_download, name="job_download"),
    path(m + "results.zip", views_data.results_zip, name="results_zip"),
]
