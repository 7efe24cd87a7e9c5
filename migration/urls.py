from django.urls import path, register_converter
from django.urls.converters import IntConverter

from .connections import views as connections
from .connections import writeback_views as writeback
from .views import imports, jobs, migrations, pack, steps, sync, uploads
from .wizard import RunbookWizard


class IdConverter(IntConverter):
    """A row id: at most 18 digits, so a longer number is a 404, not a database overflow (a 500)."""

    regex = "[0-9]{1,18}"


register_converter(IdConverter, "id")

runbook_wizard = RunbookWizard.as_view(url_name="runbook", done_step_name="finished")

m = "migrations/<id:migration_id>/"
urlpatterns = [
    # migrations
    path("", migrations.dashboard, name="dashboard"),
    path("migrations/new/", migrations.migration_create, name="migration_create"),
    path(m, migrations.migration_detail, name="migration_detail"),
    path(m + "progress.json", migrations.migration_progress_json, name="migration_progress_json"),
    path(m + "settings/", migrations.migration_settings, name="migration_settings"),
    path(m + "legal-entities/", migrations.legal_entity_add, name="legal_entity_add"),
    path(
        m + "legal-entities/<id:entity_id>/remove/",
        migrations.legal_entity_remove,
        name="legal_entity_remove",
    ),
    path(m + "members/", migrations.members, name="members"),
    path(m + "members/<id:member_id>/", migrations.member_change, name="member_change"),
    path(m + "activity/", migrations.activity_log, name="activity_log"),
    # connections to Sales and F&O (migration/connections)
    path(m + "connections/", connections.connections, name="connections"),
    path(m + "connections/pulls/", connections.pull_create, name="pull_create"),
    path(m + "connections/status.json", connections.connections_status_json, name="connections_status_json"),
    path(m + "connections/check/<slug:step>/", connections.environment_check, name="environment_check"),
    # step 8 without the Import data wizard: write-back through the Web API (issue 24)
    path(m + "writeback/", writeback.writeback_plan, name="writeback_plan"),
    path(m + "writeback/<int:plan_id>/", writeback.writeback_detail, name="writeback_detail"),
    path(m + "writeback/<int:plan_id>/approve/", writeback.writeback_approve, name="writeback_approve"),
    path(m + "writeback/<int:plan_id>/undo/", writeback.writeback_undo, name="writeback_undo"),
    path(m + "writeback/<int:plan_id>/replan/", writeback.writeback_replan, name="writeback_replan"),
    path(m + "writeback/<int:plan_id>/<slug:name>.csv", writeback.writeback_file, name="writeback_file"),
    # steps: the wizard and the actions beside its checklists
    path(m + "steps/", runbook_wizard, name="runbook_start"),
    path(m + "steps/<slug:step>/", runbook_wizard, name="runbook"),
    path(m + "steps/<slug:step>/notes/", steps.note_add, name="note_add"),
    path(m + "steps/<slug:step>/evidence/", steps.evidence_add, name="evidence_add"),
    path(m + "steps/<slug:step>/sign-off/", steps.step_signoff, name="step_signoff"),
    path(m + "steps/<slug:step>/open-early/", steps.step_open_early, name="step_open_early"),
    path(m + "evidence/<id:evidence_id>/", steps.evidence_download, name="evidence_download"),
    path(m + "uninstall/", steps.uninstall_confirm, name="uninstall_confirm"),
    path(m + "duplicate-rules/", steps.duplicate_rule_add, name="duplicate_rule_add"),
    path(m + "initialization/", steps.init_settings, name="init_settings"),
    # uploads
    path(m + "slots/<str:kind>/<str:table>/upload/", uploads.upload_create, name="upload_create"),
    path(m + "uploads/<id:upload_id>/", uploads.upload_detail, name="upload_detail"),
    path(m + "uploads/<id:upload_id>/download/", uploads.upload_download, name="upload_download"),
    path(m + "uploads/remove-old-versions/", uploads.uploads_remove_old, name="uploads_remove_old"),
    path(m + "uploads/<id:upload_id>/remove/", uploads.upload_remove, name="upload_remove"),
    path(
        m + "uploads/<id:upload_id>/confirm-limit/",
        uploads.upload_confirm_limit,
        name="upload_confirm_limit",
    ),
    path(m + "cross-check/acknowledge/", uploads.finding_acknowledge, name="finding_acknowledge"),
    path(m + "cross-check/run/", uploads.cross_check_run, name="cross_check_run"),
    # jobs and the status feed
    path(m + "status.json", jobs.status_json, name="status_json"),
    path(m + "jobs/run-all/", jobs.jobs_start_all, name="jobs_start_all"),
    path(m + "jobs/start/<str:table>/", jobs.job_start, name="job_start"),
    path(m + "jobs/<id:job_id>/", jobs.job_detail, name="job_detail"),
    path(m + "jobs/<id:job_id>/cancel/", jobs.job_cancel, name="job_cancel"),
    path(m + "jobs/<id:job_id>/retry/", jobs.job_retry, name="job_retry"),
    path(m + "jobs/<id:job_id>/<str:what>/", jobs.job_download, name="job_download"),
    path(
        m + "jobs/<id:job_id>/export-part/<id:part>/<str:what>/",
        jobs.job_download,
        name="job_export_part_download",
    ),
    path(m + "results.zip", jobs.results_zip, name="results_zip"),
    path(
        m + "jobs/<id:job_id>/import-part/<id:part>/",
        jobs.job_import_part_download,
        name="job_import_part_download",
    ),
    # the import route
    path(m + "import-pack.zip", imports.import_pack, name="import_pack"),
    path(
        m + "verifications/<id:check_id>/import-again/",
        imports.verification_issues,
        name="verification_issues",
    ),
    # step 9: after initial sync
    path(m + "sync/<str:kind>/<str:table>/upload/", sync.sync_upload, name="sync_upload"),
    path(m + "sync/status.json", sync.sync_status_json, name="sync_status_json"),
    path(m + "sync/<id:check_id>/", sync.sync_check_detail, name="sync_check_detail"),
    path(m + "sync/<id:check_id>/<str:what>/", sync.sync_check_download, name="sync_check_download"),
    # the go-live evidence pack, and copying a migration (rehearsal, then production)
    path(m + "evidence-pack/", pack.evidence_pack, name="evidence_pack"),
    path(m + "evidence-pack.xlsx", pack.evidence_pack_xlsx, name="evidence_pack_xlsx"),
    path(m + "copy/", migrations.migration_copy, name="migration_copy"),
]
