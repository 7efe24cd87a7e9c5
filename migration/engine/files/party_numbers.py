"""The Finance and Operations customer list behind "account numbers customized".

A Customers V3 data management export: CUSTOMERACCOUNT, PARTYNUMBER and, when the
list spans legal entities, DATAAREAID (any case). Party Number of an account is
looked up in it by (company, account number).
"""

from __future__ import annotations

import os

import pyarrow.compute as pc

from ..errors import EngineError
from .reading import open_source


def load_party_numbers(path: str) -> tuple[dict[str, str], bool]:
    """F&O Customers V3 list -> {"company\\x1faccount": party}; second value: keyed by account only."""
    if not os.path.isfile(path):
        raise EngineError(f"the customer list {path!r} does not exist: upload the Customers V3 export again")
    source = open_source(path)
    names = {h.strip().casefold(): i for i, h in enumerate(source.headers)}
    needed = ("customeraccount", "partynumber")
    for name in needed:
        if name not in names:
            raise EngineError(
                f"the customer list has no {name.upper()} column (headers found: "
                f"{', '.join(source.headers[:20])}): upload a Customers V3 data management export"
            )
    acc, party, area = names["customeraccount"], names["partynumber"], names.get("dataareaid")
    found: dict[str, str] = {}
    for batch in source.batches():
        accounts = pc.utf8_lower(pc.utf8_trim_whitespace(batch.text(acc))).to_pylist()
        parties = batch.text(party).to_pylist()
        areas = (
            pc.utf8_lower(pc.utf8_trim_whitespace(batch.text(area))).to_pylist() if area is not None else None
        )
        for j, (a, p) in enumerate(zip(accounts, parties, strict=True)):
            key = a if areas is None else f"{areas[j]}\x1f{a}"
            if a and p.strip():
                found.setdefault(key, p.strip())
    return found, area is None
