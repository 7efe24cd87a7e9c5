from django.urls import path

from . import views
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
]
