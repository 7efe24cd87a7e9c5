"""What uploads may add: a storage quota per migration and a pace per user.

Counted from the rows of what was stored (every kept version, every evidence file), and checked
for every upload where uploads are received (`upload_limits.receives_uploads`), so a refused upload
stores nothing.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from .models import Evidence, ExportUpload, ImportVerification, Migration, TransformJob
from .selectors import PARTED_KINDS, export_parts

GB = 1024**3


def quota_bytes() -> int:
    return settings.P2C_MIGRATION_QUOTA_GB * GB


def storage_used(migration: Migration) -> int:
    """Bytes of every file uploaded to the migration and kept: every version of every upload slot
    (steps 2, 8 and 9) and the evidence attached to its steps."""
    uploads = ExportUpload.objects.filter(migration=migration).aggregate(total=Sum("size"))["total"]
    evidence = Evidence.objects.filter(migration=migration).aggregate(total=Sum("size"))["total"]
    return (uploads or 0) + (evidence or 0)


def uploads_in_the_last_minute(actor) -> int:
    """Files the user uploaded in the last minute, on any page of any migration."""
    since = timezone.now() - timedelta(minutes=1)
    uploads = ExportUpload.objects.filter(uploaded_by=actor, uploaded_at__gte=since).count()
    evidence = Evidence.objects.filter(added_by=actor, added_at__gte=since).exclude(file="").count()
    return uploads + evidence


def _referenced_by_rows(migration: Migration) -> set[int]:
    """Uploads a row of any model points at (a job's input, a verification's export, a step-9
    check's files, and whatever refers to an upload later): found from the foreign keys themselves."""
    kept: set[int] = set()
    for relation in ExportUpload._meta.get_fields(include_hidden=True):
        if relation.auto_created and relation.one_to_many:  # a through table's key counts too
            key = relation.field
            rows = relation.related_model.objects.filter(**{f"{key.name}__migration": migration})
            kept |= set(rows.values_list(key.attname, flat=True))
    return kept


def _referenced_in_lists(migration: Migration) -> set[int]:
    """Uploads listed by id inside a job's or a verification's JSON: the parts they read."""
    kept: set[int] = set()
    for parts, run in TransformJob.objects.filter(migration=migration).values_list("parts", "run_settings"):
        kept |= set(parts or ()) | set(run.get("reexport_parts", ())) | set(run.get("header_parts", ()))
    for parts in ImportVerification.objects.filter(migration=migration).values_list("parts", flat=True):
        kept |= set(parts or ())
    return kept


def old_versions(migration: Migration):
    """Upload versions a newer one replaced and nothing refers to: what a project manager may remove.

    Never one a job, check, verification or step-9 check read: their downloads and evidence need it."""
    kept = _referenced_by_rows(migration) | _referenced_in_lists(migration)
    for kind in PARTED_KINDS:  # the parts in use of every slot, not only its newest version
        kept |= {u.id for parts in export_parts(migration, kind).values() for u in parts}
    latest = {}
    for upload_id, table, kind in (
        ExportUpload.objects.filter(migration=migration)
        .order_by("version")
        .values_list("id", "table", "kind")
    ):
        latest[(table, kind)] = upload_id
    kept |= set(latest.values())
    return ExportUpload.objects.filter(migration=migration).exclude(Q(id__in=kept))


def upload_refusal(*, migration: Migration, actor, sizes: list[int]) -> str:
    """Why these files may not be stored now ('' when they may): each counts against the user's
    pace, all together against the migration's quota."""
    pace = settings.P2C_UPLOADS_PER_MINUTE
    recent = uploads_in_the_last_minute(actor)
    if recent + len(sizes) > pace:
        return (
            f"You uploaded {recent} file(s) in the last minute; {len(sizes)} more would pass the {pace} "
            "allowed per minute. Wait a minute and upload again."
        )
    return quota_refusal(migration=migration, sizes=sizes)


def quota_refusal(*, migration: Migration, sizes: list[int]) -> str:
    """Why files of these sizes would pass the migration's quota ('' when they fit)."""
    used, size = storage_used(migration), sum(sizes)
    if used + size > quota_bytes():
        return (
            f"This migration's uploads take {used / GB:.1f} GB of its {settings.P2C_MIGRATION_QUOTA_GB} GB; "
            f"this upload ({size / 1024**2:,.0f} MB) would pass it. A project manager can remove earlier "
            "versions on the migration's page, or an administrator can raise P2C_MIGRATION_QUOTA_GB."
        )
    return ""
