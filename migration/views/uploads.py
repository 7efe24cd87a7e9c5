"""Uploads of exports (step 2), re-exports and the customer list (step 8), and their downloads."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .. import runbook, selectors
from ..access import MANAGE, READ, WORK, membership_required
from ..models import ExportUpload, UploadKind
from ..services import uploads
from ..upload_limits import receives_uploads, upload_refusal_message
from .common import back_to_step, wants_json

STEP_OF_KIND = {
    UploadKind.EXPORT: runbook.EXPORTS_STEP,
    UploadKind.REEXPORT: runbook.INITIALIZE_STEP,
    UploadKind.PARTY_NUMBERS: runbook.INITIALIZE_STEP,
    UploadKind.VERIFICATION: runbook.INITIALIZE_STEP,
}


def slot_anchor(kind: str, table: str) -> str:
    """Where a slot stands on its step's page: step 2's slot, or the stage of step 8's table card."""
    stage = {UploadKind.REEXPORT: "reexport", UploadKind.VERIFICATION: "verify"}.get(kind)
    if stage:
        return f"#{table}-{stage}"
    return f"#slot-{table}" if kind == UploadKind.EXPORT else "#import-route"


def upload_json(upload: ExportUpload) -> dict:
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
        # The status feed loads only the row count (`row_count`), not the inspection JSON.
        "row_count": upload.row_count if hasattr(upload, "row_count") else upload.inspection.get("rows"),
        "part": upload.part,
        "parted": upload.kind in selectors.PARTED_KINDS,
        "uploaded_by": upload.uploaded_by.username,
        "uploaded_at": upload.uploaded_at.isoformat(),
    }


@receives_uploads
@require_POST
@login_required
def upload_create(request: HttpRequest, migration_id: int, kind: str, table: str) -> HttpResponse:
    membership = membership_required(request, migration_id, WORK)
    if not selectors.upload_slot_exists(kind=kind, table=table):
        raise Http404("No such upload slot")
    back = back_to_step(migration_id, STEP_OF_KIND[kind], slot_anchor(kind, table))
    file = request.FILES.get("file")
    try:
        if refused := upload_refusal_message(request):
            raise uploads.UploadError(refused)
        if file is None:
            raise uploads.UploadError("Choose a file to upload.")
        part = request.POST.get("part", "")
        upload = uploads.upload_create(
            migration=membership.migration,
            table=table,
            kind=kind,
            upload=file,
            actor=request.user,
            part=int(part) if part.isdigit() else None,
        )
    except uploads.UploadError as error:
        if wants_json(request):
            return JsonResponse({"error": str(error)}, status=400)
        messages.error(request, str(error))
        return back
    if wants_json(request):
        return JsonResponse(upload_json(upload), status=201)
    messages.success(
        request, f"Uploaded {upload.original_name} (version {upload.version}); inspecting it now."
    )
    return back


def _export_part(request: HttpRequest, migration_id: int, upload_id: int, need) -> ExportUpload:
    membership_required(request, migration_id, need)
    return get_object_or_404(
        ExportUpload.objects.select_related("migration"),
        id=upload_id,
        migration_id=migration_id,
        kind__in=selectors.PARTED_KINDS,
    )


@require_POST
@login_required
def upload_remove(request: HttpRequest, migration_id: int, upload_id: int) -> HttpResponse:
    upload = _export_part(request, migration_id, upload_id, WORK)
    try:
        uploads.upload_remove(upload=upload, actor=request.user)
        messages.success(
            request, f"Removed {upload.original_name}; its file stays among the earlier versions."
        )
    except uploads.UploadError as error:
        messages.error(request, str(error))
    return back_to_step(migration_id, STEP_OF_KIND[upload.kind], slot_anchor(upload.kind, upload.table))


@require_POST
@login_required
def upload_confirm_limit(request: HttpRequest, migration_id: int, upload_id: int) -> HttpResponse:
    upload = _export_part(request, migration_id, upload_id, WORK)
    try:
        uploads.upload_confirm_limit(upload=upload, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, f"Confirmed the 100,000 rows of {upload.original_name}.")
    except uploads.UploadError as error:
        messages.error(request, str(error))
    return back_to_step(migration_id, STEP_OF_KIND[upload.kind], slot_anchor(upload.kind, upload.table))


@require_POST
@login_required
def finding_acknowledge(request: HttpRequest, migration_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, MANAGE)
    try:
        uploads.finding_acknowledge(
            migration=membership.migration,
            actor=request.user,
            code=request.POST.get("code", ""),
            table=request.POST.get("table", ""),
            message=request.POST.get("message", ""),
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, "Cross-file check error acknowledged.")
    except uploads.UploadError as error:
        messages.error(request, str(error))
    return back_to_step(migration_id, runbook.EXPORTS_STEP, "#cross-check")


@require_POST
@login_required
def cross_check_run(request: HttpRequest, migration_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, MANAGE)
    try:
        uploads.cross_check_request(migration=membership.migration, actor=request.user)
        messages.success(request, "Cross-file check started: this card shows its result when it finishes.")
    except uploads.UploadError as error:
        messages.error(request, str(error))
    return back_to_step(migration_id, runbook.EXPORTS_STEP, "#cross-check")


@login_required
def upload_download(request: HttpRequest, migration_id: int, upload_id: int) -> HttpResponse:
    membership_required(request, migration_id, READ)
    upload = get_object_or_404(ExportUpload, id=upload_id, migration_id=migration_id)
    return FileResponse(upload.file.open("rb"), as_attachment=True, filename=upload.original_name)


@login_required
def upload_detail(request: HttpRequest, migration_id: int, upload_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, READ)
    upload = get_object_or_404(ExportUpload, id=upload_id, migration_id=migration_id)
    context = {"migration": membership.migration, "membership": membership, "upload": upload}
    return render(request, "migration/upload_detail.html", context)


@require_POST
@login_required
def uploads_remove_old(request: HttpRequest, migration_id: int) -> HttpResponse:
    """A project manager frees space: earlier versions no job used go, logged in the activity log."""
    membership = membership_required(request, migration_id, MANAGE)
    count, freed = uploads.uploads_remove_old_versions(migration=membership.migration, actor=request.user)
    if count:
        messages.success(request, f"Removed {count} earlier version(s), {freed / 1024**2:,.1f} MB.")
    else:
        messages.info(request, "No earlier version to remove.")
    return redirect("migration_detail", migration_id=migration_id)
