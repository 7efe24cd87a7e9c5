"""The duplicate checks' shortcut: texts' hashes taken batch by batch, sorted at the end."""

import itertools

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from migration.engine import TransformSettings, transform_file
from migration.engine.files.texthash import as_exported, may_repeat, text_hashes
from migration.engine.rules import rows as rules_module

from .helpers import ORDER_HEADERS, order_rows, write_csv

TEXTS = st.lists(st.text(max_size=12) | st.sampled_from(["", "a", "ORD-1", "{GUID}", "ä中"]), max_size=60)


def _hashes_in_batches(texts: list[str], cuts: list[int]) -> list[np.ndarray]:
    """The texts as slices of one arrow array (offsets not at zero), hashed a slice at a time."""
    whole = pa.array(["padding", *texts], pa.string()).slice(1)
    bounds = [0, *sorted({min(c, len(texts)) for c in cuts}), len(texts)]
    return [text_hashes(whole.slice(a, b - a)) for a, b in itertools.pairwise(bounds) if b > a]


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.lists(st.integers(min_value=0, max_value=60), max_size=5))
def test_equal_texts_hash_alike_in_any_batch_and_a_repeat_is_never_missed(texts, cuts):
    hashes = _hashes_in_batches(texts, cuts)
    flat = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    for i, text in enumerate(texts):
        for j in range(i):
            if texts[j] == text:
                assert flat[i] == flat[j]
    repeats = len(set(texts)) < len(texts)
    assert may_repeat(hashes) == repeats  # False when none repeats: a 64-bit collision is too rare here


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=40).flatmap(lambda width: st.lists(
    st.text(alphabet="0123456789abcdef-{}ä", min_size=width, max_size=width)
    .filter(lambda t, width=width: len(t.encode()) == width), min_size=1, max_size=30)))  # fmt: skip
def test_texts_of_one_width_hash_as_they_do_among_others(texts):
    # A batch whose texts all have one length in bytes (GUIDs, as exported) takes a shortcut:
    # it must give the hashes the same texts get in a batch of mixed lengths.
    alone = text_hashes(pa.array(texts, pa.string()).slice(0))
    mixed = text_hashes(pa.array([*texts, "x" * 41], pa.string()))
    assert alone.tolist() == mixed[:-1].tolist()


def test_it_hashes_nulls_as_empty_texts_and_nothing_as_no_repeat():
    assert text_hashes(pa.array(["", None], pa.string())).tolist() == [0, 0]
    assert not may_repeat([]) and not may_repeat([text_hashes(pa.array([], pa.string()))])


def test_a_hash_collision_never_makes_a_duplicate(tmp_path, monkeypatch):
    """Every text hashed alike: the exact check runs, and reports what it always reported."""
    rows = order_rows(6)
    rows[4][3] = rows[1][3]  # one order number twice: one duplicate_key on row 5
    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    settings_ = TransformSettings(company="USMF")

    def issues(name: str) -> list[tuple[int, str]]:
        report = transform_file("order", source, tmp_path / name, settings_)
        found = report.issues.iter_dicts()
        return [(i["row"], i["code"]) for i in found if i["code"].startswith("duplicate")]

    honest = issues("a.csv")
    assert honest == [(5, "duplicate_key")]
    monkeypatch.setattr(rules_module, "text_hashes", lambda texts: np.zeros(len(texts), np.uint64))
    assert issues("b.csv") == honest


def test_only_guids_as_exported_skip_normalizing():
    guid = "0f9b55db-0cfb-27e4-085b-00000000000a"
    assert as_exported(pa.array([guid, guid.replace("a", "b")]))
    for odd in (guid.upper(), "{" + guid + "}", " " + guid[1:], guid[:-1] + "g", guid[:-1] + "é"):
        assert not as_exported(pa.array([guid, odd])), odd
    assert not as_exported(pa.array([guid, guid[:-1]]))  # widths differ
    assert not as_exported(pa.array([guid, None]))
    assert not as_exported(pa.array(["", ""]))
    assert not as_exported(pa.array([], pa.string()))


def test_a_record_as_exported_in_one_batch_and_written_otherwise_in_another_is_a_duplicate(
    tmp_path, monkeypatch
):
    from migration.engine.files import reading

    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 1 << 10)  # many small batches
    rows = order_rows(40)
    rows[2][0] = "0f9b55db-0cfb-27e4-085b-00000000abcd"
    rows[19][0] = "{" + rows[5][0] + "}"  # row 20 is row 6's record, in braces
    rows[37][0] = rows[2][0].upper()  # row 38 is row 3's, in upper case: the width of the rest
    rows[19][3], rows[37][3] = "ORD-9998", "ORD-9999"
    source = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    report = transform_file("order", source, tmp_path / "out.csv", TransformSettings(company="USMF"))
    found = [(i["row"], i["code"]) for i in report.issues.iter_dicts() if i["code"].startswith("duplicate")]
    assert found == [(20, "duplicate_record"), (38, "duplicate_record")]
