"""64-bit hashes of arrow strings, a batch at a time: to tell cheaply that no text repeats.

The duplicate checks (duplicate_key, duplicate_record) used to hash a million texts once the
last row was read, the one part of a run nothing else overlaps. Each batch's texts are hashed
while it is read instead, and at the end the hashes are sorted: no two equal means no two texts
equal (equal texts hash alike), and the checks are done. Two equal hashes may be a collision,
so the exact check then decides as before: a hash never makes a duplicate, nor hides one.

The hash is polynomial over the bytes, modulo 2**64 (numpy's unsigned arithmetic wraps): with
P^-j weights, a cumulative sum over the batch's data buffer gives every text's sum at once.
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa

from .writing import column_bytes

_P = 0x100000001B3  # odd, so that it has an inverse modulo 2**64
_P_INVERSE = pow(_P, -1, 2**64)
_lock = threading.Lock()
_powers: tuple[np.ndarray, np.ndarray] = (np.ones(1, np.uint64), np.ones(1, np.uint64))


def _powers_for(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(P^j, P^-j) for j < n, at least; grown by doubling and shared by every run."""
    global _powers
    powers = _powers
    if len(powers[0]) >= n:
        return powers
    with _lock:
        size = max(n, 2 * len(_powers[0]))
        grown = []
        for base in (_P, _P_INVERSE):
            row = np.empty(size, np.uint64)
            row[0] = 1
            np.cumprod(np.full(size - 1, base, np.uint64), out=row[1:])
            grown.append(row)
        _powers = (grown[0], grown[1])
        return _powers


def text_hashes(texts: pa.Array) -> np.ndarray:
    """One uint64 per text (null as empty): sum of byte[k] * P^(length - k), whatever the text's
    place in the buffer, so that equal texts in any batch hash alike."""
    if texts.null_count:
        texts = texts.fill_null("")
    offsets, data = column_bytes(texts)
    start, end = int(offsets[0]), int(offsets[-1])
    width = _same_width(offsets)
    if width:  # GUIDs: the same sum as a matrix product, a fifth of the time of the running sum
        power = _powers_for(width + 1)[0]
        return data[start:end].reshape(len(texts), width).astype(np.uint64) @ power[width:0:-1]
    power, inverse = _powers_for(end - start + 1)
    weighted = np.zeros(end - start + 1, np.uint64)
    np.cumsum(data[start:end].astype(np.uint64) * inverse[: end - start], out=weighted[1:])
    bounds = offsets.astype(np.int64) - start
    return (weighted[bounds[1:]] - weighted[bounds[:-1]]) * power[bounds[1:]]


def as_exported(texts: pa.Array) -> bool:
    """Whether every text is a GUID as Sales exports it, already in the form the duplicate check
    compares: lower-case hex digits and dashes only, one width, none empty or null. One scan of
    the bytes, no copy; anything else (braces, upper case, blanks) takes the normalizing path."""
    if texts.null_count or not len(texts):
        return False
    offsets, data = column_bytes(texts)
    if not _same_width(offsets):
        return False
    x = data[int(offsets[0]) : int(offsets[-1])]
    digit = (x - np.uint8(48)) <= 9  # unsigned: a byte below "0" wraps round to a large value
    hex_letter = (x - np.uint8(97)) <= 5
    return bool((digit | hex_letter | (x == 45)).all())


def printable_ascii(texts: pa.Array) -> bool:
    """Whether every text is printable ASCII without spaces (order and quote numbers, as a rule):
    then nothing needs trimming, a blank one is an empty one, and lower case is ASCII's."""
    if texts.null_count:
        return False
    offsets, data = column_bytes(texts)
    x = data[int(offsets[0]) : int(offsets[-1])]
    return not bool(((x - np.uint8(33)) >= 95).any())  # below "!" (wrapping round) or past "~"


def _same_width(offsets: np.ndarray) -> int:
    """The texts' common length in bytes, else 0 (also for no text, or only empty ones)."""
    count = len(offsets) - 1
    width = (int(offsets[-1]) - int(offsets[0])) // count if count else 0
    if not width or int(offsets[0]) + width * count != int(offsets[-1]):
        return 0
    return width if bool(np.all(np.diff(offsets) == width)) else 0


def may_repeat(hashes: list[np.ndarray]) -> bool:
    """Whether two of the hashed texts may be equal: surely not when every hash differs."""
    if not hashes:
        return False
    every = np.sort(np.concatenate(hashes))
    return bool(np.any(every[1:] == every[:-1]))
