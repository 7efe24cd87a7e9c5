"""Notes and evidence attached to a step."""

from django.db import transaction

from ..models import Evidence, Migration, Note
from ..storage import sha256_of_upload, storage_outage_as
from .activity import activity_record


def note_add(*, migration: Migration, step: int, author, text: str) -> Note:
    with transaction.atomic():
        note = migration.notes.create(step=step, author=author, text=text)
        activity_record(
            migration=migration,
            actor=author,
            verb="note",
            description=f"Added a note to step {step}",
            step=step,
        )
    return note


class EvidenceError(Exception):
    pass


def evidence_add(
    *, migration: Migration, step: int, actor, title: str, url: str = "", upload=None
) -> Evidence:
    """A link or an attachment, the file kept as uploaded with its SHA-256."""
    with transaction.atomic(), storage_outage_as(EvidenceError):
        evidence = migration.evidence.create(
            step=step,
            title=title,
            url=url,
            file=upload,
            sha256=sha256_of_upload(upload) if upload else "",
            size=upload.size if upload else 0,
            added_by=actor,
        )
        activity_record(
            migration=migration,
            actor=actor,
            verb="evidence",
            description=f"Added evidence “{title}” to step {step}",
            step=step,
        )
    return evidence
