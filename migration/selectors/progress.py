"""The progress of migrations: each step's state, the dashboard's rows, a step's checklist."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db.models import Count, Max, Value
from django.utils import timezone

from .. import runbook
from ..models import (
    Activity,
    ChecklistItem,
    Migration,
    Signoff,
    StepOpening,
)
from .access import migrations_for_user

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
