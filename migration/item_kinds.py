"""The kinds of checklist item, each in one place: its label, its form fields, its done rule.

An item's own data lives in `ChecklistItem.details` under its fields' names.
For kinds whose state is data, "done" follows from that data; plain tasks are
ticked by hand; the uninstall item changes only through its confirmation.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

TASK = "task"
SYNC_RUN = "sync_run"
EXPORT = "export"
UNINSTALL = "uninstall"
LEGAL_ENTITY = "legal_entity"
REFERENCE_MAP = "reference_map"
DUPLICATE_RULE = "duplicate_rule"
REENABLE_RULE = "reenable_rule"
TABLE_MAP = "table_map"
IMPORT_PART = "import_part"
IMPORT_TABLE = "import_table"
BACKUP = "backup"

SYNC_RESULTS = [("", "Not run yet"), ("succeeded", "Succeeded"), ("with_errors", "Completed with errors"),
                ("failed", "Failed"), ("not_used", "Not used (give the reason)")]  # fmt: skip
EXPORT_STATES = [("", "Not exported yet"), ("exported", "Exported"), ("not_used", "Not used")]
MAP_RESULTS = [("", "Not run yet"), ("succeeded", "Succeeded"), ("failed", "Failed")]


def _no_errors(details: dict) -> dict[str, str]:
    return {}


def _no_note(details: dict) -> str:
    return ""


@dataclass(frozen=True)
class ItemKind:
    key: str
    label: str
    # Fresh form fields on every call: Django forms must not share field instances.
    fields: Callable[[], dict[str, forms.Field]] = dict
    # Done from the item's details; None when done is ticked by hand or set by a service.
    done: Callable[[dict], bool] | None = None
    ticked_by_hand: bool = False
    # Field name -> message, for details that contradict each other.
    errors: Callable[[dict], dict[str, str]] = field(default=_no_errors)
    # Why the row stays open as it is, when its details alone do not say so (shown beside it).
    note: Callable[[dict], str] = field(default=_no_note)


def _checkbox(label: str) -> forms.BooleanField:
    return forms.BooleanField(label=label, required=False)


def _sync_run_fields() -> dict[str, forms.Field]:
    return {
        "run_on": forms.DateField(label="Run date", required=False, widget=DATE_INPUT),
        "result": forms.ChoiceField(label="Result", choices=SYNC_RESULTS, required=False),
        "reason": forms.CharField(label="Why not used", max_length=300, required=False),
    }


def _sync_run_done(d: dict) -> bool:
    """A final run that succeeded, or a project the customer never ran (with the reason)."""
    if d.get("result") == "not_used":
        return bool((d.get("reason") or "").strip())
    return bool(d.get("run_on")) and d.get("result") == "succeeded"


def _sync_run_errors(d: dict) -> dict[str, str]:
    if d.get("result") == "not_used" and not (d.get("reason") or "").strip():
        return {"reason": "Say why this project is not used (for example: the customer never ran it)."}
    return {}


def _sync_run_note(d: dict) -> str:
    if d.get("result") == "with_errors":
        return (
            "A run completed with errors leaves this row open: the records that failed did not reach the "
            "other app, and the article's final run is meant to give both apps all the data. Fix the "
            "errors, run the project again and record the run that succeeded."
        )
    return ""


def _export_fields() -> dict[str, forms.Field]:
    return {
        "status": forms.ChoiceField(label="Export", choices=EXPORT_STATES, required=False),
        "row_count": forms.IntegerField(label="Rows", min_value=0, required=False),
        "reason": forms.CharField(label="Why not used", max_length=300, required=False),
    }


def _export_done(d: dict) -> bool:
    if d.get("status") == "exported":
        return d.get("row_count") is not None
    return d.get("status") == "not_used" and bool(d.get("reason"))


def _export_errors(d: dict) -> dict[str, str]:
    if d.get("status") == "exported" and d.get("row_count") is None:
        return {"row_count": "Give the number of exported rows."}
    if d.get("status") == "not_used" and not d.get("reason"):
        return {"reason": "Say why this table is not used."}
    return {}


def _backup_fields() -> dict[str, forms.Field]:
    return {
        "label": forms.CharField(label="Backup label", max_length=200, required=False),
        "taken_on": forms.DateField(label="Taken on", required=False, widget=DATE_INPUT),
    }


def _table_map_fields() -> dict[str, forms.Field]:
    return {
        "enabled": _checkbox("Enabled"),
        "sync_result": forms.ChoiceField(label="Initial sync", choices=MAP_RESULTS, required=False),
        "error_count": forms.IntegerField(label="Errors", min_value=0, required=False),
    }


def _import_table_fields() -> dict[str, forms.Field]:
    return {
        "ticked_by_hand": _checkbox("Verified by hand (project manager)"),
        "reason": forms.CharField(
            label="Why, without a matching verification", max_length=300, required=False
        ),
    }


def _import_table_done(d: dict) -> bool:
    """Ticked when a verification export matched (set by the service), or by a manager with a reason."""
    return bool(d.get("verified")) or (bool(d.get("ticked_by_hand")) and bool(d.get("reason")))


def _import_table_errors(d: dict) -> dict[str, str]:
    if d.get("ticked_by_hand") and not d.get("reason"):
        return {"reason": "Say why this table counts as imported without a matching verification."}
    return {}


KINDS = {
    kind.key: kind
    for kind in (
        ItemKind(TASK, "Task", lambda: {"ticked": _checkbox("Done")}, ticked_by_hand=True),
        ItemKind(
            SYNC_RUN,
            "Data Integrator run",
            _sync_run_fields,
            _sync_run_done,
            errors=_sync_run_errors,
            note=_sync_run_note,
        ),
        ItemKind(EXPORT, "Table export", _export_fields, _export_done, errors=_export_errors),
        ItemKind(
            BACKUP,
            "Environment backup",
            _backup_fields,
            lambda d: bool((d.get("label") or "").strip() or d.get("taken_on")),
        ),
        ItemKind(UNINSTALL, "Uninstall confirmation"),
        ItemKind(
            LEGAL_ENTITY,
            "Legal entity link",
            lambda: {"linked": _checkbox("Linked")},
            lambda d: bool(d.get("linked")),
        ),
        ItemKind(
            REFERENCE_MAP,
            "Reference data map",
            lambda: {"enabled": _checkbox("Enabled"), "initial_sync_done": _checkbox("Initial sync done")},
            lambda d: bool(d.get("enabled")) and bool(d.get("initial_sync_done")),
        ),
        ItemKind(
            DUPLICATE_RULE,
            "Duplicate detection rule",
            lambda: {"disabled": _checkbox("Disabled")},
            lambda d: bool(d.get("disabled")),
        ),
        ItemKind(
            REENABLE_RULE,
            "Re-enable duplicate detection rule",
            lambda: {"reenabled": _checkbox("Re-enabled")},
            lambda d: bool(d.get("reenabled")),
        ),
        ItemKind(
            TABLE_MAP,
            "Table map",
            _table_map_fields,
            lambda d: bool(d.get("enabled")) and d.get("sync_result") == "succeeded",
        ),
        ItemKind(
            IMPORT_PART,
            "Import pack file",
            lambda: {"imported": _checkbox("Imported")},
            lambda d: bool(d.get("imported")),
        ),
        ItemKind(
            IMPORT_TABLE,
            "Table initialized and imported",
            _import_table_fields,
            _import_table_done,
            errors=_import_table_errors,
        ),
    )
}

# Fields only a project manager may change (others see them read-only).
MANAGER_ONLY_FIELDS = {IMPORT_TABLE: ("ticked_by_hand", "reason")}

CHOICES = [(kind.key, kind.label) for kind in KINDS.values()]


def is_done(kind: str, details: dict, ticked: bool, was_done: bool) -> bool:
    spec = KINDS[kind]
    if spec.done is not None:
        return spec.done(details)
    return ticked if spec.ticked_by_hand else was_done
