"""A function over text, run once per distinct value: the rules' dates, countries and yes/no
repeat a lot, so each is worked out once per file and mapped back with arrow."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc


class TextCache:
    """func's result per distinct text, kept as arrow arrays so that a batch whose texts were
    all seen before is mapped without a Python loop (dates, countries, yes/no repeat a lot)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.values: list[str | None] = []
        self.key_array = pa.array([], pa.string())
        self.value_array = pa.array([], pa.string())

    LIMIT = 50_000  # past this (e.g. date-times, all distinct) caching costs more than it saves

    def map(self, distinct: pa.Array, func: Callable[[str], str | None]) -> pa.Array:
        if len(self.keys) >= self.LIMIT:
            return pa.array([func(t) for t in distinct.to_pylist()], pa.string())
        pos = pc.index_in(distinct, value_set=self.key_array)
        if pos.null_count:
            new = distinct.filter(pc.is_null(pos)).to_pylist()
            self.keys += new
            self.values += [func(t) for t in new]
            self.key_array = pa.array(self.keys, pa.string())
            self.value_array = pa.array(self.values, pa.string())
            pos = pc.index_in(distinct, value_set=self.key_array)
        return self.value_array.take(pos)


def map_text(arr: pa.Array, func: Callable[[str], str | None], cache: TextCache | None = None) -> pa.Array:
    """func applied once per distinct text of arr (once per file with a cache); null where None."""
    encoded = pc.dictionary_encode(arr)  # one hash pass: distinct texts + an index per row
    if cache is not None:
        return cache.map(encoded.dictionary, func).take(encoded.indices)
    values = [func(t) for t in encoded.dictionary.to_pylist()]
    return pa.array(values, pa.string()).take(encoded.indices)
