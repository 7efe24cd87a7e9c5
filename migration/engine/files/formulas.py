"""Text Excel would take for a formula: found, and neutralised in lists meant for people."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Numbers and phone numbers start with + or - but are not formulas Excel users write.
_NUMBER = re.compile(r"^\s*([+-]?(\d[\d,.]*|[.,]\d+)([eE][+-]?\d+)?|\+[\d\s().\-/]{6,})\s*$")
_STARTS_LIKE_A_FORMULA = r"^[=+\-@\t\r]"


def formula_like_text(value: str | None) -> bool:
    """Would Excel take this text for a formula (or is it hiding one behind a tab or carriage return)?

    A tab or carriage return first is never a number someone typed: spreadsheet
    injection uses it to hide a formula from a reviewer, so it always counts.
    """
    if not value:
        return False
    first = value[0]
    if first in "\t\r":
        return True
    return first in "=+-@" and not _NUMBER.match(value)


def formula_like_mask(text: pa.Array) -> np.ndarray:
    """Which cells of a text column are formula-like (nulls are not): a vectorized first pass,
    the exact test on its few candidates."""
    mask = np.zeros(len(text), dtype=bool)
    candidates = pc.fill_null(pc.match_substring_regex(text, _STARTS_LIKE_A_FORMULA), False)
    hits = np.nonzero(candidates.to_numpy(zero_copy_only=False))[0]
    if len(hits):
        found = text.take(pa.array(hits)).to_pylist()
        mask[[j for j, v in zip(hits.tolist(), found, strict=True) if formula_like_text(v)]] = True
    return mask


def neutralised(text: pa.Array) -> pa.Array:
    """The column with an apostrophe before each formula-like cell: a CSV for people, opened in
    Excel, shows the text instead of running it (OWASP's advice on CSV injection)."""
    mask = formula_like_mask(text)
    if not mask.any():
        return text
    quoted = pc.binary_join_element_wise(pa.scalar("'"), text, pa.scalar(""))
    return pc.if_else(pa.array(mask), quoted, text)
