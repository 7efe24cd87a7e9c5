"""Reads: what a user may see, and the progress figures of migrations."""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value, Window
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from . import runbook
from .engine import IMPORT_ORDER, ISSUE_CODES, TABLES
from .models import (
    Activity,
    ChecklistItem,
    CrossCheck,
    ExportUpload,
    ImportVerification,
    JobIssue,
    JobState,
    Membership,
    Migration,
    Signoff,
    StepOpening,
    SyncCheck,
    SyncCheckKind,
    TransformJob,
    UploadKind,
    UploadState,
)


def migrations_for_user(user) -> QuerySet[Migration]:
    return Migration.objects.filter(memberships__user=user).select_related("copied_from")


def membership_get(*, user, migration_id: int) -> Membership:
    """The user's membership, or 404: non-members must not learn a migration exists."""
    try:
        return Membership.objects.select_related("migration").get(migration_id=migration_id, user=user)
    except Membership.DoesNotExist:
        raise Http404("No such migration") from None


def users_named(*, name: str) -> list:
    """Active users a project manager may mean by `name`: the account with that user name, else
    those who signed in with Microsoft under that sign-in name (any case). Several only when
    people of different tenants share a sign-in name."""
    users = get_user_model().objects.filter(is_active=True)
    if user := users.filter(username=name).first():
        return [user]
    return list(users.filter(microsoft_account__sign_in_name__iexact=name).order_by("username"))


NOT_STARTED, IN_PROGRESS, DONE, BLOCKED = "not_started", "in_progress", "done", "blocked"
STATE_LABELS = {NOT_STARTED: "Not started", IN_PROGRESS: "In progress", DONE: "Done", BLOCKED: "Blocked"}


@dataclass
class StepProgress:
    step: runbook.Step
    total: int = 0
    done: int = 0
    blocked: int = 0
    overdue: int = 0
    touched: int = 0
    locked: bool = False
    signed_off: bool = False

    @property
    def state(self) -> str:
        if self.blocked or self.locked:
            return BLOCKED
        if self.total and self.done == self.total:
            return DONE
        if not self.total and self.signed_off:
            return DONE  # a step without items (none recorded) is completed by its sign-off
        if self.done or self.touched:
            return IN_PROGRESS
        return NOT_STARTED

    @property
    def state_label(self) -> str:
        if self.locked and not self.blocked:
            return "Locked"
        if self.state == DONE and not self.signed_off and self.step.number in runbook.OPENERS:
            return "Waiting for sign-off"  # its items are done, but the next step opens at the sign-off
        return STATE_LABELS[self.state]


@dataclass
class MigrationProgress:
    migration: Migration
    steps: list[StepProgress] = field(default_factory=list)
    last_activity: datetime | None = None

    @property
    def total(self) -> int:
        return sum(s.total for s in self.steps)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.steps)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def blocked(self) -> int:
        return sum(s.blocked for s in self.steps)

    @property
    def overdue(self) -> int:
        return sum(s.overdue for s in self.steps)

    @property
    def current_step(self) -> StepProgress | None:
        """Where the work stands: the furthest step worked on (items, uploads, jobs, notes...), or the
        next step not done after it; before any work, the first step not done. None: all done."""
        worked = [s for s in self.steps if s.state == DONE or s.done or s.touched or s.blocked]
        if worked and worked[-1].state != DONE:
            return worked[-1]
        after = worked[-1].step.number if worked else 0
        open_steps = [s for s in self.steps if s.state != DONE]
        return next((s for s in open_steps if s.step.number > after), open_steps[0] if open_steps else None)


def _empty_progress(
    migration: Migration, signed: set[tuple[int, int]], opened: set[tuple[int, int]]
) -> MigrationProgress:
    progress = MigrationProgress(migration)
    for step in runbook.STEPS:
        sp = StepProgress(step, signed_off=(migration.id, step.number) in signed)
        sp.locked = (
            step.opened_by is not None
            and (migration.id, step.opened_by) not in signed
            and (migration.id, step.number) not in opened  # opened early by a project manager
        )
        progress.steps.append(sp)
    return progress


def progress_for(migrations: list[Migration], today: date | None = None) -> list[MigrationProgress]:
    """Progress of several migrations from three queries, whatever their number."""
    today = today or timezone.localdate()
    ids = [m.id for m in migrations]
    # Sign-offs and steps opened early, in one query.
    signoffs = Signoff.objects.filter(migration_id__in=ids).values_list("migration_id", "step", Value(0))
    openings = StepOpening.objects.filter(migration_id__in=ids).values_list("migration_id", "step", Value(1))
    rows = list(signoffs.union(openings, all=True))
    signed = {(m, step) for m, step, early in rows if not early}
    opened = {(m, step) for m, step, early in rows if early}
    by_id = {m.id: _empty_progress(m, signed, opened) for m in migrations}
    rows = ChecklistItem.objects.filter(migration_id__in=ids).values_list(
        "migration_id", "step", "done", "blocker", "due_on", "updated_at"
    )
    for migration_id, step, done, blocker, due_on, updated_at in rows:
        sp = by_id[migration_id].steps[step - 1]
        sp.total += 1
        sp.done += done
        sp.blocked += bool(blocker)
        sp.overdue += (not done) and due_on is not None and due_on < today
        sp.touched += updated_at is not None
    # What happened at a step (an upload, a job, a recorded rule, an item saved) is in the activity
    # log under its step: a step is under way from its first such entry, ticked or not.
    log = (
        Activity.objects.filter(migration_id__in=ids)
        .values_list("migration_id", "step")
        .annotate(n=Count("id"), last=Max("at"))
        .order_by()
    )
    for migration_id, step, n, at in log:
        progress = by_id[migration_id]
        if step is not None and 1 <= step <= len(progress.steps):
            progress.steps[step - 1].touched += n
        if progress.last_activity is None or at > progress.last_activity:
            progress.last_activity = at
    return [by_id[m.id] for m in migrations]


def progress_get(migration: Migration) -> MigrationProgress:
    return progress_for([migration])[0]


SORTS = {
    "name": lambda p: p.migration.name.lower(),
    "step": lambda p: p.current_step.step.number if p.current_step else 10,
    "percent": lambda p: p.percent,
    "blocked": lambda p: p.blocked + p.overdue,
    "activity": lambda p: p.last_activity or datetime.min.replace(tzinfo=UTC),
    "golive": lambda p: p.migration.go_live or date.max,
}


def dashboard_rows(user, sort: str = "golive", descending: bool = False) -> list[MigrationProgress]:
    migrations = list(migrations_for_user(user))
    rows = progress_for(migrations)
    key = SORTS.get(sort, SORTS["golive"])
    return sorted(rows, key=key, reverse=descending)


def step_items(migration: Migration, step: int) -> list[ChecklistItem]:
    return list(
        migration.items.filter(step=step).select_related("done_by", "updated_by").order_by("position", "id")
    )


# --- uploads and jobs ---------------------------------------------------------------


# Slots whose files come in parts (Sales' Export to Excel stops at 100,000 rows per file): the
# step-2 export, and at step 8 the re-export and the export taken after the import.
PARTED_KINDS = (UploadKind.EXPORT, UploadKind.REEXPORT, UploadKind.VERIFICATION)


@dataclass
class UploadSlot:
    table: str
    label: str
    kind: str
    versions: list = field(default_factory=list)
    why_no_job: str = ""
    parts: list = field(default_factory=list)  # step-2 exports: the parts in use, in order
    not_used: str | None = None  # marked "not used" at step 2: the reason

    @property
    def latest(self):
        return self.versions[0] if self.versions else None

    @property
    def not_used_reason(self) -> str:
        """The reason as a sentence's end: the slot adds its own full stop."""
        return (self.not_used or "").strip().rstrip(".")

    @property
    def parted(self) -> bool:
        return self.kind in PARTED_KINDS

    @property
    def counted_parts(self) -> list:
        """The parts whose rows count: a refused part (columns of another view, say) does not."""
        return [p for p in self.parts if p.state != UploadState.FAILED]

    @property
    def refused_parts(self) -> int:
        return len(self.parts) - len(self.counted_parts)

    @property
    def total_rows(self) -> int | None:
        rows = [p.inspection.get("rows") for p in self.counted_parts]
        return sum(rows) if rows and None not in rows else None

    @property
    def earlier(self) -> list:
        """Versions no longer in use (replaced or removed): kept, downloadable."""
        used = {p.id for p in self.parts}
        return [v for v in self.versions if v.id not in used]


def upload_slots(migration: Migration, kind: str = "export") -> list[UploadSlot]:
    return upload_slots_by_kind(migration, (kind,))[kind]


def upload_slots_by_kind(migration: Migration, kinds: tuple[str, ...]) -> dict[str, list[UploadSlot]]:
    """Each kind's slots, in the tables' order, from one query over the uploads of those kinds (and
    one over step 2's items when the step-2 export is among them, for the tables not used)."""
    slots = {
        kind: {
            key: UploadSlot(key, info.export_name, kind, why_no_job="" if info.transforms else info.why_not)
            for key, info in TABLES.items()
            if kind == UploadKind.EXPORT or info.transforms
        }
        for kind in kinds
    }
    uploads = ExportUpload.objects.filter(migration=migration, kind__in=kinds).select_related("uploaded_by")
    for upload in uploads.order_by("table", "-version"):
        if slot := slots[upload.kind].get(upload.table):
            slot.versions.append(upload)
    not_used = tables_not_used(migration) if UploadKind.EXPORT in kinds else {}
    for kind_slots in slots.values():
        for slot in kind_slots.values():
            slot.parts = _parts_of(slot.versions)
            slot.not_used = not_used.get(slot.table) if slot.kind == UploadKind.EXPORT else None
    return {
        kind: [found[key] for key, _ in runbook.EXPORT_TABLES if key in found]
        for kind, found in slots.items()
    }


def tables_without_job() -> list[UploadSlot]:
    """The tables no job runs for, with why (no query: the engine's catalogue says)."""
    return [
        UploadSlot(key, info.export_name, UploadKind.EXPORT, why_no_job=info.why_not)
        for key, info in TABLES.items()
        if not info.transforms
    ]


def _parts_of(versions: list[ExportUpload]) -> list[ExportUpload]:
    """Each part's newest version, unless that part was removed; by part number."""
    newest: dict[int, ExportUpload] = {}
    for upload in sorted(versions, key=lambda u: -u.version):
        newest.setdefault(upload.part, upload)
    return [u for _, u in sorted(newest.items()) if u.removed_at is None]


def export_parts(migration: Migration, kind: str = UploadKind.EXPORT) -> dict[str, list[ExportUpload]]:
    """Table -> the parts in use of its step-2 export (or of its re-export, verification export:
    `kind`); tables without any are left out."""
    uploads = ExportUpload.objects.filter(migration=migration, kind=kind).select_related(
        "uploaded_by", "limit_confirmed_by"
    )
    by_table: dict[str, list[ExportUpload]] = defaultdict(list)
    for upload in uploads:
        by_table[upload.table].append(upload)
    found = {table: _parts_of(versions) for table, versions in by_table.items()}
    return {table: parts for table, parts in found.items() if parts}


def tables_not_used(migration: Migration) -> dict[str, str]:
    """Step-2 tables marked "not used", with the reason given."""
    items = migration.items.filter(step=runbook.EXPORTS_STEP, key__startswith="export-")
    return {
        i.key.removeprefix("export-"): i.details.get("reason", "")
        for i in items
        if i.details.get("status") == "not_used"
    }


def tables_in_use(migration: Migration) -> list[str]:
    not_used = tables_not_used(migration)
    return [key for key, _ in runbook.EXPORT_TABLES if key not in not_used]


# The F&O customer list is read by the account job only: it has that one slot.
PARTY_NUMBERS_TABLE = "account"


def upload_slot_exists(*, kind: str, table: str) -> bool:
    """The slots the upload URL serves: exports in parts (any table) and the customer list.

    Step 9's files have their own URL (a check, not a slot)."""
    if kind == UploadKind.PARTY_NUMBERS:
        return table == PARTY_NUMBERS_TABLE
    return kind in PARTED_KINDS and table in TABLES


def party_numbers_slot(migration: Migration) -> UploadSlot:
    slot = UploadSlot(PARTY_NUMBERS_TABLE, "Finance and Operations customer list", "party_numbers")
    slot.versions = list(
        ExportUpload.objects.filter(migration=migration, kind="party_numbers")
        .select_related("uploaded_by")
        .order_by("-version")[:10]
    )
    return slot


@dataclass
class JobRow:
    table: str
    label: str
    latest: object | None
    history: list


def job_rows(migration: Migration) -> list[JobRow]:

    jobs = TransformJob.objects.filter(migration=migration).select_related("created_by", "source", "reexport")
    by_table: dict[str, list] = defaultdict(list)
    for job in jobs.order_by("-created_at", "-id"):
        by_table[job.table].append(job)
    return [
        JobRow(key, info.export_name, (by_table[key] or [None])[0], by_table[key][:20])
        for key, info in TABLES.items()
        if info.transforms
    ]


# --- the status feed: a fixed number of queries whatever the number of uploads and jobs ---------


def status_membership(*, user, migration_id: int) -> Membership:
    """The user's membership with its migration and the latest cross-file check's id, state and
    summary (`check_id`, `check_state`, `check_summary`), in one query; or 404."""
    latest = CrossCheck.objects.filter(migration=OuterRef("migration")).order_by("-created_at", "-id")
    try:
        return (
            Membership.objects.select_related("migration")
            .annotate(
                check_id=Subquery(latest.values("id")[:1]),
                check_state=Subquery(latest.values("state")[:1]),
                check_summary=Subquery(latest.values("summary")[:1]),
            )
            .get(migration_id=migration_id, user=user)
        )
    except Membership.DoesNotExist:
        raise Http404("No such migration") from None


@dataclass
class StatusUploads:
    parts: dict[tuple[str, str], list[ExportUpload]]  # (kind, table) -> parts in use, as export_parts()
    latest: list[ExportUpload]  # every other kind's newest version per table, as latest_uploads()


def status_uploads(migration: Migration) -> StatusUploads:
    """Every upload of the migration in one query, without the inspection JSON (its row count as
    `row_count`): the export's parts in use and each other slot's newest version."""
    uploads = (
        ExportUpload.objects.filter(migration=migration)
        .select_related("uploaded_by")
        .defer("inspection")
        .annotate(row_count=KeyTransform("rows", "inspection"))
        .order_by("kind", "table", "-version")
    )
    parted: dict[tuple[str, str], list[ExportUpload]] = defaultdict(list)
    latest: dict[tuple[str, str], ExportUpload] = {}
    for upload in uploads:
        if upload.kind in PARTED_KINDS:
            parted[(upload.kind, upload.table)].append(upload)
        else:
            latest.setdefault((upload.kind, upload.table), upload)
    kinds = {kind: n for n, kind in enumerate(UploadKind.values)}

    def order(key: tuple[str, str]) -> tuple[int, str]:
        return kinds[key[0]], key[1]

    parts = {key: _parts_of(parted[key]) for key in sorted(parted, key=order)}
    return StatusUploads(
        parts={key: found for key, found in parts.items() if found},
        latest=[latest[key] for key in sorted(latest, key=order)],
    )


def _newest_per_table(queryset: QuerySet) -> QuerySet:
    """Each table's newest row (by created_at, then id), in one query: a window, not a scan in Python."""
    return queryset.annotate(
        newest=Window(
            RowNumber(), partition_by=[F("table")], order_by=[F("created_at").desc(), F("id").desc()]
        )
    ).filter(newest=1)


STATUS_JOB_FIELDS = (
    "id", "table", "state", "rows_done", "rows_total", "progress", "phase", "message",
    "cancel_requested", "created_at", "started_at", "finished_at",
)  # fmt: skip


def status_jobs(migration: Migration) -> list[TransformJob]:
    """Each table's newest job, in the order the tables run; only the fields the feed shows."""
    jobs = _newest_per_table(TransformJob.objects.filter(migration=migration).only(*STATUS_JOB_FIELDS))
    order = {key: n for n, key in enumerate(TABLES)}
    return sorted(jobs, key=lambda job: order.get(job.table, len(order)))


def status_verifications(migration: Migration) -> list[ImportVerification]:
    """Each table's newest verification, in one query."""
    found = _newest_per_table(
        ImportVerification.objects.filter(migration=migration).only(
            "id", "table", "state", "message", "created_at"
        )
    )
    return sorted(found, key=lambda check: check.table)


def latest_cross_check(migration: Migration) -> CrossCheck | None:
    return migration.cross_checks.first()


def latest_uploads(migration: Migration, kind: str = UploadKind.EXPORT) -> dict[str, ExportUpload]:
    """The newest version of each slot of a kind."""
    latest: dict[str, ExportUpload] = {}
    uploads = ExportUpload.objects.filter(migration=migration, kind=kind).select_related("uploaded_by")
    for upload in uploads.order_by("table", "-version"):
        latest.setdefault(upload.table, upload)
    return latest


def transformable_tables() -> list[str]:
    return [key for key, info in TABLES.items() if info.transforms]


def latest_results(migration: Migration) -> list[TransformJob]:
    """Each table's newest successful job, in the order the jobs run."""
    done = TransformJob.objects.filter(migration=migration, state=JobState.SUCCEEDED)
    newest = {job.table: job for job in _newest_per_table(done)}  # every table in one query
    return [newest[table] for table in transformable_tables() if table in newest]


# --- the import route (step 8) --------------------------------------------------------


def _import_jobs(migration: Migration) -> QuerySet[TransformJob]:
    """Successful jobs that filled a re-export: what is meant to be imported."""
    done = TransformJob.objects.filter(migration=migration, state=JobState.SUCCEEDED)
    return done.exclude(import_file="")


def latest_import_job(migration: Migration, table: str) -> TransformJob | None:
    """The table's newest successful job that filled a re-export: what is meant to be imported."""
    return _import_jobs(migration).filter(table=table).order_by("-created_at", "-id").first()


def latest_import_jobs(migration: Migration) -> dict[str, TransformJob]:
    """Table -> its latest_import_job(), every table in one query."""
    return {job.table: job for job in _newest_per_table(_import_jobs(migration))}


@dataclass
class ImportRow:
    """One table of the import route: what to add to the view, its re-export, its files, its proof."""

    table: str
    label: str
    columns: list[str]
    reexport: UploadSlot
    verification: UploadSlot
    job: TransformJob | None = None
    check: ImportVerification | None = None
    exported_at: datetime | None = None
    stale: bool = False
    verified: bool = False

    @property
    def parts(self) -> list[dict]:
        return self.job.import_parts if self.job else []

    @property
    def superseded(self) -> bool:
        """The newest verification checked an earlier job's import file: a rerun made a new one."""
        return self.check is not None and self.job is not None and self.check.job_id != self.job.id


def view_columns(table: str) -> list[str]:
    """dual-write's columns the table's view in Sales must show, by display name, once each."""
    return list(dict.fromkeys(t.col.display for t in TABLES[table].targets))


def _exported_at(uploads: list[ExportUpload]) -> datetime | None:
    """When the re-export was taken: the newest Modified On of its parts."""
    found = [(u.inspection or {}).get("modified_on_newest") for u in uploads]
    newest = [datetime.fromisoformat(n) for n in found if n]
    return max(newest) if newest else None


def import_rows(migration: Migration, max_age, now: datetime | None = None) -> list[ImportRow]:
    """The six imported tables in import order, in four queries whatever their uploads and jobs."""
    now = now or timezone.now()
    slots = upload_slots_by_kind(migration, (UploadKind.REEXPORT, UploadKind.VERIFICATION))
    reexports = {s.table: s for s in slots[UploadKind.REEXPORT]}
    checks = {s.table: s for s in slots[UploadKind.VERIFICATION]}
    done = set(migration.items.filter(key__startswith="init-", done=True).values_list("key", flat=True))
    jobs = latest_import_jobs(migration)
    verifications = {
        v.table: v for v in _newest_per_table(ImportVerification.objects.filter(migration=migration))
    }
    rows = []
    for table, label in runbook.TRANSFORM_TABLES:
        row = ImportRow(table, label, view_columns(table), reexports[table], checks[table])
        row.job = jobs.get(table)
        row.check = verifications.get(table)
        row.exported_at = _exported_at(row.reexport.parts)
        row.stale = row.exported_at is not None and now - row.exported_at > max_age
        row.verified = f"init-{table}" in done
        rows.append(row)
    return rows


def unverified_tables(migration: Migration) -> list[str]:
    """Step 8's tables whose import is neither verified by an export nor ticked by a manager."""
    open_items = migration.items.filter(step=runbook.INITIALIZE_STEP, key__startswith="init-", done=False)
    return list(open_items.order_by("position").values_list("title", flat=True))


def import_pack_jobs(migration: Migration) -> list[TransformJob]:
    """Each imported table's latest import job, in import order."""
    jobs = latest_import_jobs(migration)
    return [jobs[table] for table in IMPORT_ORDER if table in jobs]


def latest_verifications(migration: Migration) -> list[ImportVerification]:
    """Each table's newest verification, in one query."""
    latest: dict[str, ImportVerification] = {}
    for check in ImportVerification.objects.filter(migration=migration).order_by(
        "table", "-created_at", "-id"
    ):
        latest.setdefault(check.table, check)
    return list(latest.values())


@dataclass(frozen=True)
class JobInput:
    role: str  # "step-2 export", "re-export", "header export"
    part: int
    count: int  # parts of that role
    upload: ExportUpload

    @property
    def label(self) -> str:
        of = f" part {self.part}" if self.count > 1 else ""
        return f"{self.role}{of}: {self.upload.original_name} version {self.upload.version}"


def _job_input_ids(job: TransformJob) -> list[tuple[str, list[int]]]:
    run = job.run_settings or {}
    return [
        ("step-2 export", list(job.parts or [job.source_id])),
        ("re-export", list(run.get("reexport_parts") or ([job.reexport_id] if job.reexport_id else []))),
        ("header export", list(run.get("header_parts") or [])),
    ]


def job_inputs(jobs: list[TransformJob]) -> dict[int, list[JobInput]]:
    """Every file each job read, part by part (not only its first part), in one query."""
    wanted = {job.id: _job_input_ids(job) for job in jobs}
    ids = {i for roles in wanted.values() for _, listed in roles for i in listed}
    found = ExportUpload.objects.in_bulk(ids)
    return {
        job_id: [
            JobInput(role, n, len(listed), found[i])
            for role, listed in roles
            for n, i in enumerate(listed, start=1)
            if i in found
        ]
        for job_id, roles in wanted.items()
    }


def latest_result(migration: Migration, table: str) -> TransformJob | None:
    """The table's newest successful step-8 job: what step 9 compares with."""
    return TransformJob.objects.filter(migration=migration, table=table, state=JobState.SUCCEEDED).first()


# --- step 9: after initial sync ---------------------------------------------------------------


@dataclass
class SyncSlot:
    """One F&O entity of a table at step 9: its reconciliations, newest first."""

    table: str
    label: str
    entity: str
    filter_text: str
    checks: list = field(default_factory=list)

    @property
    def latest(self) -> SyncCheck | None:
        return self.checks[0] if self.checks else None


@dataclass
class SyncRow:
    table: str
    label: str
    job: TransformJob | None
    slots: list[SyncSlot]
    triages: list = field(default_factory=list)

    @property
    def triage(self) -> SyncCheck | None:
        return self.triages[0] if self.triages else None


def sync_rows(migration: Migration) -> list[SyncRow]:
    """Step 9's tables in the order their maps sync, each with its entities' checks and triages."""
    from .engine import RECONCILE_SPECS

    checks: dict[tuple, list] = defaultdict(list)
    rows = SyncCheck.objects.filter(migration=migration).select_related("created_by", "job")
    for check in rows.prefetch_related("uploads"):
        checks[(check.kind, check.table, check.entity)].append(check)
    jobs = {job.table: job for job in latest_results(migration)}
    out = []
    for table, label in runbook.TRANSFORM_TABLES:
        slots = [
            SyncSlot(
                table,
                label,
                spec.entity,
                spec.filter_text,
                checks[(SyncCheckKind.RECONCILE, table, spec.entity)][:10],
            )
            for spec in RECONCILE_SPECS[table]
        ]
        out.append(
            SyncRow(table, label, jobs.get(table), slots, checks[(SyncCheckKind.TRIAGE, table, "")][:10])
        )
    return out


def latest_sync_checks(migration: Migration) -> list[SyncCheck]:
    """The newest finished check of each slot (reconciliation per entity, triage per table)."""
    seen, latest = set(), []
    done = SyncCheck.objects.filter(migration=migration, state=JobState.SUCCEEDED).prefetch_related("uploads")
    for check in done.select_related("created_by", "job"):
        if (check.kind, check.table, check.entity) not in seen:
            seen.add((check.kind, check.table, check.entity))
            latest.append(check)
    return latest


# --- the step-2 gate: nothing may open the uninstall while an export is not safe -------------


@dataclass(frozen=True)
class GateReason:
    text: str
    url: str  # where to fix it


def _slot_url(migration: Migration, table: str) -> str:
    from django.urls import reverse

    step = runbook.STEPS_BY_NUMBER[runbook.EXPORTS_STEP].slug
    return reverse("runbook", args=[migration.id, step]) + f"#slot-{table}"


def _part_reasons(migration: Migration, label: str, table: str, parts: list) -> list[GateReason]:
    url = _slot_url(migration, table)
    reasons = []
    for n, part in enumerate(parts, start=1):
        name = f"{label}, part {n} ({part.original_name})"
        if part.state in (UploadState.QUEUED, UploadState.INSPECTING):
            reasons.append(GateReason(f"{name} is not inspected yet: wait until it shows Ready.", url))
        elif part.state == UploadState.FAILED:
            reasons.append(GateReason(f"{name} failed: {part.state_message} Replace or remove it.", url))
        elif part.state == UploadState.PROBLEMS and _looks_like_another(part, table):
            reasons.append(GateReason(f"{name}: {part.state_message} Remove it from this slot.", url))
        elif part.state == UploadState.PROBLEMS and part.inspection.get("missing_required"):
            missing = ", ".join(part.inspection["missing_required"])
            reasons.append(
                GateReason(f"{name} lacks the P2C column(s) {missing}: export it again with them.", url)
            )
        if part.limit_unconfirmed:
            reasons.append(
                GateReason(
                    f"{name} has exactly 100,000 rows, probably cut off at Sales' export limit: export the "
                    "rest as another part, or confirm that the count is real.",
                    url,
                )
            )
    return reasons


def _looks_like_another(part: ExportUpload, table: str) -> bool:
    detected = part.inspection.get("detected_table")
    return bool(detected) and detected != table


def cross_check_inputs(
    migration: Migration, parts: dict[str, list] | None = None, in_use: list[str] | None = None
) -> dict[str, list[int]]:
    """What the cross-file check runs over: every table in use, each with its parts' ids."""
    parts = export_parts(migration) if parts is None else parts
    in_use = tables_in_use(migration) if in_use is None else in_use
    return {t: [p.id for p in parts[t]] for t in sorted(in_use) if t in parts}


def cross_check_waits(parts: dict[str, list], in_use: list[str]) -> list[str]:
    """Why the cross-file check cannot run over these parts, one text per table; empty when it can."""
    labels = dict(runbook.EXPORT_TABLES)
    waits = [] if in_use else ["every table is marked not used"]
    for table in in_use:
        if table not in parts:
            waits.append(f"{labels[table]} has no export")
        elif any(p.state not in (UploadState.READY, UploadState.PROBLEMS) for p in parts[table]):
            waits.append(f"{labels[table]} has a part not inspected yet, or refused")
    return waits


def slots_parts_in_use(slots: list[UploadSlot]) -> tuple[dict[str, list], list[str]]:
    """Step 2's slots as the export parts per table and the tables in use."""
    parts = {slot.table: slot.parts for slot in slots if slot.parts}
    not_used = {slot.table for slot in slots if slot.not_used is not None}
    return parts, [key for key, _ in runbook.EXPORT_TABLES if key not in not_used]


def unacknowledged_errors(migration: Migration, check: CrossCheck) -> list[dict]:
    acknowledged = set(migration.acknowledgements.values_list("code", "table", "message"))
    return [
        f
        for f in check.result.get("findings", [])
        if f["severity"] == "error" and (f["code"], f["table"], f["message"]) not in acknowledged
    ]


def step2_gate(
    migration: Migration, slots: list[UploadSlot] | None = None, check: CrossCheck | None = None
) -> list[GateReason]:
    """Every reason the step-2 sign-off (which opens the uninstall) is refused now, with a link.

    The step-2 page passes the export slots and the latest cross-file check it read already
    (together); without them they are read here."""
    from django.urls import reverse

    if slots is None:
        slots, check = upload_slots(migration), latest_cross_check(migration)
    labels = dict(runbook.EXPORT_TABLES)
    parts, in_use = slots_parts_in_use(slots)
    not_used = {slot.table: slot.not_used for slot in slots if slot.not_used is not None}
    reasons: list[GateReason] = []
    for table in in_use:
        if table not in parts:
            reasons.append(
                GateReason(
                    f"{labels[table]} has no export: upload it, or mark the table not used with a reason.",
                    _slot_url(migration, table),
                )
            )
            continue
        reasons += _part_reasons(migration, labels[table], table, parts[table])
    step_url = reverse("runbook", args=[migration.id, runbook.STEPS_BY_NUMBER[runbook.EXPORTS_STEP].slug])
    for table, reason in not_used.items():
        if not reason.strip():
            reasons.append(
                GateReason(
                    f"{labels[table]} is marked not used without a reason: say why in its checklist row.",
                    f"{step_url}#item-export-{table}",
                )
            )
    check_url = step_url + "#cross-check"
    if not any(t in parts for t in in_use):
        return reasons  # nothing uploaded to check (a table without parts is a reason above)
    if check is None or check.inputs != cross_check_inputs(migration, parts, in_use):
        reasons.append(
            GateReason(
                "The cross-file check has not run over the current exports yet: it runs by itself once "
                "every table in use is inspected; a project manager can also run it from its card.",
                check_url,
            )
        )
    elif check.state in (UploadState.QUEUED, UploadState.INSPECTING):
        reasons.append(GateReason("The cross-file check is still running.", check_url))
    elif check.state == UploadState.FAILED:
        reasons.append(GateReason(f"The cross-file check failed: {check.message}", check_url))
    else:
        for finding in unacknowledged_errors(migration, check):
            reasons.append(
                GateReason(
                    "Cross-file check error not acknowledged: "
                    f"{labels.get(finding['table'], finding['table'])}: {finding['message']}",
                    check_url,
                )
            )
    return reasons


def check_findings(migration: Migration, check: CrossCheck | None) -> list[dict]:
    """The check's findings, each with its acknowledgement (errors only) if any."""
    if check is None:
        return []
    acks = {
        (a.code, a.table, a.message): a for a in migration.acknowledgements.select_related("acknowledged_by")
    }
    labels = dict(runbook.EXPORT_TABLES)
    return [
        {
            **f,
            "label": labels.get(f["table"], f["table"]),
            "ack": acks.get((f["code"], f["table"], f["message"])),
        }
        for f in check.result.get("findings", [])
    ]


@dataclass(frozen=True)
class RowLimit:
    company: str
    table: str
    label: str
    rows: int
    limit: int
    guidance: bool  # the accounts' figure is Microsoft's guidance, not a hard limit

    @property
    def over(self) -> bool:
        return self.rows > self.limit


SYNC_LIMITS = {"per_company": 500_000, "accounts_guidance": 70_000}  # engine/check.py, reference.md


def job_row_limits(job: TransformJob) -> list[RowLimit]:
    """A job's rows per company (its Company values) against initial sync's limits."""
    rows = job.summary.get("rows_by_company") or {}
    return _limits({company: {job.table: n} for company, n in rows.items()}, SYNC_LIMITS)


def row_limits(check: CrossCheck | None) -> list[RowLimit]:
    """Rows per company and table (tables that are initialized) against initial sync's limits."""
    if check is None or not check.result.get("rows"):
        return []
    return _limits(check.result["rows"], check.result.get("limits") or SYNC_LIMITS)


def _limits(per_company: dict[str, dict[str, int]], limits: dict[str, int]) -> list[RowLimit]:
    out = []
    order = list(TABLES)  # the engine's order of tables, as everywhere in the UI
    for company, tables in sorted(per_company.items()):
        for table, rows in sorted(tables.items(), key=lambda t: order.index(t[0]) if t[0] in order else 99):
            if table not in TABLES or not TABLES[table].transforms:
                continue
            guidance = table == "account"
            limit = limits["accounts_guidance"] if guidance else limits["per_company"]
            out.append(RowLimit(company, table, TABLES[table].export_name, rows, limit, guidance))
    return out


@dataclass(frozen=True)
class NotSyncing:
    """Accounts whose relationship type is not Customer: they stay out of Finance and Operations."""

    count: int | None  # None: not known before the account job runs (a relationship type rule)
    total: int | None
    by_type: dict
    from_job: bool


@dataclass(frozen=True)
class TypeChange:
    rows: int
    now: str  # as exported ("" when empty)
    becomes: str


def relationship_type_changes(
    migration: Migration, account_parts: list | None = None
) -> list[TypeChange] | None:
    """What the account job will do to the accounts' Relationship Type, from the step-2 export's
    current values and the settings: [] when nothing changes; None when it is not known (no
    export read yet, or a rule that reads another column, decided per account by the job)."""
    if account_parts is None:
        account_parts = export_parts(migration).get("account", [])
    parts = [p for p in account_parts if p.state != UploadState.FAILED]
    if not parts or any("relationship_types_now" not in p.inspection for p in parts):
        return None
    now: dict[str, int] = {}
    for part in parts:
        for value, n in part.inspection["relationship_types_now"].items():
            now[value] = now.get(value, 0) + n
    s = migration.init_settings
    if s.relationship_type_rule_column and s.relationship_type_rule_map:
        if s.relationship_type_rule_column.strip().casefold() != "relationship type":
            return None
        mapping = {k.strip().casefold(): v for k, v in s.relationship_type_rule_map.items()}
        becomes = {v: mapping.get(v.strip().casefold(), s.relationship_type) for v in now}
    else:
        becomes = {v: s.relationship_type for v in now}
    changes = [TypeChange(n, value, becomes[value]) for value, n in now.items() if value != becomes[value]]
    return sorted(changes, key=lambda c: (-c.rows, c.now))


def accounts_not_syncing(migration: Migration, account_parts: list | None = None) -> NotSyncing:
    job = TransformJob.objects.filter(migration=migration, table="account", state=JobState.SUCCEEDED).first()
    if job is not None and job.summary.get("relationship_types") is not None:
        kinds = job.summary["relationship_types"]
        others = {k: n for k, n in kinds.items() if k != "Customer"}
        return NotSyncing(sum(others.values()), job.summary.get("rows_in"), others, True)
    s = migration.init_settings
    parts = export_parts(migration).get("account", []) if account_parts is None else account_parts
    rows = [p.inspection.get("rows") for p in parts]
    total = sum(rows) if rows and None not in rows else None
    if s.relationship_type_rule_column:
        return NotSyncing(None, total, {}, False)
    if s.relationship_type == "Customer":
        return NotSyncing(0, total, {}, False)
    return NotSyncing(total, total, {s.relationship_type: total} if total else {}, False)


# --- a job's issues, by the million ------------------------------------------------------

ISSUES_PER_PAGE = 100
_CURSOR = re.compile(r"^(\d{1,10})\.(\d{1,19})$")  # "row.id" of the issue a page starts after


@dataclass
class IssuePage:
    """One page of a job's issues, in the shape the template reads from Django's Page, with the
    cursors of its first and last issue for the previous and next links (keyset paging)."""

    object_list: list
    number: int
    num_pages: int
    count: int

    @property
    def paginator(self) -> "IssuePage":
        return self

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.num_pages

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def before(self) -> str:
        return _cursor_of(self.object_list[0]) if self.object_list else ""

    @property
    def after(self) -> str:
        return _cursor_of(self.object_list[-1]) if self.object_list else ""


def _cursor_of(issue: JobIssue) -> str:
    return f"{issue.row}.{issue.id}"


def job_issue_count(job: TransformJob, *, severity: str = "", code: str = "") -> int:
    """How many issues the filters keep, from the report's counts: no count(*) over the table."""
    counts = job.summary.get("issue_counts", {})
    return sum(
        n
        for c, n in counts.items()
        if (not code or c == code) and (not severity or ISSUE_CODES.get(c, ("",))[0] == severity)
    )


@dataclass(frozen=True)
class IssueQuery:
    """What the results page asks: filters, and where the page starts. `page` is a number or
    "last"; `after` / `before` is the cursor ("row.id") of the issue next to the page."""

    severity: str = ""
    code: str = ""
    page: str = ""
    after: str = ""
    before: str = ""


def job_issue_page(job: TransformJob, query: IssueQuery) -> IssuePage:
    """A page of the job's issues in (row, id) order, read by keyset: the previous and next links
    carry the (row, id) of the issue beside the page, so each page is one index range of 100
    entries, whatever its depth. A page asked by number alone (first, last, a typed number) is
    found from the nearer end. The count is the report's; a filter combining a code with another
    severity than the code's is empty without a query."""
    count = job_issue_count(job, severity=query.severity, code=query.code)
    pages = max(1, -(-count // ISSUES_PER_PAGE))
    number = pages if query.page == "last" else int(query.page) if query.page.isdigit() else 1
    number = min(max(number, 1), pages)
    if not count:
        return IssuePage([], 1, 1, 0)
    # A code has one severity: filtering by the code alone lets its index serve the order.
    issues = JobIssue.objects.filter(job=job, **({"code": query.code} if query.code else {}))
    if query.severity and not query.code:
        issues = issues.filter(severity=query.severity)
    if after := _CURSOR.match(query.after):
        return IssuePage(_after(issues, *map(int, after.groups())), number, pages, count)
    if before := _CURSOR.match(query.before):
        return IssuePage(_before(issues, *map(int, before.groups())), number, pages, count)
    return IssuePage(_numbered(issues, number, count), number, pages, count)


def _after(issues: QuerySet, row: int, id_: int, size: int = ISSUES_PER_PAGE) -> list[JobIssue]:
    # (row, id) > (r, i) said so an index on (job, [code|severity,] row, id) starts at row r:
    # `row >= r` bounds the range, the OR only sorts out the issues of row r itself.
    later = issues.filter(Q(row__gt=row) | Q(id__gt=id_), row__gte=row)
    return list(later.order_by("row", "id")[:size])


def _before(issues: QuerySet, row: int, id_: int, size: int = ISSUES_PER_PAGE) -> list[JobIssue]:
    earlier = issues.filter(Q(row__lt=row) | Q(id__lt=id_), row__lte=row)
    return list(earlier.order_by("-row", "-id")[:size])[::-1]


def _numbered(issues: QuerySet, number: int, count: int) -> list[JobIssue]:
    """Page `number` without a cursor: the first and the last page are an index range from their
    end; a page in between skips index entries only ((row, id), no table rows), from the nearer end."""
    first = (number - 1) * ISSUES_PER_PAGE
    size = min(ISSUES_PER_PAGE, count - first)
    from_end = count - first - size
    if number == 1:
        return list(issues.order_by("row", "id")[:size])
    if from_end == 0:
        return list(issues.order_by("-row", "-id")[:size])[::-1]
    if first <= from_end:
        key = issues.order_by("row", "id").values_list("row", "id")[first - 1 : first]
        return _after(issues, *key[0], size=size) if key else []
    key = issues.order_by("-row", "-id").values_list("row", "id")[from_end - 1 : from_end]
    return _before(issues, *key[0], size=size) if key else []
