"""Upload slots: each table's files of a kind, their parts, the tables in use."""

from collections import defaultdict
from dataclasses import dataclass, field

from .. import runbook
from ..engine import TABLES
from ..models import (
    ExportUpload,
    Migration,
    UploadKind,
    UploadState,
)

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
            slot.parts = parts_of(slot.versions)
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


def parts_of(versions: list[ExportUpload]) -> list[ExportUpload]:
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
    found = {table: parts_of(versions) for table, versions in by_table.items()}
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
