"""Uploading sample exports and running their inspection, as the worker would."""

from pathlib import Path

from django.core.files import File

from migration.models import ExportUpload
from migration.services import uploads

# A copy of shared/samples, kept in the repository so a clone anywhere has them.
SAMPLES = Path(__file__).resolve().parent / "samples" / "sales-excel"


def upload_sample(
    migration, actor, name: str, table: str | None = None, kind: str = "export"
) -> ExportUpload:
    path = SAMPLES / name if not Path(name).is_absolute() else Path(name)
    table = table or path.stem
    with open(path, "rb") as handle:
        return uploads.upload_create(
            migration=migration, table=table, kind=kind, upload=File(handle, name=path.name), actor=actor
        )


def upload_inspected(
    migration, actor, name: str, table: str | None = None, kind: str = "export"
) -> ExportUpload:
    upload = upload_sample(migration, actor, name, table, kind)
    uploads.upload_inspect(upload_id=upload.id)
    upload.refresh_from_db()
    return upload
