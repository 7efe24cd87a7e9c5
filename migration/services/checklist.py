"""Writes on a migration's checklist: items, sign-offs, the uninstall gate, recorded rules."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .. import gate, item_kinds, runbook
from ..models import ChecklistItem, Membership, Migration, Signoff, StepOpening
from ..versioning import migration_changed
from .activity import activity_record
from .cross_check import cross_check_queue_if_complete


class ChecklistError(Exception):
    """A checklist action that is not allowed now; the message says why and what to do.

    `reasons`: every reason, each with the link to fix it (the step-2 gate lists them all)."""

    def __init__(self, message: str, reasons: list | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


def _log(item: ChecklistItem, actor, verb: str, text: str) -> None:
    activity_record(
        migration=item.migration, actor=actor, verb=verb, description=f"{text}: {item.title}", step=item.step
    )


def item_update(
    *, item: ChecklistItem, actor, details: dict, ticked: bool = False, blocker: str = "", due_on=None
) -> bool:
    """Save one item's row from its step form; returns whether anything changed."""
    details = _manager_only(item, actor, details)
    merged = {**item.details, **details}
    # From every detail: a step form sends its fields, a service (a verification) only its own.
    done = item_kinds.is_done(item.kind, merged, ticked, was_done=item.done)
    changed = merged != item.details or done != item.done or blocker != item.blocker or due_on != item.due_on
    if not changed:
        return False
    now = timezone.now()
    if done != item.done:
        item.done, item.done_by, item.done_at = done, (actor if done else None), (now if done else None)
        _log(item, actor, "completed" if done else "reopened", "Completed" if done else "Reopened")
    _log_hand_tick(item, actor, merged)
    if blocker != item.blocker:
        _log(
            item,
            actor,
            "blocked" if blocker else "unblocked",
            f"Blocked ({blocker})" if blocker else "Unblocked",
        )
    elif merged != item.details:
        _log(item, actor, "updated", "Updated")
    item.details, item.blocker, item.due_on = merged, blocker, due_on
    item.updated_by, item.updated_at = actor, now
    item.save()
    return True


def _is_manager(migration: Migration, actor) -> bool:
    return Membership.objects.filter(migration=migration, user=actor, role="manager").exists()


def _manager_only(item: ChecklistItem, actor, details: dict) -> dict:
    """Drop changes to fields only a project manager may make (the form shows them read-only)."""
    guarded = item_kinds.MANAGER_ONLY_FIELDS.get(item.kind, ())
    changed = [f for f in guarded if f in details and details[f] != item.details.get(f)]
    if not changed or _is_manager(item.migration, actor):
        return details
    return {k: v for k, v in details.items() if k not in guarded}


def _log_hand_tick(item: ChecklistItem, actor, merged: dict) -> None:
    """A table counted as imported without a matching verification: who, and why, in the log."""
    was, now = bool(item.details.get("ticked_by_hand")), bool(merged.get("ticked_by_hand"))
    if item.kind != item_kinds.IMPORT_TABLE or was == now:
        return
    if merged.get("ticked_by_hand"):
        _log(item, actor, "verified by hand", f"Ticked by hand ({merged.get('reason', '')})")
    else:
        _log(item, actor, "verified by hand", "Hand tick removed")


@transaction.atomic
def step_save(*, migration: Migration, step: int, actor, rows: list[dict]) -> int:
    """Save a step form's rows: each carries `item_id` and what changed of `details`, `ticked`,
    `blocker`, `due_on`; what a row leaves out stays as the database holds it."""
    migration_changed(migration.pk)  # the version's lock before the items' (versioning.py)
    items = {
        i.id: i for i in ChecklistItem.objects.select_for_update().filter(migration=migration, step=step)
    }
    changed = 0
    not_used_before = _tables_not_used(items.values())
    for row in rows:
        item = items.get(row["item_id"])
        if item is None:
            continue  # removed meanwhile (a legal entity, say): nothing to save
        changed += item_update(
            item=item,
            actor=actor,
            details=row.get("details", {}),
            ticked=row.get("ticked", item.done),
            blocker=row.get("blocker", item.blocker),
            due_on=row.get("due_on", item.due_on),
        )
    if _tables_not_used(items.values()) != not_used_before:
        # The set of tables the cross-file check covers changed: check the new set (step 2's gate).
        cross_check_queue_if_complete(migration=migration)
    return changed


def _tables_not_used(items) -> set[str]:
    return {i.key for i in items if i.kind == item_kinds.EXPORT and i.details.get("status") == "not_used"}


def _require_manager(migration: Migration, actor, doing: str = "sign off a step") -> None:
    if not _is_manager(migration, actor):
        raise ChecklistError(f"Only a project manager of this migration can {doing}.")


def step_locked(*, migration: Migration, step: int) -> bool:
    """Is the step still closed: the sign-off that opens it not given, nor opened early?"""
    return _step_locked(migration, runbook.STEPS_BY_NUMBER[step])


def _step_locked(migration: Migration, step: runbook.Step) -> bool:
    if step.opened_by is None or migration.signoffs.filter(step=step.opened_by).exists():
        return False
    return not migration.step_openings.filter(step=step.number).exists()


@transaction.atomic
def step_open_early(*, migration: Migration, step: int, actor, reason: str) -> StepOpening:
    """A project manager opens a locked step before the sign-off that opens it; the reason is logged."""
    _require_manager(migration, actor, "open a step before its sign-off")
    spec = runbook.STEPS_BY_NUMBER[step]
    if not spec.may_open_early:
        raise ChecklistError(f"Step {step} opens only when step {spec.opened_by} is signed off.")
    if not _step_locked(migration, spec):
        raise ChecklistError(f"Step {step} is open already.")
    reason = reason.strip()
    if not reason:
        raise ChecklistError(f"Say why step {step} opens before step {spec.opened_by} is signed off.")
    opening = StepOpening.objects.create(migration=migration, step=step, reason=reason[:300], opened_by=actor)
    activity_record(
        migration=migration,
        actor=actor,
        verb="opened early",
        description=f"Opened step {step} before step {spec.opened_by}'s sign-off: {reason}"[:500],
        step=step,
    )
    return opening


@transaction.atomic
def step_sign_off(*, migration: Migration, step: int, actor) -> Signoff:
    _require_manager(migration, actor)
    spec = runbook.STEPS_BY_NUMBER[step]
    if _step_locked(migration, spec):
        raise ChecklistError(
            f"Step {step} cannot be signed off before step {spec.opened_by}: sign off step "
            f"{spec.opened_by} first"
            + (", or open this step early with a reason." if spec.may_open_early else ".")
        )
    if step == runbook.EXPORTS_STEP:
        # Signing off step 2 opens the uninstall, which deletes P2C's columns and their data.
        reasons = gate.step2_gate(migration)
        if reasons:
            raise ChecklistError(
                f"Step 2 cannot be signed off yet: {len(reasons)} reason(s), listed with a link to fix each.",
                reasons,
            )
    open_items = list(migration.items.filter(step=step, done=False).values_list("title", flat=True))
    if open_items:
        raise ChecklistError(
            f"Step {step} still has {len(open_items)} open item(s): {', '.join(open_items[:5])}. "
            "Complete them (or, for exports, mark a table not used with a reason) before signing off."
        )
    signoff, created = Signoff.objects.get_or_create(
        migration=migration, step=step, defaults={"signed_by": actor}
    )
    if created:
        activity_record(
            migration=migration, actor=actor, verb="signoff", description=f"Signed off step {step}", step=step
        )
    return signoff


def uninstall_unlocked(migration: Migration) -> bool:
    opener = runbook.STEPS_BY_NUMBER[runbook.UNINSTALL_STEP].opened_by
    return Signoff.objects.filter(migration=migration, step=opener).exists()


@transaction.atomic
def uninstall_confirm(*, migration: Migration, actor, typed_name: str) -> ChecklistItem:
    if not uninstall_unlocked(migration):
        raise ChecklistError("Step 3 is locked until a project manager signs off the exports of step 2.")
    backup = migration.items.filter(kind=item_kinds.BACKUP).first()
    if backup is not None and not backup.done:
        raise ChecklistError(
            "Record the backup of the Sales environment first (its label or date): the uninstall cannot be "
            "undone."
        )
    if typed_name.strip() != migration.name:
        raise ChecklistError(
            f"Type the migration's name exactly ({migration.name}) to confirm the uninstall."
        )
    migration_changed(migration.pk)  # the version's lock before the item's (versioning.py)
    item = migration.items.select_for_update().get(kind=item_kinds.UNINSTALL)
    if not item.done:
        item.done, item.done_by, item.done_at = True, actor, timezone.now()
        item.details = {**item.details, "confirmed_name": typed_name.strip()}
        item.save()
        _log(item, actor, "completed", "Confirmed uninstall")
    return item


FROM_REHEARSAL = " (from the rehearsal: confirm)"


@transaction.atomic
def duplicate_rule_record(
    *, migration: Migration, actor, name: str, table: str, from_rehearsal: bool = False
) -> ChecklistItem:
    """Record an active duplicate detection rule and add its re-enable item to step 9.

    `from_rehearsal`: copied with a migration, not seen in this environment: its rows say to
    confirm it, and nothing is logged at step 7, which has not started."""
    number = (migration.items.filter(kind=item_kinds.DUPLICATE_RULE).count()) + 1
    mark = FROM_REHEARSAL if from_rehearsal else ""
    last_position = (
        migration.items.filter(step=runbook.ENABLE_MAPS_STEP).aggregate(m=Max("position"))["m"] or 0
    )
    rule = ChecklistItem.objects.create(
        migration=migration,
        step=runbook.DUPLICATES_STEP,
        key=f"dup-rule-{number}",
        kind=item_kinds.DUPLICATE_RULE,
        title=f"Disable rule “{name}” ({table}){mark}",
        position=number,
        details={"name": name, "table": table, "disabled": False, "from_rehearsal": from_rehearsal},
    )
    ChecklistItem.objects.create(
        migration=migration,
        step=runbook.ENABLE_MAPS_STEP,
        key=f"reenable-rule-{number}",
        kind=item_kinds.REENABLE_RULE,
        title=f"Re-enable rule “{name}” ({table}){mark}",
        position=last_position + 1,
        details={"name": name, "table": table, "reenabled": False},
    )
    if from_rehearsal:
        return rule
    activity_record(
        migration=migration,
        actor=actor,
        verb="updated",
        description=f"Recorded duplicate detection rule “{name}” ({table})",
        step=runbook.DUPLICATES_STEP,
    )
    return rule
