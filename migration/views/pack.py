"""The go-live evidence pack: a printable page and a workbook, both made from the database now."""

import hashlib

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify

from ..access import READ, membership_required
from ..pack import charts
from ..pack.data import STAGES, pack_get
from ..pack.workbook import pack_workbook
from ..services.activity import activity_record

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def evidence_pack(request: HttpRequest, migration_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, READ)
    pack = pack_get(membership.migration, user=request.user)
    context = {
        "migration": membership.migration,
        "membership": membership,
        "pack": pack,
        "stages": STAGES,
        "steps_chart": charts.steps_chart(pack),
        "stages_chart": charts.stages_chart(pack.stages),
        "issues_chart": charts.issues_chart(pack.issues),
    }
    return render(request, "migration/evidence_pack.html", context)


@login_required
def evidence_pack_xlsx(request: HttpRequest, migration_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, READ)
    migration = membership.migration
    pack = pack_get(migration, user=request.user)
    content = pack_workbook(pack)
    digest = hashlib.sha256(content).hexdigest()
    stamp = timezone.localtime(pack.created_at).strftime("%Y-%m-%d_%H%M%S")
    name = f"{slugify(migration.name)}_evidence-pack_{stamp}.xlsx"
    # The log keeps each pack's hash, so a copy handed around can be checked against it later.
    activity_record(
        migration=migration,
        actor=request.user,
        verb="pack",
        description=f"Downloaded the evidence pack {name} (SHA-256 {digest})",
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-SHA256"] = digest
    return response
