"""The outputs of fill in place and of the import pack's cuts, with their SHA-256: proof that a
faster fill or split writes the same bytes as before.

    .venv/bin/python bench/fill_outputs.py --write BASELINE.json [--rows 100000] [--inputs DIR]
    .venv/bin/python bench/fill_outputs.py --check BASELINE.json [--rows 100000] [--inputs DIR]

Cases: the re-export sample filled from the step-2 sample (the route), every Sales sample
workbook filled with mixed values (text, '', None, numbers, dates, ISO dates into date cells,
whitespace, XML specials, a column past the last one), a hand-made sheet with shared strings,
missing rows and cells, self-closing rows, row and column styles and a namespace prefix,
the tests' generated re-export, and the bench's 100,000-row re-export (fill alone and the
route); each output also cut into import parts (8 MB for the big one, small limits for the
others) and sliced by copy_xlsx_rows. --rows 0 leaves the big workbook out.

The baseline comes from the code before a change, run with this script and the same inputs:

    REPO=$PWD; git archive REV | tar -x -C /tmp/before && cp bench/fill_outputs.py /tmp/before/bench/
    (cd /tmp/before && $REPO/.venv/bin/python bench/fill_outputs.py --inputs DIR --write BASE.json)
    .venv/bin/python bench/fill_outputs.py --inputs DIR --check BASE.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from migration.engine.files.reading import open_source  # noqa: E402
from migration.engine.files.xlsx_inplace import fill_xlsx  # noqa: E402
from migration.engine.files.xlsx_sheet import open_sheet  # noqa: E402
from migration.engine.rules.options import TransformSettings  # noqa: E402
from migration.engine.step8.packs import copy_xlsx_rows, split_for_import  # noqa: E402
from migration.engine.step8.transform import transform_file  # noqa: E402

SAMPLES = os.path.join(ROOT, "tests", "samples")


def sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def settings() -> TransformSettings:
    return TransformSettings.from_dict({"company": "USMF"})


def mixed_value(r: int, c: int):
    kinds = [
        lambda: None,
        lambda: "",
        lambda: f"text {r}-{c} & <b> \"q\" 'a'",
        lambda: r * 1.5,
        lambda: r,
        lambda: dt.date(2020, 1 + r % 12, 1 + r % 28),
        lambda: f"2021-{1 + r % 12:02d}-{1 + r % 28:02d}T08:30:00Z",
        lambda: f"  padded {r}\nline ",
        lambda: True,
        lambda: "_x0041_ ctrl\x01",
        lambda: f"2021-{1 + r % 12:02d}-{1 + r % 28:02d}",
    ]
    return kinds[(r * 7 + c * 3) % len(kinds)]()


def fill_mixed(src: str, dst: str, extra_rows: int = 0) -> None:
    info = open_sheet(src)
    width = len(info.headers)
    cols = sorted({0, 3, min(5, width - 1), width - 1, width + 1})
    n = len(list(_rows_of(src))) + extra_rows
    values = ([None if r % 9 == 4 else tuple(mixed_value(r, c) for c in cols)][0] for r in range(n))
    fill_xlsx(src, dst, cols, values)


def _rows_of(src: str):
    source = open_source(src)
    for b in source.batches():
        yield from range(b.num_rows)


SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<x:dimension ref="A1:F12"/><x:cols><x:col min="2" max="2" width="9" style="3"/>'
    b'<x:col min="5" max="6" width="9" style="1"/></x:cols><x:sheetData>'
    b'<x:row r="1" spans="1:6"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c>'
    b'<x:c r="C1" t="s"><x:v>2</x:v></x:c><x:c r="D1" t="inlineStr"><x:is><x:t>Date</x:t></x:is></x:c>'
    b'<x:c r="E1" t="s"><x:v>3</x:v></x:c><x:c r="F1" t="s"><x:v>4</x:v></x:c></x:row>\n'
    b'<x:row r="2" spans="1:4"><x:c r="A2" t="s"><x:v>5</x:v></x:c><x:c r="D2" s="2"><x:v>43831</x:v></x:c>'
    b"</x:row>\n"
    b'<x:row r="3" s="1" customFormat="1"/>'
    b'<x:row r="5" spans="1:6"><x:c r="A5" t="s"><x:v>6</x:v></x:c><x:c r="B5" s="3"/>'
    b'<x:c r="C5"><x:v>12.5</x:v></x:c><x:c r="D5" s="2"/><x:c r="E5" t="str"><x:f>1+1</x:f>'
    b'<x:v>2</x:v></x:c><x:c r="F5" t="inlineStr"><x:is><x:t xml:space="preserve"> keep </x:t></x:is>'
    b"</x:c></x:row>"
    b'<x:row r="6"><x:c t="s"><x:v>7</x:v></x:c><x:c><x:v>3</x:v></x:c></x:row>'
    b'<x:row r="7" s="3" customFormat="1" spans="2:2"><x:c r="B7" t="b"><x:v>1</x:v></x:c></x:row>'
    b'<x:row r="10" spans="1:1"><x:c r="A10" t="s"><x:v>8</x:v></x:c></x:row>'
    b'</x:sheetData><x:autoFilter ref="A1:F10"/>'
    b'<x:dataValidations count="1"><x:dataValidation type="list" sqref="E2:E10 B2"><x:formula1>"a,b"'
    b"</x:formula1></x:dataValidation></x:dataValidations></x:worksheet>"
)
SHARED = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="9" uniqueCount="9">'
    + b"".join(b"<si><t>" + s + b"</t></si>" for s in (
        b"(Do Not Modify) Id", b"Name", b"Amount", b"Status", b"Kind", b"g-1", b"g-2", b"g-3", b"g-4"))
    + b"</sst>"
)  # fmt: skip
STYLES = (
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    b'<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="49"/><xf numFmtId="164"/>'
    b'<xf numFmtId="14"/></cellXfs>'
    b"</styleSheet>"
)
WORKBOOK = (
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    b'<sheet name="Data" sheetId="1" r:id="rId1"/></sheets><definedNames>'
    b'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
    b"Data!$A$1:$F$10</definedName>"
    b"</definedNames></workbook>"
)
RELS = (
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'worksheet" Target="worksheets/sheet1.xml"/>'
    b'<Relationship Id="rId2" Type="x/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)


def handmade(path: str) -> str:
    parts = (
        ("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", RELS), ("xl/styles.xml", STYLES),
        ("xl/sharedStrings.xml", SHARED), ("xl/worksheets/sheet1.xml", SHEET),
    )  # fmt: skip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            z.writestr(zipfile.ZipInfo(name, (2026, 1, 2, 3, 4, 6)), data, zipfile.ZIP_DEFLATED)
    return path


def fill_handmade(src: str, dst: str) -> None:
    rows = [
        ("n1", "2020-02-03", "k1", None),
        None,
        ("n3", "", None, 7),
        (None, "2020-13-40", "", "x"),
        ("n5", "not a date", "k5", 1.25),
        (
            "n6",
            dt.datetime(2021, 5, 6, 7, 8, 9),  # noqa: DTZ001 (a wall-clock time, as rules give)
            None,
            "",
        ),
        (None, None, None, None),
        ("n8", None, None, None),
        ("n10", "2022-01-01", "k10", "z"),
    ]
    fill_xlsx(src, dst, ["Name", "Date", "Kind", 7], rows)


def cases(work: str, inputs: str, big_rows: int) -> dict[str, str]:
    """The outputs' SHA-256 by case; generated inputs are kept in `inputs` (their zip members
    carry the time they were made, so they are made once and reused)."""
    out: dict[str, str] = {}
    os.makedirs(inputs, exist_ok=True)

    def record(name: str, path: str) -> None:
        out[name] = sha(path)

    def cut(name: str, path: str, part_mb: float) -> None:
        folder = os.path.join(work, name + "_parts")
        os.makedirs(folder, exist_ok=True)
        parts = split_for_import(path, part_mb=part_mb, out_dir=folder)
        out[name + " parts"] = json.dumps(
            [[p.file, p.rows, p.first_row, p.last_row, p.part, p.size] for p in parts]
        )
        for p in parts:
            if p.part is not None:
                record(f"{name} {p.file}", p.path)

    def small_limit(path: str, pieces: int) -> float:
        info = open_sheet(path)
        sheet = next(m for m in info.members if m.name == info.sheet_part)
        fixed = os.path.getsize(path) - sheet.compressed
        return (fixed + 4096 + sheet.compressed / pieces) / 2**20

    # The route on the Sales samples.
    o = os.path.join(work, "sample_route.xlsx")
    transform_file(
        "order", os.path.join(SAMPLES, "reexport", "order.xlsx"), o, settings(),
        merge_source_path=os.path.join(SAMPLES, "sales-excel", "order.xlsx"),
    )  # fmt: skip
    record("sample route", o)
    cut("sample route", o, small_limit(o, 3))
    # Every Sales workbook filled with mixed values.
    for name in sorted(os.listdir(os.path.join(SAMPLES, "sales-excel"))):
        if not name.endswith(".xlsx"):
            continue
        src = os.path.join(SAMPLES, "sales-excel", name)
        o = os.path.join(work, "mixed_" + name)
        fill_mixed(src, o, extra_rows=0)
        record(f"mixed {name}", o)
        cut(f"mixed {name}", o, small_limit(o, 3))
        s = os.path.join(work, "slice_" + name)
        copy_xlsx_rows(o, s, range(2, 40, 3))
        record(f"slice {name}", s)
    # The hand-made sheet.
    src = handmade(os.path.join(work, "handmade.xlsx"))
    o = os.path.join(work, "handmade_filled.xlsx")
    fill_handmade(src, o)
    record("handmade", o)
    s = os.path.join(work, "handmade_slice.xlsx")
    copy_xlsx_rows(o, s, {1, 3, 4, 8})
    record("handmade slice", s)

    # The tests' generated re-export.
    from pathlib import Path

    from tests.engine.helpers import reexport_workbook, step2_export

    step2, re = Path(inputs) / "step2.csv", Path(inputs) / "reexport.xlsx"
    if not re.exists():
        step2_export(step2, 300)
        reexport_workbook(re, 300)
    record("generated input", str(re))
    o = os.path.join(work, "generated_route.xlsx")
    transform_file("order", re, o, settings(), merge_source_path=step2)
    record("generated route", o)
    cut("generated route", o, small_limit(o, 4))
    if big_rows:
        from fill import make_reexport, make_step2

        big = os.path.join(inputs, f"reexport_{big_rows}.xlsx")
        big2 = os.path.join(inputs, f"step2_{big_rows}.csv")
        if not os.path.exists(big):
            make_reexport(big, big_rows)
            make_step2(big2, big_rows)
        record("big input", big)
        o = os.path.join(work, "big_route.xlsx")
        t = time.perf_counter()
        transform_file("order", big, o, settings(), merge_source_path=big2)
        print(f"big route {time.perf_counter() - t:.1f}s", file=sys.stderr)
        record("big route", o)
        t = time.perf_counter()
        cut("big route", o, 8)
        print(f"big split {time.perf_counter() - t:.1f}s", file=sys.stderr)
        o2 = os.path.join(work, "big_mixed.xlsx")
        fill_mixed(big, o2)
        record("big mixed", o2)
        cut("big mixed", o2, 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write")
    ap.add_argument("--check")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--inputs", default="/tmp/p2c-fill-inputs", help="generated inputs, made once")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="p2c-fill-outputs-") as work:
        got = cases(work, args.inputs, args.rows)
    if args.write:
        with open(args.write, "w") as f:
            json.dump(got, f, indent=1)
        print(f"{len(got)} outputs written to {args.write}")
    if args.check:
        with open(args.check) as f:
            want = json.load(f)
        bad = [k for k in want if k in got and got[k] != want[k]]
        missing = [k for k in want if k not in got and (args.rows or not k.startswith("big"))]
        for k in bad:
            print(f"DIFFERENT: {k}\n  want {want[k]}\n  got  {got[k]}")
        for k in missing:
            print(f"MISSING: {k}")
        print(f"{len(got) - len(bad)} of {len(got)} outputs identical ({len(want)} in the baseline)")
        raise SystemExit(1 if bad or missing else 0)


if __name__ == "__main__":
    main()
