"""Step 9, after initial sync: uploads of F&O's exports and of the sync's errors, their results."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from .. import engine, runbook
from ..access import READ, WORK, membership_required
from ..models import SyncCheck, SyncCheckKind
from ..services import sync
from ..upload_limits import receives_uploads, upload_refusal_message
from .common import back_to_step

SYNC_ADVICE = "Export the entity in parts (by company, say) and upload them together."


@receives_uploads(pasted="pasted")
@require_POST
@login_required
def sync_upload(request: HttpRequest, migration_id: int, kind: str, table: str) -> HttpResponse:
    membership = membership_required(request, migration_id, WORK)
    if kind not in SyncCheckKind.values:
        raise Http404("No such check")
    back = back_to_step(migration_id, runbook.ENABLE_MAPS_STEP, f"#sync-{table}")
    try:
        if refused := upload_refusal_message(request, SYNC_ADVICE):
            raise sync.SyncError(refused)
        check = sync.sync_check_create(
            migration=membership.migration,
            kind=kind,
            table=table,
            entity=request.POST.get("entity", ""),
            files=request.FILES.getlist("file") + request.FILES.getlist("pasted"),
            more_parts=request.POST.get("more_parts") == "on",
            company=request.POST.get("company", ""),
            actor=request.user,
        )
    except sync.SyncError as error:
        messages.error(request, str(error))
        return back
    parts = check.uploads.count()
    messages.success(
        request,
        f"Uploaded {parts} file(s) for {engine.TABLES[table].export_name}; "
        f"{check.get_kind_display().lower()} #{check.id} is queued.",
    )
    return back


def _check_for(request: HttpRequest, migration_id: int, check_id: int):
    membership = membership_required(request, migration_id, READ)
    check = get_object_or_404(
        SyncCheck.objects.select_related("job", "created_by"), id=check_id, migration_id=migration_id
    )
    return membership, check


@login_required
def sync_check_detail(request: HttpRequest, migration_id: int, check_id: int) -> HttpResponse:
    membership, check = _check_for(request, migration_id, check_id)
    context = {
        "migration": membership.migration,
        "membership": membership,
        "check": check,
        "uploads": check.uploads.select_related("uploaded_by").order_by("version"),
        "label": engine.TABLES[check.table].export_name,
    }
    return render(request, "migration/sync_check.html", context)


@login_required
def sync_check_download(request: HttpRequest, migration_id: int, check_id: int, what: str) -> HttpResponse:
    _, check = _check_for(request, migration_id, check_id)
    stored = (check.files or {}).get(what)
    if not stored:
        raise Http404("This check has no such list")
    path = stored["path"]
    return FileResponse(
        default_storage.open(path, "rb"), as_attachment=True, filename=path.rsplit("/", 1)[-1]
    )


@login_required
def sync_status_json(request: HttpRequest, migration_id: int) -> HttpResponse:
    """What step 9 polls while a check runs: the page reloads when one finishes."""
    membership = membership_required(request, migration_id, READ)
    checks = SyncCheck.objects.filter(migration=membership.migration).values("id", "state")[:100]
    return JsonResponse({"checks": list(checks)})
