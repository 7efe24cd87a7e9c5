"""Step 8 without the Import data wizard (issue 24): a job's new column values planned against
Sales as it is, approved by a project manager, applied in $batch chunks by Celery tasks, and read
back. The Web API work is migration/dynamics/writeback.py; this module keeps the state, the files
and the activity log.

Web and workers may run on different machines sharing only the database, the broker and the file
storage: each file is written in this machine's own temporary folder, then saved to the storage
under a name the plan's row (or the chunk's) records; it is read back by streaming it from there."""

import tempfile
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from ..dynamics import writeback as wb
from ..dynamics.exports import table_named
from ..models import (
    ChecklistItem,
    ConnectionKind,
    JobState,
    Membership,
    TransformJob,
    WriteChunk,
    WriteKind,
    WritePlan,
    WriteState,
)
from ..services.activity import activity_record
from ..services.checklist import item_update
from ..services.queue import enqueue_on_commit
from ..storage import store_result, stored_delete
from .services import connection_client

FILES = ("plan", "applied", "failed", "conflicts", "readback")
FIRST_ROWS = 10


class WritebackError(ValueError):
    """Refused: the message says why and what to do."""


def _key(plan: WritePlan) -> str:
    return f"{table_named(plan.table).entity}id"


def stored_name(plan: WritePlan, name: str) -> str:
    """Where a plan's file is saved in the storage (a free name beside it if taken)."""
    return f"writeback/{plan.pk}/{name}.csv"


def _chunk_name(plan: WritePlan, number: int) -> str:
    return f"writeback/{plan.pk}/chunks/{number:05d}.csv"


def _read(name: str, reader: Callable):
    """A stored file read by the engine's `reader` as it streams from the storage."""
    with default_storage.open(name, "rb") as handle:
        return reader(handle)


def _save(name: str, write: Callable[[Path], object], replaced: list[str]) -> tuple[str, object]:
    """`write` makes the file in a folder of this machine's own (removed on every way out), then
    it is saved whole under `name`: its stored name, and what `write` returned."""
    Path(settings.P2C_TMP_DIR).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=SCRATCH, dir=settings.P2C_TMP_DIR) as folder:
        local = Path(folder) / Path(name).name
        result = write(local)
        return store_result(local, name, move=True, replaced=replaced), result


def _save_results(plan: WritePlan, name: str, fields: list[str], results, replaced: list[str]):
    """An outcome file saved under `name`: its stored name and its number of records."""
    return _save(name, lambda path: wb.write_results(path, _key(plan), fields, results), replaced)


# The prefix of write-back's temporary folders in P2C_TMP_DIR (swept with the others when stale).
SCRATCH = "writeback-"


def _sales_connection(migration):
    connection = migration.connections.filter(kind=ConnectionKind.SALES).first()
    if connection is None:
        raise WritebackError("Set the Sales connection first (Migration → Connections).")
    return connection


def _can_manage(migration, actor) -> bool:
    return Membership.objects.filter(migration=migration, user=actor, role="manager").exists()


# --- plan ------------------------------------------------------------------------------------


def plan_start(*, job: TransformJob, actor) -> WritePlan:
    """Plan the write of a succeeded job's new values (a worker reads the records)."""
    if job.state != JobState.SUCCEEDED or not job.output_csv:
        raise WritebackError("Only a succeeded job's output can be written back.")
    return _plan_create(
        migration=job.migration, table=job.table, job=job, actor=actor, kind=WriteKind.JOB,
        read_since=job.source.uploaded_at,
    )  # fmt: skip


def undo_start(*, plan: WritePlan, actor) -> WritePlan:
    """Plan writing back the before values of an apply (its applied.csv): project managers only."""
    if not _can_manage(plan.migration, actor):
        raise PermissionDenied("Only a project manager can undo a write-back.")
    if plan.state != WriteState.DONE or not plan.results.get("applied"):
        raise WritebackError("Only an apply that wrote records can be undone.")
    return _plan_create(
        migration=plan.migration, table=plan.table, job=plan.job, actor=actor, kind=WriteKind.UNDO,
        source=plan, read_since=plan.finished_at,
    )  # fmt: skip


def replan_conflicts_start(*, plan: WritePlan, actor) -> WritePlan:
    """Plan the conflicts again from the records' current values, once someone has looked."""
    conflicts = plan.counts.get("outcomes", {}).get("conflict", 0) + plan.results.get("conflict", 0)
    if not conflicts:
        raise WritebackError("This plan has no conflicts to plan again.")
    return _plan_create(
        migration=plan.migration, table=plan.table, job=plan.job, actor=actor, kind=WriteKind.REPLAN,
        source=plan, read_since=timezone.now(),
    )  # fmt: skip


def _plan_create(*, migration, table, job, actor, kind, read_since, source=None) -> WritePlan:
    connection = _sales_connection(migration)
    table_named(table)
    plan = WritePlan.objects.create(
        migration=migration, connection=connection, job=job, source=source, kind=kind, table=table,
        created_by=actor, read_since=read_since, batch_size=settings.P2C_WRITEBACK_BATCH_SIZE,
    )  # fmt: skip
    activity_record(
        migration=migration, actor=actor, verb="writeback_plan", step=8,
        description=f"Asked to plan writing {table} back to {connection.url} ({plan.get_kind_display()})",
    )  # fmt: skip
    enqueue_on_commit("run_write_plan", plan.id)
    return plan


def _wanted_from_job(plan: WritePlan):
    """The job's rows as (GUID, cells by header), and its headers."""
    output = plan.job.output_csv  # opened afresh each time: a stored blob cannot be reopened
    with output.storage.open(output.name, "rb") as raw:
        return wb.job_rows((line.decode("utf-8-sig") for line in raw), table_named(plan.table))


def _wanted_from_source(plan: WritePlan) -> list[tuple[str, dict]]:
    """An undo: each applied record's before values; a re-plan: each conflict's after values."""
    source = plan.source
    if plan.kind == WriteKind.UNDO:
        _, applied = _read(source.files["applied"], wb.read_plan_like)
        return [(a.row.guid, {f: v or wb.NULL for f, v in a.row.before.items()}) for a in applied]
    _, rows = _read(source.files["plan"], wb.read_plan)
    wanted = [(r.guid, dict(r.after)) for r in rows if r.outcome == "conflict"]
    if "conflicts" in source.files:
        _, conflicts = _read(source.files["conflicts"], wb.read_plan_like)
        wanted += [(a.row.guid, dict(a.row.after)) for a in conflicts]
    return wanted


def _headers_of_fields(plan: WritePlan) -> list[str]:
    """The headers a source plan's fields stand for (target columns by logical name)."""
    fields, _ = _read(plan.source.files["plan"], wb.read_plan)
    return fields


def _target(client, plan: WritePlan) -> wb.Target:
    table = table_named(plan.table)
    if plan.kind == WriteKind.JOB:
        headers, _ = _wanted_from_job(plan)
        return wb.read_target(client, table, headers)
    return wb.read_target(client, table, _headers_of_fields(plan))


def _client(plan: WritePlan, purpose: str):
    return connection_client(connection=plan.connection, actor=plan.created_by, purpose=purpose)


def plan_run(*, plan_id: int) -> None:
    """Read the records and write plan.csv (whole or not at all); a redelivered task redoes it."""
    plan = WritePlan.objects.select_related("connection", "job", "source").get(pk=plan_id)
    if plan.state != WriteState.PLANNING:
        return
    client = _client(plan, f"plan writing {plan.table} back")
    target = _target(client, plan)
    records = wb.read_records(client, target)
    since = plan.read_since.astimezone(UTC)
    if plan.kind == WriteKind.JOB:
        _, rows = _wanted_from_job(plan)
        lookups = wb.Lookups(client, target)
        planned = wb.plan_from_job(rows, target, records, lookups, since)
    else:
        planned = wb.plan_from_values(_wanted_from_source(plan), target, records, since)
    fields, replaced = [f.logical for f in target.fields], []
    saved, counts = _save(
        stored_name(plan, "plan"), lambda path: wb.write_plan(path, target.key, fields, planned), replaced
    )
    planned_now = WritePlan.objects.filter(pk=plan.pk, state=WriteState.PLANNING).update(
        state=WriteState.PLANNED, counts=counts, files={"plan": saved}
    )
    # An earlier delivery's file is replaced; if that delivery finished first, this one's goes.
    stored_delete(replaced if planned_now else [saved])


def write_fail(*, plan_id: int, message: str) -> None:
    WritePlan.objects.filter(pk=plan_id).update(
        state=WriteState.FAILED, message=message[:1000], finished_at=timezone.now()
    )


# --- approve ---------------------------------------------------------------------------------


def environment_host(plan: WritePlan) -> str:
    return urlsplit(plan.connection.url).hostname or ""


def plan_approve(
    *, plan: WritePlan, actor, typed_host: str, maps_stopped: bool, batch_size: int | None = None,
    bypass_logic: bool = False, bypass_flows: bool = False,
) -> WritePlan:  # fmt: skip
    """A project manager approves: the environment's host typed, the table's dual-write maps
    confirmed stopped; the apply then starts in workers."""
    if not _can_manage(plan.migration, actor):
        raise PermissionDenied("Only a project manager can approve a write-back.")
    if plan.state != WriteState.PLANNED:
        raise WritebackError(
            f"This plan is {plan.get_state_display().lower()}: only a plan waiting can be approved."
        )
    if typed_host.strip().lower() != environment_host(plan):
        raise WritebackError(
            f"Type the environment's host, {environment_host(plan)}, to confirm where to write."
        )
    if not maps_stopped:
        raise WritebackError(
            f"Confirm that the dual-write maps of {plan.table} are stopped: while they run, every update "
            "syncs to Finance and Operations through Microsoft's plug-ins."
        )
    size = batch_size or plan.batch_size
    if not 1 <= size <= wb.MAX_BATCH:
        raise WritebackError(f"The batch size is 1 to {wb.MAX_BATCH} updates per request, not {size}.")
    if bypass_logic:
        _check_bypass_privilege(plan, actor)
    changed = WritePlan.objects.filter(pk=plan.pk, state=WriteState.PLANNED).update(
        state=WriteState.APPLYING, approved_by=actor, approved_at=timezone.now(), maps_stopped=True,
        batch_size=size, bypass_logic=bypass_logic, bypass_flows=bypass_flows, started_at=timezone.now(),
    )  # fmt: skip
    if not changed:
        raise WritebackError("This plan was approved already.")
    plan.refresh_from_db()
    options = [
        o for o, on in (("custom logic bypassed", bypass_logic), ("flows bypassed", bypass_flows)) if on
    ]
    activity_record(
        migration=plan.migration, actor=actor, verb="writeback_approve", step=8,
        description=(
            f"Approved writing {plan.counts['outcomes']['change']} {plan.table} records to "
            f"{plan.connection.url} "
            f"(plan #{plan.pk}, batches of {size}{', ' + ', '.join(options) if options else ''}); "
            "dual-write maps confirmed stopped"
        ),
    )  # fmt: skip
    enqueue_on_commit("run_write_apply", plan.id)
    return plan


def _check_bypass_privilege(plan: WritePlan, actor) -> None:
    """Bypassing custom logic needs prvBypassCustomBusinessLogic: without it Dataverse would refuse
    every update, so the approval is refused first (bypass-custom-business-logic)."""
    client = connection_client(connection=plan.connection, actor=actor, purpose="check the bypass privilege")
    if not wb.holds_privilege(client, wb.BYPASS_PRIVILEGE):
        raise WritebackError(
            f"The application user lacks {wb.BYPASS_PRIVILEGE}, which bypassing custom logic needs: add it "
            "to its security role (System Administrator has it), or approve without bypassing custom logic."
        )


# --- apply -----------------------------------------------------------------------------------


def _planned_changes(plan: WritePlan) -> tuple[list[str], list[wb.PlanRow]]:
    """plan.csv's columns and its changes, read once from the storage."""
    fields, rows = _read(plan.files["plan"], wb.read_plan)
    return fields, [r for r in rows if r.outcome == "change"]


def _changes(plan: WritePlan) -> list[wb.PlanRow]:
    return _planned_changes(plan)[1]


def apply_start(*, plan_id: int) -> None:
    """Split the changes into chunks, one task each; a redelivered start sends only unfinished ones."""
    plan = WritePlan.objects.get(pk=plan_id)
    if plan.state != WriteState.APPLYING:
        return
    changes, size = _changes(plan), settings.P2C_WRITEBACK_CHUNK
    for number, start in enumerate(range(0, len(changes), size)):
        WriteChunk.objects.get_or_create(
            plan=plan, number=number, defaults={"records": len(changes[start : start + size]), "first": start}
        )
    pending = list(plan.chunks.filter(finished=False).values_list("number", flat=True))
    for number in pending:
        enqueue_on_commit("run_write_chunk", plan.id, number)
    if not pending:
        apply_finish(plan_id=plan.id)


def apply_chunk(*, plan_id: int, number: int) -> None:
    """One chunk's updates; its outcomes kept in a file of its own, then the chunk marked done.
    A chunk found done (a task redelivered after its worker died finishing) only tries the finish."""
    plan = WritePlan.objects.select_related("connection").get(pk=plan_id)
    chunk = WriteChunk.objects.get(plan=plan, number=number)
    if plan.state != WriteState.APPLYING:
        return
    if not chunk.finished:
        _apply_chunk(plan, chunk)
    apply_finish(plan_id=plan.id)


def _apply_chunk(plan: WritePlan, chunk: WriteChunk) -> None:
    number = chunk.number
    # A redelivered chunk counts again from nothing (what it wrote before comes back as planned).
    WriteChunk.objects.filter(pk=chunk.pk).update(done=0, batches=0, throttled=0, paused_seconds=0)
    client = _client(plan, f"apply write-back #{plan.pk}, chunk {number + 1}")
    fields, changes = _planned_changes(plan)
    target = wb.read_target(client, table_named(plan.table), fields)
    rows = changes[chunk.first : chunk.first + chunk.records]
    headers = wb.bypass_headers(logic=plan.bypass_logic, flows=plan.bypass_flows)

    def progress(done):
        WriteChunk.objects.filter(pk=chunk.pk).update(
            done=F("done") + len(done), batches=F("batches") + 1,
            throttled=client.traffic.throttled, paused_seconds=client.traffic.paused_seconds,
        )  # fmt: skip

    results = wb.apply_rows(
        client, target, rows, batch_size=plan.batch_size, headers=headers, on_batch=progress
    )
    replaced = []
    saved, _ = _save_results(plan, _chunk_name(plan, number), fields, results, replaced)
    finished_now = WriteChunk.objects.filter(pk=chunk.pk, finished=False).update(finished=True, file=saved)
    stored_delete(replaced if finished_now else [saved])


def apply_finish(*, plan_id: int) -> None:
    """Once every chunk is done: the outcome files, then the read-back. Under the plan's row lock,
    held to the end: of two workers finishing at once, the second waits, then finds it done; a
    worker that dies meanwhile leaves it to the redelivered task (the files are written whole)."""
    with transaction.atomic():
        plan = WritePlan.objects.select_for_update(of=("self",)).select_related("connection").get(pk=plan_id)
        if plan.state != WriteState.APPLYING or plan.chunks.filter(finished=False).exists():
            return
        _finish(plan)


def _finish(plan: WritePlan) -> None:
    """The outcome files and the read-back; what a failure leaves half done is deleted, and the
    files an earlier delivery saved go once the plan points at these."""
    files, replaced = dict(plan.files), []
    try:
        _finish_files(plan, files, replaced)
    except BaseException:
        stored_delete([name for key, name in files.items() if name != plan.files.get(key)])
        raise
    transaction.on_commit(lambda: stored_delete(replaced))


def _finish_files(plan: WritePlan, files: dict, replaced: list[str]) -> None:
    fields = _read(plan.files["plan"], wb.read_plan)[0]
    results = []
    for chunk in plan.chunks.order_by("number"):
        results += _read(chunk.file, wb.read_plan_like)[1]
    counts = {}
    for outcome, name in (("applied", "applied"), ("failed", "failed"), ("conflict", "conflicts")):
        chosen = [a for a in results if a.outcome == outcome]
        files[name], counts[outcome] = _save_results(plan, stored_name(plan, name), fields, chosen, replaced)
    verify(plan=plan, counts=counts, files=files, replaced=replaced)


def verify(*, plan: WritePlan, counts: dict, files: dict, replaced: list[str]) -> None:
    """Every planned change read back and compared with the plan: readback.csv holds each record
    with what it holds now and whether it is as planned."""
    client = _client(plan, f"read back write-back #{plan.pk}")
    fields, rows = _planned_changes(plan)
    target = wb.read_target(client, table_named(plan.table), fields)
    matched, differ = wb.read_back(client, target, rows)
    read_back = wb.read_back_rows(rows, differ)
    files["readback"], _ = _save_results(plan, stored_name(plan, "readback"), fields, read_back, replaced)
    counts |= {"matched": matched, "differ": len(differ)}
    WritePlan.objects.filter(pk=plan.pk).update(
        state=WriteState.DONE, results=counts, files=files, finished_at=timezone.now()
    )
    _record_initialized(plan, counts)  # in the same transaction: seen with the plan done
    activity_record(
        migration=plan.migration, actor=plan.approved_by, verb="writeback_apply", step=8,
        description=(
            f"Wrote {plan.table} back to {plan.connection.url} (plan #{plan.pk}): "
            f"{counts['applied']} applied, {counts['failed']} failed, {counts['conflict']} conflicts; "
            f"read back {matched} of {len(rows)} as planned"
        ),
    )  # fmt: skip


def _record_initialized(plan: WritePlan, counts: dict) -> None:
    """Step 8's "initialized" row of the table ticks itself when a job's write-back reads back in
    full: every record of the job's output as the job wants it (none refused, missing, in
    conflict or failed), as a matching verification export ticks it on the file route. An undo
    opens it again."""
    item = ChecklistItem.objects.filter(migration=plan.migration, key=f"init-{plan.table}").first()
    if item is None:
        return
    outcomes = plan.counts.get("outcomes", {})
    short = sum(outcomes.get(o, 0) for o in ("conflict", "missing", "refused"))
    short += counts["failed"] + counts["conflict"] + counts["differ"]
    if plan.kind == WriteKind.JOB and not short:
        why = f"read back after write-back #{plan.pk}: every record of job #{plan.job_id} as planned"
        details = {
            "verified": True,
            "verification_id": None,
            "verified_because": why,
            "writeback_id": plan.pk,
        }
    elif plan.kind == WriteKind.UNDO and item.details.get("verified"):
        why = f"write-back #{plan.source_id} undone by #{plan.pk}"
        details = {"verified": False, "verification_id": None, "verified_because": why, "writeback_id": None}
    else:
        return
    item_update(item=item, actor=plan.approved_by, details=details, blocker=item.blocker, due_on=item.due_on)


# --- what the page shows ---------------------------------------------------------------------


def apply_progress(plan: WritePlan) -> dict:
    """Records and batches done, the rate and the time left."""
    totals = plan.chunks.aggregate(
        done=Sum("done"), batches=Sum("batches"), throttled=Sum("throttled"), paused=Sum("paused_seconds")
    )
    total = plan.counts.get("outcomes", {}).get("change", 0)
    done = totals["done"] or 0
    seconds = (timezone.now() - plan.started_at).total_seconds() if plan.started_at else 0
    rate = done / seconds if seconds > 0 else 0
    left = (total - done) / rate if rate else None
    return {
        "records": total, "done": done, "batches": totals["batches"] or 0, "rate": rate, "left": left,
        "throttled": totals["throttled"] or 0, "paused": totals["paused"] or 0,
    }  # fmt: skip


def first_rows(plan: WritePlan) -> dict[str, list[wb.PlanRow]]:
    """The first rows of each outcome of the plan."""
    if "plan" not in plan.files:
        return {}
    _, rows = _read(plan.files["plan"], wb.read_plan)
    shown: dict[str, list[wb.PlanRow]] = {o: [] for o in wb.OUTCOMES}
    for row in rows:
        if len(shown[row.outcome]) < FIRST_ROWS:
            shown[row.outcome].append(row)
    return {o: r for o, r in shown.items() if r}


def plan_files(plan: WritePlan) -> list[str]:
    return [name for name in FILES if name in plan.files]
