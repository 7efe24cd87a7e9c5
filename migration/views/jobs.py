"""Transformation jobs (step 8): start, cancel, retry, results and downloads, and the status feed."""

import hashlib
import json
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import FileField
from django.db.models.fields.files import FieldFile
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from .. import runbook, selectors
from ..access import READ, WORK, membership_required
from ..models import JobState, TransformJob
from ..run_settings import settings_in_words
from ..services import jobs
from ..zipstream import zip_stream
from .common import back_to_step
from .uploads import upload_json


def _job_json(job: TransformJob, now: datetime) -> dict:
    elapsed = rate = left = None
    if job.started_at:
        seconds = ((job.finished_at or now) - job.started_at).total_seconds()
        elapsed = int(seconds)
        if seconds > 0 and job.rows_done:
            rate = int(job.rows_done / seconds)
        if job.state == JobState.RUNNING and 0.01 <= job.progress < 1:
            left = int(seconds * (1 - job.progress) / job.progress)  # the share to go at the pace so far
    return {
        "id": job.id,
        "table": job.table,
        "state": job.state,
        "state_label": job.get_state_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "progress": job.progress,  # 0 to 1, the whole job's, only ever forward
        "phase": job.phase,
        "rows_per_second": rate,
        "seconds_left": left,
        "elapsed_seconds": elapsed,
        "message": job.message,
        "cancel_requested": job.cancel_requested,
    }


@login_required
def status_json(request: HttpRequest, migration_id: int) -> HttpResponse:
    """What the step 2 and step 8 pages poll: upload slots, the cross-file check, jobs.

    Reads only (the stale sweeps run on Celery beat), in four queries whatever the number of
    uploads and jobs. The ETag is the migration's version (versioning.py), read with the
    membership: a browser asks with If-None-Match and, while nothing changed, is answered 304
    right there, without a body and without another query.
    """
    membership = selectors.status_membership(user=request.user, migration_id=migration_id)
    etag = _feed_etag(membership)
    if etag and etag in request.headers.get("If-None-Match", ""):
        return _feed_response(HttpResponseNotModified(), etag)
    body = _feed_body(membership)
    if not etag:  # a migration without its version row (none should be): the body's hash
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if etag in request.headers.get("If-None-Match", ""):
            return _feed_response(HttpResponseNotModified(), etag)
    return _feed_response(HttpResponse(body, content_type="application/json"), etag)


# Part of the ETag: a change of what the feed says (its fields) must not be answered 304.
FEED_FORMAT = 1


def _feed_etag(membership) -> str:
    if membership.version is None:
        return ""
    return f'"feed{FEED_FORMAT}-{membership.migration_id}-{membership.version}"'


def _feed_response(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"  # always asked again, answered 304 when unchanged
    return response


def _feed_body(membership) -> bytes:
    migration = membership.migration
    uploads = selectors.status_uploads(migration)
    now = timezone.now()
    return json.dumps(
        {
            "uploads": [
                *(upload_json(u) for parts in uploads.parts.values() for u in parts),
                *(upload_json(u) for u in uploads.latest),
            ],
            "cross_check": (
                {
                    "id": membership.check_id,
                    "state": membership.check_state,
                    "summary": membership.check_summary,
                }
                if membership.check_id
                else None
            ),
            "jobs": [_job_json(job, now) for job in selectors.status_jobs(migration)],
            "verifications": [
                {"table": c.table, "state": c.state, "message": c.message}
                for c in selectors.status_verifications(migration)
            ],
        },
        cls=DjangoJSONEncoder,
    ).encode()


def _step8(migration_id: int) -> HttpResponse:
    return back_to_step(migration_id, runbook.INITIALIZE_STEP, "#import-route")


@require_POST
@login_required
def job_start(request: HttpRequest, migration_id: int, table: str) -> HttpResponse:
    membership = membership_required(request, migration_id, WORK)
    try:
        job = jobs.job_start(migration=membership.migration, table=table, actor=request.user)
        messages.success(request, f"Queued the {job.table} job.")
    except jobs.JobError as error:
        messages.error(request, str(error))
    return _step8(migration_id)


@require_POST
@login_required
def jobs_start_all(request: HttpRequest, migration_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, WORK)
    started, problems = jobs.job_start_all(migration=membership.migration, actor=request.user)
    if started:
        messages.success(request, f"Queued {len(started)} job(s).")
    for problem in problems:
        messages.error(request, problem)
    return _step8(migration_id)


def _job_for(request: HttpRequest, migration_id: int, job_id: int, need: str) -> TransformJob:
    membership_required(request, migration_id, need)
    return get_object_or_404(
        TransformJob.objects.select_related("migration"), id=job_id, migration_id=migration_id
    )


@require_POST
@login_required
def job_cancel(request: HttpRequest, migration_id: int, job_id: int) -> HttpResponse:
    job = _job_for(request, migration_id, job_id, WORK)
    jobs.job_cancel(job=job, actor=request.user)
    messages.success(request, f"Cancelling the {job.table} job.")
    return _step8(migration_id)


@require_POST
@login_required
def job_retry(request: HttpRequest, migration_id: int, job_id: int) -> HttpResponse:
    job = _job_for(request, migration_id, job_id, WORK)
    try:
        retry = jobs.job_retry(job=job, actor=request.user)
        messages.success(request, f"Queued job #{retry.id} with the same inputs and settings.")
    except jobs.JobError as error:
        messages.error(request, str(error))
    return _step8(migration_id)


@login_required
def job_detail(request: HttpRequest, migration_id: int, job_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, READ)
    job = get_object_or_404(
        TransformJob.objects.select_related("created_by", "source", "reexport"),
        id=job_id,
        migration_id=migration_id,
    )
    asked = selectors.IssueQuery(
        **{k: request.GET.get(k, "") for k in ("severity", "code", "page", "after", "before")}
    )
    page = selectors.job_issue_page(job, asked)
    severity, code = asked.severity, asked.code
    context = {
        "migration": membership.migration,
        "membership": membership,
        "job": job,
        "page": page,
        "severity": severity,
        "code": code,
        "codes": sorted(job.summary.get("issue_counts", {})),
        "counts": sorted(job.summary.get("counts", {}).items()),
        # Excel runs such cells as formulas when it opens a CSV; the xlsx holds them as text.
        "formula_cells": job.summary.get("issue_counts", {}).get("formula_like_text", 0),
        "row_limits": selectors.job_row_limits(job),
        "settings_words": settings_in_words(job.run_settings),
        "inputs": selectors.job_inputs([job])[job.id],
    }
    return render(request, "migration/job_detail.html", context)


JOB_FILES = {
    "csv": "output_csv",
    "xlsx": "output_xlsx",
    "report": "report_json",
    "issue-list": "issue_list",
    "issues": "issues_file",
}
DOWNLOADS = {**JOB_FILES, "import": "import_file"}


def _part_file(job: TransformJob, part: int, what: str):
    """A part's output (csv, xlsx, issues) of a job over an export in parts."""
    for entry in job.summary.get("part_files", []):
        if entry["part"] == part and what in ("csv", "xlsx", "issues") and entry[what]:
            return default_storage.open(entry[what], "rb"), entry[what]
    raise Http404("This job has no such file")


@login_required
def job_download(
    request: HttpRequest, migration_id: int, job_id: int, what: str, part: int | None = None
) -> HttpResponse:
    job = _job_for(request, migration_id, job_id, READ)
    if part is not None:
        handle, name = _part_file(job, part, what)
        return FileResponse(handle, as_attachment=True, filename=name.rsplit("/", 1)[-1])
    field = getattr(job, DOWNLOADS.get(what, ""), None)
    if not field:
        raise Http404("This job has no such file")
    return FileResponse(field.open("rb"), as_attachment=True, filename=field.name.rsplit("/", 1)[-1])


@login_required
def job_import_part_download(request: HttpRequest, migration_id: int, job_id: int, part: int) -> HttpResponse:
    job = _job_for(request, migration_id, job_id, READ)
    found = next((p for p in job.import_parts if p["part"] == part), None)
    if found is None:
        raise Http404("This job has no such part")
    return FileResponse(default_storage.open(found["name"], "rb"), as_attachment=True, filename=found["file"])


@login_required
def results_zip(request: HttpRequest, migration_id: int) -> HttpResponse:
    """Every table's latest successful output, CSV and xlsx, with reports, in one zip."""
    membership = membership_required(request, migration_id, READ)
    migration = membership.migration
    done = selectors.latest_results(migration)
    if not done:
        messages.error(request, "No job has finished yet: run the jobs first.")
        return _step8(migration_id)
    files = [
        (getattr(job, field).name.rsplit("/", 1)[-1], getattr(job, field))
        for job in done
        for field in JOB_FILES.values()
        if getattr(job, field)
    ]
    files += [
        (name.rsplit("/", 1)[-1], FieldFile(None, FileField(storage=default_storage), name))
        for job in done
        for entry in job.summary.get("part_files", [])
        for name in (entry["csv"], entry["xlsx"], entry["issues"])
        if name
    ]
    name = f"{slugify(migration.name)}_initialized_{timezone.localdate():%Y-%m-%d}.zip"
    response = StreamingHttpResponse(zip_stream(files), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
