"""Steps 8 and 9 as one workspace per table: each table's route as a line of stages.

The route runs left to right as the table travels: its step-2 export, the re-export that dual-write's
columns are filled into, the job that fills them, the import files, the verification export, and
after the initial sync (step 9) the reconciliation and the triage of its errors. Each stage says in
one line where it stands; the first one not done is the table's next action. The page draws a
stage that is done folded, and the next one (or one with a problem) open.

Read-only and query-free: it composes the rows the step panels already read (selectors).
"""

from dataclasses import dataclass, field

from django.utils import formats

from .models import JobState, UploadState

DONE, NEXT, WAITING, PROBLEM, RUNNING = "done", "next", "waiting", "problem", "running"
STATE_LABELS = {
    DONE: "done",
    NEXT: "next",
    WAITING: "waiting",
    PROBLEM: "needs attention",
    RUNNING: "running",
}
BUSY_UPLOAD = (UploadState.QUEUED, UploadState.INSPECTING)
BAD_UPLOAD = (UploadState.PROBLEMS, UploadState.FAILED)


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    state: str
    said: str  # one line: what the stage holds, or what it waits for
    warning: bool = False  # done, but with something to act on before the import (not a blocker)

    @property
    def state_label(self) -> str:
        return "done, see the warning" if self.warning else STATE_LABELS[self.state]

    @property
    def is_open(self) -> bool:
        """Drawn unfolded: the table's next action, or something to look at."""
        return self.warning or self.state in (NEXT, PROBLEM, RUNNING)


@dataclass
class TableRoute:
    table: str
    label: str
    export: object  # selectors.UploadSlot of step 2
    imports: object  # selectors.ImportRow
    jobs: object  # selectors.JobRow
    sync: object | None = None  # selectors.SyncRow
    stages: list[Stage] = field(default_factory=list)

    @property
    def stage(self) -> dict[str, Stage]:
        return {s.key: s for s in self.stages}

    @property
    def next(self) -> Stage | None:
        return next((s for s in self.stages if s.state != DONE), None)

    @property
    def finished(self) -> list[Stage]:
        return [s for s in self.stages if s.state == DONE]

    @property
    def step8_done(self) -> bool:
        """Every stage of step 8 done: what is left is step 9's."""
        return all(s.state == DONE for s in self.stages if s.key != "sync")

    @property
    def not_used(self) -> bool:
        return self.export.not_used is not None


def table_routes(*, import_rows: list, job_rows: list, export_slots: list, sync_rows: list) -> list:
    """One route per step-8 table, in the order of `import_rows`."""
    jobs = {row.table: row for row in job_rows}
    exports = {slot.table: slot for slot in export_slots}
    syncs = {row.table: row for row in sync_rows}
    routes = []
    for row in import_rows:
        route = TableRoute(
            row.table, row.label, exports[row.table], row, jobs[row.table], syncs.get(row.table)
        )
        route.stages = _in_turn(_stages(route))
        routes.append(route)
    return routes


def _stages(route: TableRoute) -> list[Stage]:
    if route.not_used:
        return [_export_stage(route.export)]
    return [
        _export_stage(route.export),
        _reexport_stage(route.imports),
        _job_stage(route.jobs.latest, route.imports),
        _import_stage(route.imports),
        _verify_stage(route.imports),
        _sync_stage(route.sync),
    ]


# A stage that is next together with the one before it: an import is checked by uploading the
# export taken after it, so the verification's upload is open while the import is the next action.
NEXT_WITH = {"verify": "import"}


def _in_turn(stages: list[Stage]) -> list[Stage]:
    """The first stage not done is the next action; a later one waits for it unless it needs
    attention or runs now."""
    out: list[Stage] = []
    seen_next = False
    for stage in stages:
        with_previous = out and NEXT_WITH.get(stage.key) == out[-1].key and out[-1].state == NEXT
        if stage.state in (NEXT, WAITING) and seen_next and not with_previous:
            stage = Stage(stage.key, stage.title, WAITING, stage.said)
        seen_next = seen_next or stage.state != DONE
        out.append(stage)
    return out


def _rows(count) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"


def _parts_said(slot) -> str:
    n = len(slot.parts)
    said = f"{n} part{'s' if n != 1 else ''}"
    return said if slot.total_rows is None else f"{said}, {_rows(slot.total_rows)}"


def _uploads_state(parts) -> str | None:
    states = {p.state for p in parts}
    if states & set(BUSY_UPLOAD):
        return RUNNING
    if states & set(BAD_UPLOAD):
        return PROBLEM
    return None


def _export_stage(slot) -> Stage:
    title = "Step-2 export"
    if slot.not_used is not None:
        return Stage("export", title, DONE, f"not used: {slot.not_used or 'no reason given yet'}")
    if not slot.parts:
        return Stage("export", title, NEXT, "not uploaded: upload it at step 2")
    state = _uploads_state(slot.parts)
    if state == PROBLEM:
        return Stage("export", title, PROBLEM, f"{_parts_said(slot)}: a part has problems, see step 2")
    return Stage("export", title, state or DONE, _parts_said(slot))


def _reexport_stage(row) -> Stage:
    title = "Re-export"
    slot = row.reexport
    if not slot.parts:
        return Stage("reexport", title, NEXT, "add dual-write's columns to the view in Sales, export, upload")
    state = _uploads_state(slot.parts)
    if state == PROBLEM:
        return Stage("reexport", title, PROBLEM, f"{_parts_said(slot)}: a part has problems")
    if row.stale and not row.verified:  # once imported and verified, its age no longer matters
        said = f"{_parts_said(slot)}: too old to import, export it again before importing"
        return Stage("reexport", title, state or DONE, said, warning=True)
    taken = f", taken {formats.date_format(row.exported_at, 'Y-m-d H:i')}" if row.exported_at else ""
    return Stage("reexport", title, state or DONE, _parts_said(slot) + taken)


def _job_stage(latest, row) -> Stage:
    title = "Job"
    if latest is None:
        return Stage("job", title, NEXT, "not run")
    if latest.state in (JobState.QUEUED, JobState.RUNNING):
        return Stage("job", title, RUNNING, f"#{latest.id} {latest.get_state_display().lower()}")
    if latest.state != JobState.SUCCEEDED:
        return Stage(
            "job", title, PROBLEM, f"#{latest.id} {latest.get_state_display().lower()}: run it again"
        )
    if not row.reexport.parts:  # a review copy to read; the import file needs the re-export
        return Stage("job", title, DONE, f"#{latest.id} succeeded: a review copy, no import file yet")
    if row.job is None or row.job.id != latest.id:
        return Stage("job", title, NEXT, f"#{latest.id} ran without the re-export: run it again")
    reexported = [p.uploaded_at for p in row.reexport.parts]
    if reexported and max(reexported) > latest.created_at:
        return Stage("job", title, NEXT, f"#{latest.id} ran before the latest re-export: run it again")
    return Stage("job", title, DONE, f"#{latest.id} succeeded, {_rows(latest.rows_done)}")


def _import_stage(row) -> Stage:
    title = "Import files"
    if row.job is None:
        return Stage("import", title, WAITING, "after the job")
    n = len(row.parts) or 1
    files = f"{n} file{'s' if n != 1 else ''}"
    if row.verified and row.written_back:
        return Stage(
            "import", title, DONE, f"written back through the Web API (write-back #{row.written_back})"
        )
    if row.verified:
        return Stage("import", title, DONE, f"{files} imported")
    return Stage("import", title, NEXT, f"import {files} with the Import data wizard, in the pack's order")


def _verify_stage(row) -> Stage:
    title = "Verification"
    check = row.check
    if row.verified and row.written_back:
        return Stage("verify", title, DONE, f"read back after write-back #{row.written_back}")
    if row.verified:
        return Stage("verify", title, DONE, "verified" if check and check.matches else "ticked by hand")
    if check and check.state in BUSY_UPLOAD:
        return Stage("verify", title, RUNNING, "comparing with the import files")
    if check and check.state in BAD_UPLOAD:
        return Stage("verify", title, PROBLEM, "differences found: import those records again")
    if row.job is None:
        return Stage("verify", title, WAITING, "after the import")
    return Stage("verify", title, NEXT, "export the table from Sales again and upload it")


def _sync_stage(sync) -> Stage:
    title = "Reconciliation and triage"
    checks = [slot.latest for slot in sync.slots] if sync else []
    if not checks or None in checks:
        return Stage("sync", title, NEXT, "after the table map's initial sync")
    if any(c.state in (JobState.QUEUED, JobState.RUNNING) for c in checks):
        return Stage("sync", title, RUNNING, "reconciling")
    if any(c.state != JobState.SUCCEEDED for c in checks):
        return Stage("sync", title, PROBLEM, "a reconciliation failed: see step 9")
    triage = sync.triage
    errors = "errors triaged" if triage and triage.state == JobState.SUCCEEDED else "no errors uploaded"
    return Stage("sync", title, DONE, f"reconciled, {errors}")
