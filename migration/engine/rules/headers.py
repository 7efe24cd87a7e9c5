"""The company of each order (quote) in the header export, for its lines.

Lines (order products, quote products) take the company of their header. A line
names its header by the lookup cell (the header's name), or by its GUID or its
Order ID / Quote ID when the view carries those: all three are keys here.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..files.reading import norm, open_source
from .layout import find, guid_column, resolve_layout
from .options import TransformSettings
from .schema import Table
from .textmap import TextCache


def _key(text: str) -> str:
    return text.strip().strip("{}").strip().casefold()


class HeaderCompanies:
    """Header key (GUID, number or name; trimmed, any case) -> company, from every part."""

    def __init__(
        self, table: Table, paths: list[str | os.PathLike[str]], settings: TransformSettings
    ) -> None:
        self.table = table
        self.company: dict[str, str] = {}
        rule = settings.company_rule
        lookup = rule.lookup() if rule else {}
        name = table.checked.name
        for path in paths:
            source = open_source(path)
            normed = [norm(h) for h in source.headers]
            layout = resolve_layout(
                table, source.headers, rule.column_for(table.key) if rule else None, require=False
            )
            cols = [guid_column(table, normed), layout.sources.get("number")]
            cols.append(find(normed, name) if name is not None else None)
            cols = [c for c in cols if c is not None]
            for batch in source.batches():
                if layout.company_rule is not None:
                    values = batch.text(layout.company_rule).to_pylist()
                    companies = [lookup.get(v.strip().casefold(), settings.company) for v in values]
                else:
                    companies = [settings.company] * batch.num_rows
                for c in cols:
                    for key, company in zip(batch.text(c).to_pylist(), companies, strict=True):
                        if key:
                            self.company.setdefault(_key(key), company)

    def lookup(self, parent: pa.Array, cache: TextCache) -> pa.Array:
        """Each line's header company; null when its header is not in the export."""
        get: Callable[[str], str | None] = self.company.get
        encoded = pc.dictionary_encode(parent)
        mapped = cache.map(encoded.dictionary, lambda t: get(_key(t)) if t.strip() else None)
        return mapped.take(encoded.indices)


# The header a lines table names, by the table key its Checked declares.
def header_table(lines: Table, tables: dict[str, Table]) -> Table | None:
    return tables[lines.checked.header[0]] if lines.checked.header else None
