"""A Sales table pulled into a file stored like an upload: the step-2 gate, the cross-file check
and the jobs then work on it unchanged. Page by page, resumable: after each page the file is
flushed and the nextLink and the file's length are saved together, so a worker that restarts
cuts the file back to its last whole page and reads on from there."""

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import quota
from ..dynamics.exports import export_columns, export_pages, record_count, table_named, write_rows
from ..dynamics.tokens import TokenError
from ..models import Connection, ConnectionKind, Migration, Pull, PullState, UploadKind
from ..services.activity import activity_record
from ..services.queue import enqueue_on_commit
from ..services.uploads import upload_create
from .secrets import token_sealed_for
from .services import connection_client


class PullError(ValueError):
    pass


def pull_start(*, connection: Connection, table: str, actor, access_token: str = "") -> Pull:
    """Queue a pull, as the connection's app registration or with a token the user already has:
    that token is checked (expiry, environment) before anything is queued, and reaches the worker
    only sealed in the task's message (never in the database, the log or the activity)."""
    if connection.kind != ConnectionKind.SALES:
        raise PullError("Tables are pulled from the Sales connection.")
    table_named(table)  # an unknown table is refused here, not in the worker
    # A pull adds a file as an upload does: the user's pace and the migration's quota (issue 22)
    # hold for it too, checked now (it counts as one file) and again with its size when stored.
    if refused := quota.upload_refusal(migration=connection.migration, actor=actor, sizes=[0]):
        raise PullError(f"Not pulled: {refused}")
    try:
        sealed = token_sealed_for(access_token, connection.url)
    except TokenError as error:
        raise PullError(str(error)) from None
    pull = Pull.objects.create(
        migration=connection.migration, connection=connection, table=table, requested_by=actor
    )
    as_who = " with a token given for this pull" if sealed else ""
    activity_record(
        migration=pull.migration,
        actor=actor,
        verb="pull",
        description=f"Asked to pull {table} from {connection.url}{as_who}",
    )
    enqueue_on_commit("migration.connections.tasks.run_pull", pull.id, sealed)
    return pull


@dataclass(frozen=True)
class Progress:
    rows: int
    rows_per_second: int | None
    seconds_left: int | None  # None when the table's count is unknown or already passed


def pull_progress(pull: Pull, now) -> Progress:
    """Rows so far, the pace since the pull started, and the time left at that pace to the count
    Dataverse gave when it began (a snapshot of the last 24 hours: an estimate)."""
    rate = left = None
    if pull.started_at:
        seconds = ((pull.finished_at or now) - pull.started_at).total_seconds()
        if seconds > 0 and pull.rows:
            rate = int(pull.rows / seconds) or None
        if rate and pull.state == PullState.RUNNING and (pull.rows_expected or 0) > pull.rows:
            left = int((pull.rows_expected - pull.rows) / (pull.rows / seconds))
    return Progress(pull.rows, rate, left)


def pull_file(pull: Pull) -> Path:
    return Path(settings.P2C_TMP_DIR) / "pulls" / f"{pull.pk}.csv"


def pull_run(*, pull_id: int, page_size: int | None = None, on_page=None, access_token: str = "") -> None:
    pull = Pull.objects.select_related("connection", "migration").get(pk=pull_id)
    if pull.state in (PullState.DONE, PullState.FAILED):
        return  # a redelivered message of a finished pull
    resuming = bool(pull.next_link)
    Pull.objects.filter(pk=pull.pk).update(
        state=PullState.RUNNING, started_at=pull.started_at or timezone.now()
    )
    purpose = f"pull {pull.table}" + (f", resumed after page {pull.pages}" if resuming else "")
    client = connection_client(
        connection=pull.connection, actor=pull.requested_by, purpose=purpose, access_token=access_token
    )
    table = table_named(pull.table)
    if pull.rows_expected is None:
        Pull.objects.filter(pk=pull.pk).update(rows_expected=record_count(client, table.entity))
    columns = export_columns(client, table)
    path = pull_file(pull)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "r+b" if resuming else "wb") as raw:
        raw.truncate(pull.bytes_written)  # whatever followed the last page kept is read again
        raw.seek(pull.bytes_written)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig" if not resuming else "utf-8", newline="")
        writer = csv.writer(text)
        if not resuming:
            writer.writerow([c.name for c in columns])
        pages = export_pages(
            client,
            table,
            columns,
            page_size=page_size or settings.P2C_DYNAMICS_PAGE_SIZE,
            resume_from=pull.next_link or None,
            first_number=pull.pages + 1,
        )
        for page in pages:
            write_rows(writer, columns, page.records)
            text.flush()
            os.fsync(raw.fileno())
            Pull.objects.filter(pk=pull.pk).update(
                next_link=page.next_link or "",
                pages=page.number,
                rows=F("rows") + len(page.records),
                bytes_written=raw.tell(),
            )
            if on_page:
                on_page(page)
        text.detach()
    _store(Pull.objects.get(pk=pull.pk), path)


def _store(pull: Pull, path: Path) -> None:
    """The file becomes a new version of the table's step-2 export, inspected as an upload, unless
    it would pass the migration's quota: then the pull fails saying so, and nothing is stored. One
    transaction under the migration's lock (as uploads are received): two pulls cannot both take
    the last space, and the inspection, queued at its commit, sees the upload as a pull's."""
    with transaction.atomic():
        Migration.objects.lock(pull.migration_id)
        refused = quota.quota_refusal(migration=pull.migration, sizes=[path.stat().st_size])
        if not refused:
            with open(path, "rb") as handle:
                upload = upload_create(
                    migration=pull.migration,
                    table=pull.table,
                    kind=UploadKind.EXPORT,
                    upload=File(handle, name=f"{pull.table}-pulled.csv"),
                    actor=pull.requested_by,
                )
            Pull.objects.filter(pk=pull.pk).update(
                state=PullState.DONE, upload=upload, finished_at=timezone.now()
            )
    if refused:
        pull_fail(pull_id=pull.pk, message=f"Read, but not stored: {refused}")
    path.unlink()


def pull_fail(*, pull_id: int, message: str) -> None:
    Pull.objects.filter(pk=pull_id).update(
        state=PullState.FAILED, message=message[:1000], finished_at=timezone.now()
    )
