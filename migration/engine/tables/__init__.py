"""The registry: every module of this package declares one table as `TABLE`.

A new table is a new module here (and its tests); nothing else lists tables.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import EngineError
from ..files.reading import norm
from ..rules.layout import find
from ..rules.report import FIRST_ISSUES, LAST_ISSUES
from ..rules.schema import Issue, Table


def _discover() -> dict[str, Table]:
    found = [
        importlib.import_module(f"{__name__}.{info.name}").TABLE
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
    return {t.key: t for t in sorted(found, key=lambda t: t.position)}


# The step-2 exports, in the contract's order.
TABLES: dict[str, Table] = _discover()


def table_for(key: str) -> Table:
    if key not in TABLES:
        raise EngineError(f"unknown table {key!r}: use one of {', '.join(TABLES)}")
    return TABLES[key]


def issues_of(table: Table) -> tuple[Issue, ...]:
    """Every issue a run of the table can raise, in the order a row lists them."""
    return FIRST_ISSUES + table.issues + LAST_ISSUES


def _catalogue() -> dict[str, tuple[str, str]]:
    """code -> (severity, message) over all tables; a code means the same wherever it is raised."""
    codes: dict[str, tuple[str, str]] = {}
    for table in TABLES.values():
        for issue in issues_of(table):
            if codes.setdefault(issue.code, (issue.severity, issue.message)) != (
                issue.severity,
                issue.message,
            ):
                raise ValueError(f"issue {issue.code!r} is declared twice, differently ({table.key})")
    return codes


ISSUE_CODES: dict[str, tuple[str, str]] = _catalogue()


def guess_table(headers: list[str]) -> str | None:
    """The table whose GUID header or source columns these headers carry."""
    normed = [norm(h) for h in headers]
    for key, table in TABLES.items():
        if any(h in table.guid_headers[:2] for h in normed):
            return key
    scores = {
        key: sum(find(normed, col) is not None for col in table.columns.values())
        for key, table in TABLES.items()
    }
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else None
