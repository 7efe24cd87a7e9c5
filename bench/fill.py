"""Benchmark: xlsx fill in place and the import pack's cut, against the floor of a streaming pass.

    .venv/bin/python bench/fill.py [--xlsx-rows 100000] [--dir /tmp/p2c-bench] [--runs 5] [--route]

Generates an order re-export (three hidden "(Do Not Modify)" columns, date cells, the
dual-write target columns present and empty, a hidden choice sheet, list validations, a
frozen header and a filter), then runs, each in its own process (process start included),
the cases in turn, round after round, and reports each one's median:

- floor: the sheet inflated, every `<c>` cell start found, and deflated again (level 6) into a
  file: what any one pass over the sheet costs;
- fill: `fill_xlsx` alone, six target columns from values made on the fly (no read of the
  workbook's values);
- fill+split: the same fill, then `split_for_import(part_mb=8)` in the same process, as the
  job and `p2c_transform --part-mb` run them (the cut reuses the layout the fill recorded);
- split: `split_for_import(part_mb=8)` of the filled workbook alone, in a fresh process;
- with --route: `p2c_transform --merge-source` (rules over the re-export joined to the step-2
  export, then the fill) without and with `--part-mb 8`, and the rebuild into a new workbook.

Each figure: median wall seconds, median CPU seconds (user+system of the process), peak RSS,
and the load average (1 min) before each run, min-max: the machine is shared, so compare ratios
from the same run (peak RSS counts from this script's own at the fork, ~13 MB). Ratios:
fill+split / floor (goal <= 2x), fill / floor, split / floor. The engine's cases also report
"calls": the seconds of the calls alone, timed inside the process after its imports (what a
worker, which imported the engine once, waits for), held against the floor's whole process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable

TARGETS = [
    "Company",
    "Sales Order Number",
    "Invoice Customer",
    "Requested Receipt Date",
    "Language",
    "Order Type",
]


def make_reexport(path: str, rows: int) -> None:
    import xlsxwriter
    from transform import HEADERS, base_rows  # pyarrow: imported only to make the inputs

    headers = [h for h in HEADERS if h != "Processing Status"] + TARGETS
    template = base_rows(2048)
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet("All Orders")
    hidden = book.add_worksheet("hiddenSheet")
    hidden.hide()
    date_fmt = book.add_format({"num_format": "m/d/yyyy"})
    bold = book.add_format({"bold": True})
    ws.set_column(0, 2, 13, None, {"hidden": True})
    ws.set_column(3, len(headers) - 1, 20)
    ws.freeze_panes(1, 3)
    ws.autofilter(0, 0, rows, len(headers) - 1)
    ws.data_validation(1, 6, rows, 6, {"validate": "list", "source": "=hiddenSheet!$A$1:$A$3"})
    ws.data_validation(
        1, len(headers) - 1, rows, len(headers) - 1, {"validate": "list", "source": "=hiddenSheet!$B$1:$B$2"}
    )
    ws.write_row(0, 0, headers, bold)
    for r in range(rows):
        row = template[r % len(template)][:15]
        for c, v in enumerate(row):
            if c == 0:
                ws.write_string(r + 1, c, f"0f9b55db-0cfb-27e4-085b-{r:012d}")
            elif c == 3:
                ws.write_string(r + 1, c, f"ORD-{r:08d}")
            elif c in (9, 10, 11) and v:
                m, d, y = (int(x) for x in v.split("/"))
                ws.write_datetime(r + 1, c, dt.date(y, m, d), date_fmt)
            elif c == 7:
                ws.write_number(r + 1, c, float(v))
            elif v:
                ws.write_string(r + 1, c, v)
    for i, v in enumerate(["Pending", "Invoiced", "Complete"]):
        hidden.write_string(i, 0, v)
    for i, v in enumerate(["Item based", "Service-Maintenance Based"]):
        hidden.write_string(i, 1, v)
    book.close()


def make_step2(path: str, rows: int) -> None:
    """The step-2 export of the same records (P2C's columns), as Excel's Save as CSV writes it."""
    import csv

    from transform import HEADERS, base_rows

    template = base_rows(2048)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(HEADERS)
        for r in range(rows):
            row = list(template[r % len(template)])
            row[0], row[3] = f"0f9b55db-0cfb-27e4-085b-{r:012d}", f"ORD-{r:08d}"
            out.writerow(row)


FLOOR = textwrap.dedent("""
    import re, sys, zipfile, zlib
    src, dst, part = sys.argv[1], sys.argv[2], sys.argv[3]
    cell = re.compile(rb"<c[\\s>/]")
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    cells = 0
    with zipfile.ZipFile(src) as zf, zf.open(part) as f, open(dst, "wb") as out:
        while data := f.read(1 << 20):
            cells += len(cell.findall(data))
            out.write(comp.compress(data))
        out.write(comp.flush())
""")

# The engine's cases also print the seconds of the calls alone (wall, and CPU of the process
# over them), without the start and the imports (~0.3-0.5 s, pyarrow's mostly): what a worker,
# which imported them once, waits for.
TIMED = textwrap.dedent("""
    import json, os, time

    def timed(fn, *args, **kw):
        t, c = time.perf_counter(), sum(os.times()[:2])
        fn(*args, **kw)
        return time.perf_counter() - t, sum(os.times()[:2]) - c

    def report(*figures):
        print("CALLS " + json.dumps({"s": sum(f[0] for f in figures), "cpu": sum(f[1] for f in figures)}))
""")

FILL = TIMED + textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from migration.engine.files.xlsx_inplace import fill_xlsx
    from migration.engine.step8.packs import split_for_import
    src, dst, split = sys.argv[1], sys.argv[2], sys.argv[4] == "split"

    def values():
        for r in range(10**9):
            day = f"2024-{1 + r % 12:02d}-{1 + r % 28:02d}T00:00:00Z" if r % 5 else ""
            yield ("USMF", f"ORD-{r:08d}", f"CUST-{r % 700:05d}", day, "en-us", "Item based")

    cols = ["Company", "Sales Order Number", "Invoice Customer", "Requested Receipt Date", "Language",
            "Order Type"]
    rows = int(sys.argv[5])
    figures = [timed(fill_xlsx, src, dst, cols, (v for _, v in zip(range(rows), values())))]
    if split:
        figures.append(timed(split_for_import, dst, part_mb=8))
    report(*figures)
""")

SPLIT = TIMED + textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from migration.engine.step8.packs import split_for_import
    report(timed(split_for_import, sys.argv[1], part_mb=8, out_dir=sys.argv[2]))
""")


def run(cmd: list[str], output: str | None) -> dict[str, float]:
    """Wall and CPU seconds, peak RSS (MB) of cmd in a fresh process, and the load average before."""
    if output and os.path.isfile(output):
        os.remove(output)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd[:4])} failed (rc={proc.returncode})")
        out.seek(0)
        lines = out.read().decode().splitlines()
        calls = [json.loads(line[6:]) for line in lines if line.startswith("CALLS ")]
    got = {"s": wall, "cpu": usage.ru_utime + usage.ru_stime, "mb": usage.ru_maxrss / 1024, "load": load}
    if calls:
        got |= {"calls_s": calls[0]["s"], "calls_cpu": calls[0]["cpu"]}
    return got


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    loads = [r["load"] for r in runs]
    got = {
        "s": statistics.median(r["s"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "mb": max(r["mb"] for r in runs),
        "load_min": min(loads),
        "load_max": max(loads),
        "runs": len(runs),
    }
    if all("calls_s" in r for r in runs):
        got["calls_s"] = statistics.median(r["calls_s"] for r in runs)
        got["calls_cpu"] = statistics.median(r["calls_cpu"] for r in runs)
    return got


def show(label: str, rows: int, f: dict[str, float]) -> str:
    calls = f"  calls {f['calls_s']:5.2f} s CPU {f['calls_cpu']:5.2f} s" if "calls_s" in f else ""
    return (
        f"  {label:<34} {f['s']:6.2f} s  CPU {f['cpu']:6.2f} s  {rows / f['s']:>8,.0f} rows/s  "
        f"peak {f['mb']:5.0f} MB  load {f['load_min']:.1f}-{f['load_max']:.1f}{calls}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--dir", default="/tmp/p2c-bench")
    ap.add_argument("--runs", type=int, default=5, help="rounds of alternating runs (medians)")
    ap.add_argument("--route", action="store_true", help="also p2c_transform --merge-source and the rebuild")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    rows = args.xlsx_rows
    src = os.path.join(args.dir, f"reexport_{rows}.xlsx")
    step2 = os.path.join(args.dir, f"step2_{rows}.csv")
    if not os.path.exists(src):
        make_reexport(src, rows)
    if not os.path.exists(step2):
        make_step2(step2, rows)
    d = args.dir
    filled, alone = os.path.join(d, "filled.xlsx"), os.path.join(d, "filled_split.xlsx")
    parts_dir = os.path.join(d, "parts")
    os.makedirs(parts_dir, exist_ok=True)
    cases = [
        ("floor", [PY, "-c", FLOOR, src, os.path.join(d, "floor.bin"), "xl/worksheets/sheet1.xml"], None),
        ("fill", [PY, "-c", FILL, src, filled, ROOT, "-", str(rows)], filled),
        ("fill+split", [PY, "-c", FILL, src, alone, ROOT, "split", str(rows)], alone),
        ("split", [PY, "-c", SPLIT, filled, parts_dir, ROOT], None),
    ]
    if args.route:
        merged, rebuilt = os.path.join(d, "merged.xlsx"), os.path.join(d, "rebuilt.xlsx")
        route = [
            PY,
            "manage.py",
            "p2c_transform",
            "order",
            src,
            merged,
            "--company",
            "USMF",
            "--merge-source",
            step2,
        ]
        cases += [
            ("route", route, merged),
            ("route+parts", [*route, "--part-mb", "8"], merged),
            (
                "rebuild",
                [PY, "manage.py", "p2c_transform", "order", src, rebuilt, "--company", "USMF"],
                rebuilt,
            ),
        ]
    got: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in cases}
    for _ in range(args.runs):
        for name, cmd, out in cases:
            got[name].append(run(cmd, out))
    figures = {name: summary(runs) for name, runs in got.items()}
    sheet_mb = _sheet_mb(src)
    print(
        f"xlsx re-export: {rows:,} rows, {os.path.getsize(src) / 2**20:,.1f} MB "
        f"({sheet_mb:,.0f} MB of sheet XML); medians of {args.runs} alternating runs on "
        f"{os.cpu_count()} cores (shared), load average (1 min) before each run"
    )
    labels = {
        "floor": "floor (inflate, scan <c>, deflate)",
        "fill": "fill_xlsx alone",
        "fill+split": "fill_xlsx + split (8 MB parts)",
        "split": "split alone (fresh process)",
        "route": "p2c_transform --merge-source",
        "route+parts": "  ... --part-mb 8",
        "rebuild": "rebuild (p2c_transform, no merge)",
    }
    for name, f in figures.items():
        print(show(labels[name], rows, f))
    floor = figures["floor"]
    ratios = {f"{k}/floor": figures[k]["s"] / floor["s"] for k in ("fill", "fill+split", "split")}
    cpu = {f"{k}/floor": figures[k]["cpu"] / floor["cpu"] for k in ("fill", "fill+split", "split")}
    print(
        "  ratios to the floor (wall; CPU): "
        + ", ".join(f"{k} {v:.2f}x; {cpu[k]:.2f}x" for k, v in ratios.items())
        + " (goal: fill+split <= 2x)"
    )
    calls = {f"{k}/floor": figures[k]["calls_s"] / floor["s"] for k in ("fill", "fill+split", "split")}
    print(
        "  the calls alone, imports done (a worker's wait), to the floor's whole process (wall): "
        + ", ".join(f"{k} {v:.2f}x" for k, v in calls.items())
    )
    if args.route:
        print(
            f"  route+parts / route {figures['route+parts']['s'] / figures['route']['s']:.2f}x; "
            f"route / rebuild {figures['route']['s'] / figures['rebuild']['s']:.2f}x"
        )
    if args.json:
        with open(args.json, "w") as f:
            both = {"figures": figures, "ratios": ratios, "cpu_ratios": cpu, "calls_ratios": calls}
            json.dump(both, f, indent=1)


def _sheet_mb(path: str) -> float:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return zf.getinfo("xl/worksheets/sheet1.xml").file_size / 2**20


if __name__ == "__main__":
    main()
