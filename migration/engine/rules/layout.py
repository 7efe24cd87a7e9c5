"""Where a table's declared columns are in one file's header row.

Headers match trimmed and case-insensitively, by logical name (unambiguous),
then display name, then the other spellings a column declares.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import EngineError
from ..files.reading import norm, open_source
from .schema import Col, Table

PathLike = str | os.PathLike[str]

_DO_NOT_MODIFY = "(do not modify)"
_CHECKSUM = "(do not modify) row checksum"
_MODIFIED = "(do not modify) modified on"


def find(normed: list[str], col: Col, taken: set[int] | None = None) -> int | None:
    """Logical name first (unambiguous), then display name, then aliases; untaken columns first."""
    for name in (col.logical, col.display, *col.aliases):
        hits = [i for i, h in enumerate(normed) if h == name.casefold()]
        free = [i for i in hits if not taken or i not in taken]
        if free or hits:
            return (free or hits)[0]
    return None


@dataclass
class Layout:
    """Where each role lives in one file's header row."""

    headers: list[str]
    guid: int | None
    sources: dict[str, int]
    targets: dict[str, int]  # existing target columns, filled in place
    company_rule: int | None = None
    modified_on: int | None = None
    # The company rule's column when this file lacks it: its rows take the default company.
    company_rule_missing: str | None = None


def resolve_layout(
    table: Table, headers: list[str], company_column: str | None = None, *, require: bool = True
) -> Layout:
    """The file's columns for the table; a missing required column (when require) is fatal."""
    normed = [norm(h) for h in headers]
    sources = {role: i for role, col in table.columns.items() if (i := find(normed, col)) is not None}
    if require:
        _check_required(table, sources, headers)
    return Layout(
        headers=list(headers),
        guid=guid_column(table, normed),
        sources=sources,
        targets=_existing_targets(table, normed, sources),
        company_rule=(rule := _company_rule_column(company_column, normed)),
        modified_on=next((i for i, h in enumerate(normed) if h == _MODIFIED), None),
        company_rule_missing=company_column if company_column is not None and rule is None else None,
    )


def guid_column(table: Table, normed: list[str]) -> int | None:
    """The table's GUID header, else any "(Do Not Modify) <Entity>" but the checksum and modified-on."""
    named = next((i for i, h in enumerate(normed) if h in table.guid_headers), None)
    if named is not None:
        return named
    return next(
        (i for i, h in enumerate(normed) if h.startswith(_DO_NOT_MODIFY) and h not in (_CHECKSUM, _MODIFIED)),
        None,
    )


def _existing_targets(table: Table, normed: list[str], sources: dict[str, int]) -> dict[str, int]:
    """Target columns the file already has (a re-export): each is filled in place."""
    taken = set(sources.values())
    found: dict[str, int] = {}
    for target in table.targets:
        same = sources.get(target.same_as) if target.same_as else None
        if same is not None and normed[same] in {n.casefold() for n in target.col.names}:
            found[target.key] = same  # e.g. Ship To Country/Region: read and written in place
            continue
        i = find(normed, target.col, taken)
        if i is not None and i not in taken:
            found[target.key] = i
            taken.add(i)
    return found


def _company_rule_column(company_column: str | None, normed: list[str]) -> int | None:
    """Where the company rule's column is; None when not asked, or when this export lacks it."""
    return None if company_column is None else find(normed, Col(company_column, company_column))


def _check_required(table: Table, sources: dict[str, int], headers: list[str]) -> None:
    missing = [role for role in table.required if role not in sources]
    if missing:
        raise_missing(table, table.columns[missing[0]], headers)


def _list(headers: list[str], limit: int = 40) -> str:
    shown = ", ".join(repr(h) for h in headers[:limit])
    return shown + (f" (+{len(headers) - limit} more)" if len(headers) > limit else "")


def raise_missing(table: Table, col: Col, headers: list[str]) -> None:
    accepted = " or ".join(repr(n) for n in dict.fromkeys(col.names))
    normed = [norm(h) for h in headers]
    reexport = any(
        find(normed, t.col) is not None for t in table.targets if t.same_as is None and t.key != "company"
    )
    hint = (
        "; this looks like a re-export made after dual-write was installed: give the step-2 export too "
        "(merge mode), which still has P2C's columns"
        if reexport
        else ". Export the table with this column in the view"
    )
    raise EngineError(
        f"required column {col.display!r} is missing from the {table.key} file (accepted names: {accepted}); "
        f"headers found: {_list(headers)}{hint}"
    )


def check_same_columns(paths: Sequence[PathLike]) -> None:
    """Parts of one table have the same columns, header order and case aside; else a fatal
    problem naming the columns that differ from the first part."""
    first = None
    for path in paths:
        headers = open_source(path).headers
        if first is None:
            first = (os.path.basename(os.fspath(path)), headers)
            continue
        differ = column_difference(first[1], headers)
        if differ:
            raise EngineError(
                f"{os.path.basename(os.fspath(path))!r} does not have the same columns as {first[0]!r} "
                f"({differ}): export every part from the same view"
            )


def column_difference(first_headers: Sequence[str], other_headers: Sequence[str]) -> str:
    """'only in this part: X; missing: Y' between two parts' headers (order and case aside), or ''."""
    first = {norm(h): h for h in first_headers}
    other = {norm(h): h for h in other_headers}
    extra = [h for n, h in other.items() if n not in first]
    missing = [h for n, h in first.items() if n not in other]
    said = []
    if extra:
        said.append("only in this part: " + ", ".join(repr(h) for h in extra))
    if missing:
        said.append("missing: " + ", ".join(repr(h) for h in missing))
    return "; ".join(said)
