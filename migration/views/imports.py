"""Step 8's import route: the import pack download and the verification's files."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.text import slugify

from .. import engine, runbook, selectors
from ..access import READ, membership_required
from ..models import ImportVerification
from ..zipstream import zip_stream
from .common import back_to_step


class _Stored:
    """A storage name as zip_stream takes files: something with open()."""

    def __init__(self, name: str) -> None:
        self.name = name

    def open(self, mode: str = "rb"):
        return default_storage.open(self.name, mode)


def _folder(table: str) -> str:
    return f"{engine.IMPORT_ORDER.index(table) + 1}_{table}"


def _manifest(jobs) -> list[tuple[str, ContentFile]]:
    files = [
        engine.PackFile(
            table=job.table,
            part=engine.PackPart(
                path=f"{_folder(job.table)}/{p['file']}",
                rows=p["rows"],
                first_row=p["first_row"],
                last_row=p["last_row"],
                part=p["part"],
                sha256=p["sha256"],
                size=p["bytes"],
            ),
        )
        for job in jobs
        for p in job.import_parts
    ]
    Path(settings.P2C_TMP_DIR).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pack-", dir=settings.P2C_TMP_DIR) as folder:
        paths = engine.write_manifest(folder, files)
        return [(Path(p).name, ContentFile(Path(p).read_bytes())) for p in paths]


@login_required
def import_pack(request: HttpRequest, migration_id: int) -> HttpResponse:
    """One zip: a folder per table in import order, its files to import, MANIFEST.txt, manifest.json."""
    membership = membership_required(request, migration_id, READ)
    migration = membership.migration
    jobs = selectors.import_pack_jobs(migration)
    if not jobs:
        messages.error(request, "No import file yet: upload a re-export and run its table's job first.")
        return back_to_step(migration_id, runbook.INITIALIZE_STEP, "#import-route")
    files = _manifest(jobs) + [
        (f"{_folder(job.table)}/{p['file']}", _Stored(p["name"])) for job in jobs for p in job.import_parts
    ]
    name = f"{slugify(migration.name)}_import-pack_{timezone.localdate():%Y-%m-%d}.zip"
    response = StreamingHttpResponse(zip_stream(files), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def verification_issues(request: HttpRequest, migration_id: int, check_id: int) -> HttpResponse:
    """The records to import again: the import file's rows that differ or are missing."""
    membership_required(request, migration_id, READ)
    check = get_object_or_404(ImportVerification, id=check_id, migration_id=migration_id)
    if not check.issues_file:
        raise Http404("This verification found nothing to import again")
    name = check.issues_file.name.rsplit("/", 1)[-1]
    return FileResponse(check.issues_file.open("rb"), as_attachment=True, filename=name)
