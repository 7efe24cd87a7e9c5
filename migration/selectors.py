"""Reads: what a user may see, and the progress figures of migrations."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils import timezone

from . import runbook
from .engine import TABLES
from .models import (
    ChecklistItem,
    CrossCheck,
    ExportUpload,
    ImportVerification,
    JobState,
    Membership,
    Migration,
    Signoff,
    SyncCheck,
    SyncCheckKind,
    TransformJob,
    UploadKind,
)


def migrations_for_user(user) -> QuerySet[Migration]:
    return Migration.objects.filter(memberships__user=user).select_related("copied_from")


def membership_get(*, user, migration_id: int) -> Membership:
    """The user's membership, or 404: non-members must not learn a migration exists."""
    try:
        return Membership.objects.select_related("migration").get(migration_id=migration_id, user=user)
    except Membership.DoesNotExist:
        raise Http404("No such migration") from None


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
        if self.done or self.touched:
            return IN_PROGRESS
        return NOT_STARTED

    @property
    def state_label(self) -> str:
        return "Locked" if self.locked and not self.blocked else STATE_LABELS[self.state]


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
        """The first step not done: where the migration stands."""
        return next((s for s in self.steps if s.state != DONE), None)


def _empty_progress(migration: Migration, signed: set[tuple[int, int]]) -> MigrationProgress:
    progress = MigrationProgress(migration)
    for step in runbook.STEPS:
        sp = StepProgress(step, signed_off=(migration.id, step.number) in signed)
        sp.locked = step.opened_by is not None and (migration.id, step.opened_by) not in signed
        progress.steps.append(sp)
    return progress


def progress_for(migrations: list[Migration], today: date | None = None) -> list[MigrationProgress]:
    """Progress of several migrations from three queries, whatever their number."""
    today = today or timezone.localdate()
    ids = [m.id for m in migrations]
    signed = set(Signoff.objects.filter(migration_id__in=ids).values_list("migration_id", "step"))
    by_id = {m.id: _empty_progress(m, signed) for m in migrations}
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
    last = Migration.objects.filter(id__in=ids).annotate(last=Max("activities__at")).values_list("id", "last")
    for migration_id, at in last:
        by_id[migration_id].last_activity = at
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


@dataclass
class UploadSlot:
    table: str
    label: str
    kind: str
    versions: list = field(default_factory=list)
    why_no_job: str = ""

    @property
    def latest(self):
        return self.versions[0] if self.versions else None


def upload_slots(migration: Migration, kind: str = "export") -> list[UploadSlot]:

    slots = {
        key: UploadSlot(key, info.export_name, kind, why_no_job="" if info.transforms else info.why_not)
        for key, info in TABLES.items()
        if kind == "export" or info.transforms
    }
    uploads = ExportUpload.objects.filter(migration=migration, kind=kind).select_related("uploaded_by")
    for upload in uploads.order_by("table", "-version"):
        if upload.table in slots:
            slots[upload.table].versions.append(upload)
    return [slots[key] for key, _ in runbook.EXPORT_TABLES if key in slots]


def party_numbers_slot(migration: Migration) -> UploadSlot:

    slot = UploadSlot("account", "Finance and Operations customer list", "party_numbers")
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
    latest = (done.filter(table=table).first() for table in transformable_tables())
    return [job for job in latest if job]


# --- the import route (step 8) --------------------------------------------------------


def latest_import_job(migration: Migration, table: str) -> TransformJob | None:
    """The table's newest successful job that filled a re-export: what is meant to be imported."""
    done = TransformJob.objects.filter(migration=migration, table=table, state=JobState.SUCCEEDED)
    return done.exclude(import_file="").order_by("-created_at", "-id").first()


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


def view_columns(table: str) -> list[str]:
    """dual-write's columns the table's view in Sales must show, by display name, once each."""
    return list(dict.fromkeys(t.col.display for t in TABLES[table].targets))


def _exported_at(upload: ExportUpload | None) -> datetime | None:
    newest = (upload.inspection or {}).get("modified_on_newest") if upload else None
    return datetime.fromisoformat(newest) if newest else None


def import_rows(migration: Migration, max_age, now: datetime | None = None) -> list[ImportRow]:
    """The six imported tables in import order (a bounded number of queries per table)."""
    now = now or timezone.now()
    reexports = {s.table: s for s in upload_slots(migration, UploadKind.REEXPORT)}
    checks = {s.table: s for s in upload_slots(migration, UploadKind.VERIFICATION)}
    done = set(migration.items.filter(key__startswith="init-", done=True).values_list("key", flat=True))
    rows = []
    for table, label in runbook.TRANSFORM_TABLES:
        row = ImportRow(table, label, view_columns(table), reexports[table], checks[table])
        row.job = latest_import_job(migration, table)
        row.check = ImportVerification.objects.filter(migration=migration, table=table).first()
        row.exported_at = _exported_at(row.reexport.latest)
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
    jobs = (latest_import_job(migration, table) for table, _ in runbook.TRANSFORM_TABLES)
    return [job for job in jobs if job is not None]


def latest_verifications(migration: Migration) -> list[ImportVerification]:
    """Each table's newest verification, in one query."""
    latest: dict[str, ImportVerification] = {}
    for check in ImportVerification.objects.filter(migration=migration).order_by(
        "table", "-created_at", "-id"
    ):
        latest.setdefault(check.table, check)
    return list(latest.values())


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
