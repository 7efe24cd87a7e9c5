"""What a table module declares: identity, the columns it reads, the targets it fills, its issues.

Only declarations live here; `layout` matches them to a file's headers, `rules`
holds the shared rules they name, and `transform` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Col:
    """A column as exports name it: display name, logical name, other spellings real exports use."""

    display: str
    logical: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.display, self.logical, *self.aliases)

    def header(self, mode: str) -> str:
        return self.logical if mode == "logical" else self.display


@dataclass(frozen=True)
class Source:
    """A column the rules read, under a role name; a missing required one is fatal."""

    role: str
    col: Col
    required: bool = False


# A target's value for one batch: text per row; null leaves the cell as it is. None: no such column.
# Called with rules.Rows (one batch as the rules see it), named by type only: rules imports this.
Rule = Callable[[Any], "pa.Array | None"]


@dataclass(frozen=True)
class Target:
    """A column the rules fill, appended after the input's columns unless the file already has it."""

    key: str
    col: Col
    rule: Rule
    same_as: str | None = None  # the source role that is this very column: read and filled in place
    # Set: the column is written only when the file (or the step-2 export) has the same_as column;
    # without it the report carries this note instead.
    note_if_no_source: str = ""


@dataclass(frozen=True)
class Issue:
    """A row issue code: severity (error | warning) and a message; {value} is the cell's text."""

    code: str
    severity: str
    message: str


@dataclass(frozen=True)
class Checked:
    """What the step-2 export check (check.py) reads of a table, besides its GUID."""

    number: Col | None = None  # unique within a company (duplicate_key)
    name: Col | None = None  # the record's name, as other tables' lookup cells show it
    header: tuple[str, Col] | None = None  # lines: their header's table and the lookup naming it
    account: Col | None = None  # contacts: the lookup naming their account


# --- step 9: the F&O entities a table syncs into, and what is compared there ------------------


@dataclass(frozen=True)
class Compare:
    """A column we set, and the F&O field it lands in."""

    name: str
    ours: tuple[str, ...]
    fno: tuple[str, ...]
    kind: str = "text"  # text | date
    # Why F&O fills this field itself when we leave it empty (a number sequence): its value is then
    # "assigned by F&O", counted, never a difference. Empty: an empty value of ours must arrive empty.
    assigned_by_fno: str = ""


@dataclass(frozen=True)
class Keep:
    """One condition of a dual-write filter, on a column of our output."""

    column: tuple[str, ...]
    values: frozenset[str]  # accepted, trimmed and case-folded
    required: bool = True  # absent column: fatal (True) or condition skipped (False)


@dataclass(frozen=True)
class EntitySpec:
    table: str
    entity: str
    filter_text: str
    our_key: tuple[str, ...]
    fno_key: tuple[str, ...]
    keep: tuple[Keep, ...] = ()
    compares: tuple[Compare, ...] = ()
    fno_party_type: str | None = None  # Customers V3 holds both organizations and persons
    lines: bool = False
    key_in_filter: bool = False  # the map's filter itself requires the key (contact person ID ne '')


@dataclass(frozen=True)
class Table:
    """One of the step-2 exports, as one table module declares it."""

    key: str
    export_name: str
    entity: str  # Dataverse logical name, as in "(Do Not Modify) <Entity>"
    position: int  # place in the contract's list of tables (the order of TABLES)
    guid_headers: tuple[str, ...]  # normalized (lower case); the first two identify the table
    why_not: str = ""  # not transformed: why, in the user's words
    sources: tuple[Source, ...] = ()
    reads_customer_list: bool = False  # the F&O customer list, when the settings name one
    targets: tuple[Target, ...] = ()  # in output order
    issues: tuple[Issue, ...] = ()  # a row's issues are listed in this order
    receipt_chain: tuple[str, ...] = ()  # source roles: the first date among them wins
    unique: str | None = None  # source role unique within a company (duplicate_key)
    checked: Checked = field(default_factory=Checked)
    # Step 8's import pack: the place in the order tables are imported (None: not imported) and
    # the name the Import data wizard lists it under.
    import_position: int | None = None
    import_name: str = ""
    # Step 9: the F&O entities its map syncs into, each checked against F&O's export.
    fno_entities: tuple[EntitySpec, ...] = ()

    @property
    def transforms(self) -> bool:
        return not self.why_not

    @property
    def columns(self) -> dict[str, Col]:
        """Source columns by role."""
        return {s.role: s.col for s in self.sources}

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(s.role for s in self.sources if s.required)

    def target(self, key: str) -> Target:
        return next(t for t in self.targets if t.key == key)


# Every transformed table fills it: the legal entity of the row.
COMPANY = Col("Company", "msdyn_company")
