"""The step-2 gate: nothing may open the uninstall while an export is not safe.

Rules, not reads: the step-2 page shows their reasons and services/checklist refuses a sign-off
while there is one."""

from dataclasses import dataclass

from . import runbook
from .models import (
    CrossCheck,
    ExportUpload,
    Migration,
    UploadState,
)
from .selectors import UploadSlot, export_parts, latest_cross_check, tables_in_use, upload_slots

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
