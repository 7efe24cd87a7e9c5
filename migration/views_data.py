"""Uploads at step 2, transformation jobs at step 8, their downloads and status feeds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from . import engine, runbook, selectors
from .access import READ, WORK, membership_required
from .models import ExportUpload, JobState, TransformJob, UploadKind
from .services import jobs, uploads
from .services.zipstream import zip_stream
from .upload_limits import too_large_message, with_size_limit

STEP_OF_KIND = {
    UploadKind.EXPORT: runbook.STEPS_BY_NUMBER[runbook.EXPORTS_STEP].slug,
    UploadKind.REEXPORT: runbook.STEPS_BY_NUMBER[runbook.INITIALIZE_STEP].slug,
    UploadKind.PARTY_NUMBERS: runbook.STEPS_BY_NUMBER[runbook.INITIALIZE_STEP].slug,
}


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _upload_json(upload: ExportUpload) -> dict:
    return {
        "id": upload.id,
        "table": upload.table,
        "kind": upload.kind,
        "version": upload.version,
        "name": upload.original_name,
        "size": upload.size,
        "sha256": upload.sha256,
        "state": upload.state,
        "state_label": upload.get_state_display(),
        "message": upload.state_message,
        "row_count": upload.inspection.get("rows"),
        "uploaded_by": upload.uploaded_by.username,
        "uploaded_at": upload.uploaded_at.isoformat(),
    }


@with_size_limit
@require_POST
@login_required
def upload_create(request, migration_id: int, kind: str, table: str):
    membership = membership_required(request, migration_id, WORK)
    if kind not in UploadKind.values or table not in engine.TABLES:
        raise Http404("No such upload slot")
    back = reverse("runbook", kwargs={"migration_id": migration_id, "step": STEP_OF_KIND[kind]})
    file = request.FILES.get("file")
    try:
        if too_large := too_large_message(request):
            raise uploads.UploadError(too_large)
        if file is None:
            raise uploads.UploadError("Choose a file to upload.")
        upload = uploads.upload_create(
            migration=membership.migration, table=table, kind=kind, upload=file, actor=request.user
        )
    except uploads.UploadError as error:
        if _wants_json(request):
            return JsonResponse({"error": str(error)}, status=400)
        messages.error(request, str(error))
        return redirect(back)
    if _wants_json(request):
        return JsonResponse(_upload_json(upload), status=201)
    messages.success(
        request, f"Uploaded {upload.original_name} (version {upload.version}); inspecting it now."
    )
    return redirect(back)


@login_required
def upload_download(request, migration_id: int, upload_id: int):
    membership_required(request, migration_id, READ)
    upload = get_object_or_404(ExportUpload, id=upload_id, migration_id=migration_id)
    return FileResponse(upload.file.open("rb"), as_attachment=True, filename=upload.original_name)


@login_required
def upload_detail(request, migration_id: int, upload_id: int):
    membership = membership_required(request, migration_id, READ)
    upload = get_object_or_404(ExportUpload, id=upload_id, migration_id=migration_id)
    context = {"migration": membership.migration, "membership": membership, "upload": upload}
    return render(request, "migration/upload_detail.html", context)


def _job_json(job: TransformJob) -> dict:
    elapsed = None
    if job.started_at:
        elapsed = int(((job.finished_at or timezone.now()) - job.started_at).total_seconds())
    return {
        "id": job.id,
        "table": job.table,
        "state": job.state,
        "state_label": job.get_state_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "elapsed_seconds": elapsed,
        "message": job.message,
        "cancel_requested": job.cancel_requested,
    }


@login_required
def status_json(request, migration_id: int):
    """What the step 2 and step 8 pages poll: upload slots, the cross-file check, jobs."""
    membership = membership_required(request, migration_id, READ)
    migration = membership.migration
    jobs.jobs_sweep_stale()
    uploads.uploads_requeue_stale()
    latest_jobs = [row.latest for row in selectors.job_rows(migration) if row.latest]
    check = selectors.latest_cross_check(migration)
    return JsonResponse(
        {
            "uploads": [
                _upload_json(u)
                for kind in UploadKind.values
                for u in uploads.latest_uploads(migration, kind).values()
            ],
            "cross_check": {"state": check.state, "summary": check.summary} if check else None,
            "jobs": [_job_json(job) for job in latest_jobs],
        }
    )


def _step8(migration_id: int):
    slug = runbook.STEPS_BY_NUMBER[runbook.INITIALIZE_STEP].slug
    return redirect(reverse("runbook", kwargs={"migration_id": migration_id, "step": slug}) + "#jobs")


@require_POST
@login_required
def job_start(request, migration_id: int, table: str):
    membership = membership_required(request, migration_id, WORK)
    try:
        job = jobs.job_start(migration=membership.migration, table=table, actor=request.user)
        messages.success(request, f"Queued the {job.table} job.")
    except jobs.JobError as error:
        messages.error(request, str(error))
    return _step8(migration_id)


@require_POST
@login_required
def jobs_start_all(request, migration_id: int):
    membership = membership_required(request, migration_id, WORK)
    started, problems = jobs.job_start_all(migration=membership.migration, actor=request.user)
    if started:
        messages.success(request, f"Queued {len(started)} job(s).")
    for problem in problems:
        messages.error(request, problem)
    return _step8(migration_id)


def _job_for(request, migration_id: int, job_id: int, need: str) -> TransformJob:
    membership_required(request, migration_id, need)
    return get_object_or_404(
        TransformJob.objects.select_related("migration"), id=job_id, migration_id=migration_id
    )


@require_POST
@login_required
def job_cancel(request, migration_id: int, job_id: int):
    job = _job_for(request, migration_id, job_id, WORK)
    jobs.job_cancel(job=job, actor=request.user)
    messages.success(request, f"Cancelling the {job.table} job.")
    return _step8(migration_id)


@require_POST
@login_required
def job_retry(request, migration_id: int, job_id: int):
    job = _job_for(request, migration_id, job_id, WORK)
    try:
        retry = jobs.job_retry(job=job, actor=request.user)
        messages.success(request, f"Queued job #{retry.id} with the same inputs and settings.")
    except jobs.JobError as error:
        messages.error(request, str(error))
    return _step8(migration_id)


@login_required
def job_detail(request, migration_id: int, job_id: int):
    membership = membership_required(request, migration_id, READ)
    job = get_object_or_404(TransformJob, id=job_id, migration_id=migration_id)
    issues = job.issues.all()
    severity, code = request.GET.get("severity", ""), request.GET.get("code", "")
    if severity:
        issues = issues.filter(severity=severity)
    if code:
        issues = issues.filter(code=code)
    page = Paginator(issues, 100).get_page(request.GET.get("page"))
    context = {
        "migration": membership.migration,
        "membership": membership,
        "job": job,
        "page": page,
        "severity": severity,
        "code": code,
        "codes": sorted(job.summary.get("issue_counts", {})),
        "counts": sorted(job.summary.get("counts", {}).items()),
    }
    return render(request, "migration/job_detail.html", context)


JOB_FILES = {"csv": "output_csv", "xlsx": "output_xlsx", "report": "report_json", "issues": "issues_file"}


@login_required
def job_download(request, migration_id: int, job_id: int, what: str):
    job = _job_for(request, migration_id, job_id, READ)
    field = getattr(job, JOB_FILES.get(what, ""), None)
    if not field:
        raise Http404("This job has no such file")
    return FileResponse(field.open("rb"), as_attachment=True, filename=field.name.rsplit("/", 1)[-1])


@login_required
def results_zip(request, migration_id: int):
    """Every table's latest successful output, CSV and xlsx, with reports, in one zip."""
    membership = membership_required(request, migration_id, READ)
    migration = membership.migration
    latest = (
        TransformJob.objects.filter(migration=migration, table=table, state=JobState.SUCCEEDED).first()
        for table in jobs.transformable_tables()
    )
    done = [job for job in latest if job]
    if not done:
        messages.error(request, "No job has finished yet: run the jobs first.")
        return _step8(migration_id)
    files = [
        (getattr(job, field).name.rsplit("/", 1)[-1], getattr(job, field))
        for job in done
        for field in JOB_FILES.values()
        if getattr(job, field)
    ]
    name = f"{slugify(migration.name)}_initialized_{timezone.localdate():%Y-%m-%d}.zip"
    response = StreamingHttpResponse(zip_stream(files), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
