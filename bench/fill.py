"""Benchmark: xlsx fill in place against today's rebuild (p2c_transform writing a new workbook).

    .venv/bin/python bench/fill.py [--xlsx-rows 100000] [--dir /tmp/p2c-bench] [--runs 3]

Generates an order re-export (three hidden "(Do Not Modify)" columns, date cells, the
dual-write target columns present and empty, a hidden choice sheet, list validations, a
frozen header and a filter), then runs, each in its own process, process start included:

- rebuild: `manage.py p2c_transform order REEXPORT OUT.xlsx` (calamine + rules + xlsxwriter:
  what every xlsx output was before fill in place);
- fill: `manage.py p2c_transform order REEXPORT OUT.xlsx --merge-source STEP2.csv`, the import
  route as the CLI and the jobs run it: the rules over the re-export joined by GUID to the
  step-2 export, the target cells streamed into a copy of the workbook (`fill_xlsx`);
- fill_xlsx alone: calamine reads the re-export, per-row values made from it, `fill_xlsx`.

Prints seconds, rows/s, peak RSS and the ratios fill / rebuild (target <= 1.5x).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from transform import HEADERS, PY, ROOT, base_rows, line, measure

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

    template = base_rows(2048)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(HEADERS)
        for r in range(rows):
            row = list(template[r % len(template)])
            row[0], row[3] = f"0f9b55db-0cfb-27e4-085b-{r:012d}", f"ORD-{r:08d}"
            out.writerow(row)


FILL = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from migration.engine.files.reading import open_source
    from migration.engine.files.xlsx_inplace import fill_xlsx, rows_from_batches
    src, dst = sys.argv[1], sys.argv[2]
    source = open_source(src)
    h = {n: i for i, n in enumerate(source.headers)}

    def values():
        for b in source.batches():
            n = b.num_rows
            yield [["USMF"] * n, b.text(h["Order ID"]), b.text(h["Customer"]),
                   [d + "T00:00:00Z" if d else "" for d in b.text(h["Requested Delivery Date"]).to_pylist()],
                   ["en-us"] * n, ["Item based"] * n]

    cols = ["Company", "Sales Order Number", "Invoice Customer", "Requested Receipt Date", "Language",
            "Order Type"]
    fill_xlsx(src, dst, cols, rows_from_batches(values()))
""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--dir", default="/tmp/p2c-bench")
    ap.add_argument("--runs", type=int, default=3, help="best of N alternating runs")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    src = os.path.join(args.dir, f"reexport_{args.xlsx_rows}.xlsx")
    step2 = os.path.join(args.dir, f"step2_{args.xlsx_rows}.csv")
    if not os.path.exists(src):
        make_reexport(src, args.xlsx_rows)
    if not os.path.exists(step2):
        make_step2(step2, args.xlsx_rows)
    rebuilt, filled = os.path.join(args.dir, "rebuilt.xlsx"), os.path.join(args.dir, "filled.xlsx")
    merged = os.path.join(args.dir, "merged.xlsx")
    rebuild = [PY, "manage.py", "p2c_transform", "order", src, rebuilt, "--company", "USMF"]
    route = [*rebuild[:5], merged, "--company", "USMF", "--merge-source", step2]
    fill = [PY, "-c", FILL, src, filled, ROOT]
    best: dict[str, tuple[float, float, int]] = {}
    cases = (("rebuild", rebuild, rebuilt), ("route", route, merged), ("fill", fill, filled))
    for _ in range(args.runs):
        for name, cmd, out in cases:
            got = measure(cmd, out)
            if got[2]:
                raise SystemExit(f"{name} failed (rc={got[2]})")
            if name not in best or got[0] < best[name][0]:
                best[name] = got
    rows = args.xlsx_rows
    print(f"xlsx re-export: {rows:,} rows, {os.path.getsize(src) / 2**20:,.1f} MB in")
    print(line("rebuild (p2c_transform, today)", rows, best["rebuild"][0], best["rebuild"][1]))
    print(line("fill in place (p2c_transform --merge-source)", rows, best["route"][0], best["route"][1]))
    print(line("fill_xlsx alone (read + fill_xlsx)", rows, best["fill"][0], best["fill"][1]))
    ratio = best["route"][0] / best["rebuild"][0]
    print(
        f"  ratio fill/rebuild {ratio:.2f}x (target <= 1.5x); fill_xlsx alone "
        f"{best['fill'][0] / best['rebuild'][0]:.2f}x; output {os.path.getsize(merged) / 2**20:.1f} MB"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {"s": v[0], "mb": v[1]} for k, v in best.items()} | {"ratio": ratio}, f, indent=1)


if __name__ == "__main__":
    main()
