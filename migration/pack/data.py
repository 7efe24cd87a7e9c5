"""What the go-live evidence pack holds, read from the database as it stands (no file is opened)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from .. import engine, runbook, selectors
from ..models import (
    Activity,
    ChecklistItem,
    Evidence,
    ExportUpload,
    Membership,
    Migration,
    Signoff,
    SyncCheck,
    SyncCheckKind,
    TransformJob,
    UploadState,
)

STAGES = (
    ("exported", "Exported (step 2)"),
    ("transformed", "Transformed (step 8)"),
    ("verified", "Imported and verified"),
    ("expected", "Expected to sync"),
    ("synced", "Synced to F&O"),
)


@dataclass
class StageRow:
    """One table and company through the stages; None: not recorded."""

    table: str
    label: str
    company: str
    exported: int | None = None
    transformed: int | None = None
    verified: int | None = None
    expected: int | None = None
    synced: int | None = None
    missing: int | None = None
    unexpected: int | None = None
    differing: int | None = None

    def value(self, stage: str) -> int | None:
        return getattr(self, stage)


@dataclass
class FileRow:
    what: str
    name: str
    size: int | None
    sha256: str
    at: datetime | None
    by: str


@dataclass
class Pack:
    migration: Migration
    created_at: datetime
    created_by: str
    progress: selectors.MigrationProgress
    members: list[Membership]
    items: list[ChecklistItem]
    signoffs: list[Signoff]
    uploads: list[ExportUpload]
    evidence: list[Evidence]
    jobs: list[TransformJob]
    checks: list[SyncCheck]
    stages: list[StageRow]
    issues: list[tuple[str, str, int]]  # code, severity, count (latest jobs)
    activities: list[Activity]
    files: list[FileRow] = field(default_factory=list)
    inputs: dict[int, list] = field(default_factory=dict)  # job id -> selectors.JobInput, every part

    @property
    def reconciliations(self) -> list[SyncCheck]:
        return [c for c in self.checks if c.kind == SyncCheckKind.RECONCILE]

    @property
    def triages(self) -> list[SyncCheck]:
        return [c for c in self.checks if c.kind == SyncCheckKind.TRIAGE]

    @property
    def settings(self) -> dict:
        return _settings(self.migration)


def _settings(migration: Migration) -> dict:
    s = getattr(migration, "init_settings", None)
    if s is None:
        return {}
    skip = {"id", "migration", "updated_by", "updated_at"}
    return {f.verbose_name: getattr(s, f.attname) for f in s._meta.concrete_fields if f.name not in skip}


def verified_counts(migration: Migration) -> dict[tuple[str, str], int]:
    """Records imported and verified per (table, company): those whose values an export taken
    after the import shows as meant (step 8's latest finished verification of each table). A
    table never verified has no entry, so the stage shows as not recorded, never as zero."""
    counts: dict[tuple[str, str], int] = {}
    for check in selectors.latest_verifications(migration):
        if check.state not in (UploadState.READY, UploadState.PROBLEMS):
            continue  # not compared (yet)
        for company, per in (check.result.get("by_company") or {}).items():
            counts[(check.table, company)] = int(per.get("match", 0))
    return counts


def step2_counts(migration: Migration) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Rows exported at step 2: per (table, company) from the cross-file check over the step-2
    exports, and per table from its parts in use (a re-export's count is not step 2's)."""
    check = selectors.latest_cross_check(migration)
    rows = (check.result.get("rows") or {}) if check is not None else {}
    per_company = {(t, company): n for company, tables in rows.items() for t, n in tables.items()}
    totals = {}
    for table, parts in selectors.export_parts(migration).items():
        counted = [p.inspection.get("rows") for p in parts if p.state != UploadState.FAILED]
        if counted and None not in counted:
            totals[table] = sum(counted)
    return per_company, totals


def _stages(migration: Migration, jobs: list[TransformJob], checks: list[SyncCheck]) -> list[StageRow]:
    verified = verified_counts(migration)
    step2, step2_totals = step2_counts(migration)
    by_table: dict[str, list[SyncCheck]] = defaultdict(list)
    for check in checks:
        if check.kind == SyncCheckKind.RECONCILE:
            by_table[check.table].append(check)
    rows = []
    for job in jobs:
        label = engine.TABLES[job.table].export_name
        recs = [c for c in by_table[job.table] if c.job_id == job.id]
        per_company = next((c.result.get("ours", {}).get("by_company") for c in recs), None)
        if not per_company:
            company = (
                (job.run_settings or {}).get("company", "")
                if not job.run_settings.get("company_rule")
                else ""
            )
            per_company = {company or "(all)": job.summary.get("rows_out", job.rows_done)}
        synced: dict[str, dict] = defaultdict(lambda: defaultdict(int))
        for check in recs:
            for c in check.result.get("companies", []):
                for key in ("expected", "arrived", "missing", "unexpected", "differing"):
                    synced[c["company"]][key] += c[key]
        companies = sorted(set(per_company) | set(synced))
        for company in companies:
            s = synced.get(company)
            exported = step2.get((job.table, company))
            if exported is None and len(companies) == 1:
                exported = step2_totals.get(job.table)
            rows.append(
                StageRow(
                    job.table,
                    label,
                    company,
                    exported=exported,
                    transformed=per_company.get(company),
                    verified=verified.get((job.table, company)),
                    expected=s["expected"] if s else None,
                    synced=s["arrived"] if s else None,
                    missing=s["missing"] if s else None,
                    unexpected=s["unexpected"] if s else None,
                    differing=s["differing"] if s else None,
                )
            )
    return rows


def _issues(jobs: list[TransformJob]) -> list[tuple[str, str, int]]:
    totals: dict[str, int] = defaultdict(int)
    for job in jobs:
        for code, n in (job.summary.get("issue_counts") or {}).items():
            totals[code] += n
    severity = {code: engine.ISSUE_CODES.get(code, ("warning",))[0] for code in totals}
    return sorted(((c, severity[c], n) for c, n in totals.items()), key=lambda t: (-t[2], t[0]))


def _files(uploads, evidence, jobs, checks) -> list[FileRow]:
    files = [
        FileRow(
            u.get_kind_display(),
            f"{u.original_name} (version {u.version}, {u.table})",
            u.size,
            u.sha256,
            u.uploaded_at,
            u.uploaded_by.username,
        )
        for u in uploads
    ]
    files += [
        FileRow("Evidence", e.title, None, e.sha256, e.added_at, e.added_by.username)
        for e in evidence
        if e.file
    ]
    for job in jobs:
        sha = (job.summary or {}).get("output_sha256")
        if job.output_csv and sha:
            files.append(
                FileRow(
                    f"Step-8 output, job #{job.id}",
                    Path(job.output_csv.name).name,
                    None,
                    sha,
                    job.finished_at,
                    job.created_by.username,
                )
            )
    for check in checks:
        for f in (check.files or {}).values():
            files.append(
                FileRow(
                    f"{check.get_kind_display()} #{check.id}",
                    Path(f["path"]).name,
                    None,
                    f["sha256"],
                    check.finished_at,
                    check.created_by.username,
                )
            )
    return files


def pack_get(migration: Migration, *, user) -> Pack:
    """Everything the evidence pack shows, from the database as it stands now."""
    jobs = list(
        TransformJob.objects.filter(migration=migration)
        .select_related("created_by", "source")
        .order_by("created_at", "id")
    )
    latest = selectors.latest_results(migration)
    checks = selectors.latest_sync_checks(migration)
    uploads = list(migration.uploads.select_related("uploaded_by").order_by("kind", "table", "version"))
    evidence = list(migration.evidence.select_related("added_by"))
    pack = Pack(
        migration=migration,
        created_at=timezone.now(),
        created_by=user.username,
        progress=selectors.progress_get(migration),
        members=list(migration.memberships.select_related("user")),
        items=list(
            migration.items.select_related("done_by", "updated_by").order_by("step", "position", "id")
        ),
        signoffs=list(migration.signoffs.select_related("signed_by").order_by("step")),
        uploads=uploads,
        evidence=evidence,
        jobs=jobs,
        checks=checks,
        stages=_stages(migration, latest, checks),
        issues=_issues(latest),
        activities=list(migration.activities.select_related("actor").order_by("at", "id")),
    )
    pack.files = _files(uploads, evidence, jobs, checks)
    pack.inputs = selectors.job_inputs(jobs)
    return pack


def step_title(number: int) -> str:
    return runbook.STEPS_BY_NUMBER[number].label
