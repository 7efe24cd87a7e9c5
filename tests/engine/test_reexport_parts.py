"""The import route with parts on both sides: a step-2 export and a re-export each in parts."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from migration.engine import EngineError, transform_parts

from .helpers import (
    ORDER_HEADERS,
    REEXPORT,
    REEXPORT_PARTS,
    assert_only_targets_changed,
    guid,
    reexport_parts,
    reexport_workbook,
    run_command,
    settings,
    step2_parts,
    write_csv,
)


@pytest.fixture
def both(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    return step2_parts(tmp_path / "in"), reexport_parts(tmp_path / "in")


def _rows(path: Path) -> list[tuple]:
    return list(openpyxl.load_workbook(path)["All Orders"].iter_rows(min_row=2, values_only=True))


def test_it_fills_each_reexport_part_in_place_from_all_step_2_parts(tmp_path, both):
    step2, reexports = both
    outs = [tmp_path / "out" / p.name for p in reexports]
    report = transform_parts("order", reexports, outs, settings(), merge_source_paths=step2)

    for before, after in zip(reexports, outs, strict=True):
        assert_only_targets_changed(before, after, "KLMNOP")  # each workbook kept
    for records, out in zip(REEXPORT_PARTS, outs, strict=True):
        rows = _rows(out)
        assert [r[0] for r in rows] == [guid(i) for i in records]  # every row once, in its order
        for i, row in zip(records, rows, strict=True):
            company, number, invoice_customer = row[10:13]
            if i == 70:  # not in the step-2 export: its targets come from the re-export itself
                assert (company, number, invoice_customer) == ("USMF", f"ORD-{i:04d}", f"Customer {i}")
            else:  # from whichever step-2 part holds the record
                assert (company, number, invoice_customer) == ("USMF", f"ORD-{i:04d}", f"S2 Customer {i}")
    assert report.filled_in_place
    assert report.merge == {
        "step2_rows": 60, "reexport_rows": 51, "matched": 50, "only_in_reexport": 1, "only_in_step2": 10,
    }  # fmt: skip
    assert [p["file"] for p in report.parts] == ["reexport_1.xlsx", "reexport_2.xlsx"]


def test_it_reports_step_2_records_in_no_reexport_part_once_with_their_part(tmp_path, both):
    step2, reexports = both
    outs = [tmp_path / "out" / p.name for p in reexports]
    report = transform_parts("order", reexports, outs, settings(), merge_source_paths=step2)
    issues = list(report.issues.iter_dicts())

    only_step2 = [i for i in issues if i["code"] == "merge_only_in_step2"]
    assert report.issues.counts["merge_only_in_step2"] == 10
    assert [(i["guid"], i["file"], i["row"]) for i in only_step2] == [
        (guid(i), "step2_3.csv", i - 40 + 1) for i in range(50, 60)
    ]
    assert all("'step2_3.csv'" in i["message"] for i in only_step2)
    assert issues[-10:] == only_step2  # after the re-export's own rows
    only_here = [(i["file"], i["row"], i["guid"]) for i in issues if i["code"] == "merge_only_in_reexport"]
    assert only_here == [("reexport_1.xlsx", 26, guid(70))]


def test_it_refuses_reexport_parts_lacking_target_columns_naming_them(tmp_path, both):
    step2, _ = both
    headers = [*ORDER_HEADERS, "Company", "Order Type"]
    parts = [
        write_csv(tmp_path / f"r{n}.csv", headers, [[guid(n)] + [""] * (len(headers) - 1)]) for n in (1, 2)
    ]
    outs = [tmp_path / "out" / p.name for p in parts]
    with pytest.raises(EngineError) as caught:
        transform_parts("order", parts, outs, settings(), merge_source_paths=step2)
    for name in ("Sales Order Number", "Invoice Customer", "Requested Receipt Date", "Language"):
        assert repr(name) in str(caught.value)
    assert not any(o.exists() for o in outs)


def test_it_refuses_reexport_parts_with_different_columns(tmp_path, both):
    step2, reexports = both
    other = write_csv(tmp_path / "other.csv", [*REEXPORT, "Extra"], [[guid(1)] + [""] * len(REEXPORT)])
    outs = [tmp_path / "out" / "a.xlsx", tmp_path / "out" / "b.csv"]
    with pytest.raises(EngineError, match="'Extra'"):
        transform_parts("order", [reexports[0], other], outs, settings(), merge_source_paths=step2)
    assert not any(o.exists() for o in outs)


def test_it_fills_reexport_parts_from_the_command_line_with_repeated_merge_sources(tmp_path, capsys):
    step2 = step2_parts(tmp_path, [range(0, 400), range(400, 800), range(800, 1200)])
    reexports = reexport_parts(tmp_path, [list(range(0, 600)), list(range(600, 1190))])
    out, report = tmp_path / "cli", tmp_path / "r.json"
    merge = [arg for p in step2 for arg in ("--merge-source", str(p))]
    code = run_command(
        "p2c_transform", "order", *map(str, reexports), str(out), "--company", "USMF",
        *merge, "--report", str(report), "--part-mb", "0.02",
    )  # fmt: skip
    assert code == 0
    data = json.loads(report.read_text())
    assert data["merge"]["only_in_step2"] == 10 and data["filled_in_place"]
    for before in reexports:
        assert_only_targets_changed(before, out / before.name, "KLMNOP")
    # --part-mb cuts each output larger than 0.02 MB, rows in order, none lost
    cut = sorted(out.glob("reexport_*_part*.xlsx"))
    assert cut and all(p.stat().st_size <= 0.02 * 2**20 for p in cut)
    for before in reexports:
        pieces = sorted(out.glob(f"{before.stem}_part*.xlsx"))
        assert [r for p in pieces for r in _rows(p)] == _rows(out / before.name)
    assert [p["file"] for p in data["import_parts"]] == [p.name for p in cut]
    assert "1190 rows from 2 parts" in capsys.readouterr().out


def test_it_fills_one_reexport_from_a_step_2_export_in_parts(tmp_path, both):
    step2, _ = both
    reexport = reexport_workbook(tmp_path / "whole.xlsx", 0, list(range(60)))
    out = tmp_path / "out" / "whole.xlsx"
    code = run_command(
        "p2c_transform", "order", str(reexport), str(out), "--company", "USMF",
        *[arg for p in step2 for arg in ("--merge-source", str(p))],
    )  # fmt: skip
    assert code == 0
    assert_only_targets_changed(reexport, out, "KLMNOP")
    assert [r[12] for r in _rows(out)] == [f"S2 Customer {i}" for i in range(60)]
