"""Benchmark: p2c_transform against pyarrow's and calamine+xlsxwriter's own read+write.

    .venv/bin/python bench/transform.py [--rows 1048575] [--xlsx-rows 100000] [--dir /tmp/p2c-bench]
        [--parts-rows 1000000] [--parts 10] [--only-parts]

The parts case: the same order rows as one CSV and as ten CSV parts of 100,000 rows
(Sales' export limit), each through p2c_transform: the parts must take at most 1.2x
the time of the one file, and their peak memory must not grow with the number of parts.

Generates an order export CSV (quoted multi-line text, US dates) and an order
xlsx (hidden "(Do Not Modify)" columns, date cells), then runs, each in its own
subprocess: the reference read+write, and `manage.py p2c_transform`, process
start included, alternating them round after round. Prints medians of seconds, rows/s and peak
RSS, the ratios (the median of each round's, with their range) and the load average beside: on a
shared machine a ratio of medians from alternated runs holds up where a best run does not. The CSV
case is held to plain pyarrow (`read_csv` + `write_csv` of the same file: the goal's reference)
and also shown against pyarrow's streaming reader and writer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.compute as pc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
HEADERS = [
    "(Do Not Modify) Order", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On", "Order ID",
    "Name", "Customer", "Status Reason", "Total Amount", "Currency", "Requested Delivery Date",
    "Date Fulfilled", "Date Submitted", "Ship To City", "Ship To Country/Region", "Description",
    "Processing Status",
]  # fmt: skip
CUSTOMERS = [
    "Contoso Ltd",
    "Fabrikam, Inc.",
    "Müller & Söhne AG",
    "株式会社サンプル",
    "Litware LLC",
    'Tailspin "Toys"',
]
COUNTRIES = ["United States", "Germany", "France", "Türkiye", "Japan", "Sweden", "Canada", ""]
CITIES = ["Redmond", "München", "上海", "Madrid", "Paris", "Toronto"]


def _us_date(rng: random.Random, time: bool = False) -> str:
    d = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(900))
    text = f"{d.month}/{d.day}/{d.year}"
    return (
        text + f" {rng.randrange(1, 13)}:{rng.randrange(60):02d} {'AM' if rng.random() < 0.5 else 'PM'}"
        if time
        else text
    )


def base_rows(n: int, seed: int = 7) -> list[list[str]]:
    """n distinct template rows; tiled to the full size with unique GUIDs and order IDs."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        desc = " ".join(
            rng.choice(["alpha", "beta", "gamma", "delta", "épsilon"]) for _ in range(rng.randrange(20, 40))
        )
        if rng.random() < 0.3:
            desc = desc.replace(" gamma ", '\r\ngamma, "quoted"\r\n', 1)
        rows.append([
            "", f"{rng.getrandbits(80):020x}==", _us_date(rng, True), "",
            f"Order for {rng.choice(CUSTOMERS)}", rng.choice(CUSTOMERS),
            rng.choice(["Pending", "Invoiced", "Complete"]), f"{rng.uniform(10, 1e5):.2f}", "US Dollar",
            _us_date(rng) if rng.random() < 0.7 else "", _us_date(rng), _us_date(rng),
            rng.choice(CITIES), rng.choice(COUNTRIES), desc, rng.choice(["Active", "Invoiced"]),
        ])  # fmt: skip
    return rows


def excel_csv(columns: list[pa.Array]) -> bytes:
    """Rows as Excel's "Save as CSV" writes them: quotes only where needed, CRLF."""
    parts = []
    for col in columns:
        needs = pc.match_substring_regex(col, r'[",\r\n]')
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
        parts.append(pc.if_else(needs, quoted, col))
    parts[-1] = pc.binary_join_element_wise(parts[-1], "\r\n", "")
    return "".join(pc.binary_join_element_wise(*parts, ",").to_pylist()).encode()


def make_csv(path: str, rows: int, first: int = 0) -> None:
    """rows data rows; GUIDs and order IDs numbered from `first` (parts of one table continue)."""
    render_csv = excel_csv

    template = base_rows(4096)
    cols_t = [pa.array([r[i] for r in template]) for i in range(len(HEADERS))]
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + render_csv([pa.array([h]) for h in HEADERS]))
        for start in range(0, rows, 65536):
            n = min(65536, rows - start)
            idx = pa.array([(first + start + i) % len(template) for i in range(n)])
            cols = [c.take(idx) for c in cols_t]
            seq = pc.cast(pa.array(range(first + start, first + start + n)), pa.string())
            cols[0] = pc.binary_join_element_wise("0f9b55db-0cfb-27e4-085b-", pc.utf8_lpad(seq, 12, "0"), "")
            cols[3] = pc.binary_join_element_wise("ORD-", pc.utf8_lpad(seq, 8, "0"), "")
            f.write(render_csv(cols))


def make_xlsx(path: str, rows: int) -> None:
    import xlsxwriter

    template = base_rows(2048)
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet("Order")
    date_fmt = book.add_format({"num_format": "m/d/yyyy"})
    ws.set_column(0, 2, 13, None, {"hidden": True})
    ws.write_row(0, 0, HEADERS)
    for r in range(rows):
        row = template[r % len(template)]
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
    book.close()


PYARROW_REF = textwrap.dedent("""
    import sys, pyarrow as pa, pyarrow.csv as c
    src, dst = sys.argv[1], sys.argv[2]
    names = [f"c{i}" for i in range(int(sys.argv[3]))]
    read = c.ReadOptions(column_names=names, skip_rows_after_names=1, block_size=16 << 20)
    r = c.open_csv(src, read_options=read, parse_options=c.ParseOptions(newlines_in_values=True),
                   convert_options=c.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
    w = c.CSVWriter(dst, r.schema)
    for b in r:
        w.write_batch(b)
    w.close()
""")

PLAIN_REF = textwrap.dedent("""
    import sys, pyarrow.csv as c
    table = c.read_csv(sys.argv[1], parse_options=c.ParseOptions(newlines_in_values=True))
    c.write_csv(table, sys.argv[2])
""")

XLSX_REF = textwrap.dedent("""
    import sys, xlsxwriter
    from python_calamine import CalamineWorkbook
    rows = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).iter_rows()
    book = xlsxwriter.Workbook(sys.argv[2], {"constant_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet()
    for r, row in enumerate(rows):
        ws.write_row(r, 0, row)
    book.close()
""")

MEASURE = textwrap.dedent("""
    import resource, subprocess, sys, time
    t = time.perf_counter()
    rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
    print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
""")


def measure(cmd: list[str], output: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of cmd, run as the only child of a fresh process.

    The output is removed first: every run writes a new file, as a real run does.
    """
    if os.path.exists(output):
        os.remove(output)
    out = subprocess.run([PY, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds, rss_kb, rc = out.stdout.split()
    return float(seconds), int(rss_kb) / 1024, int(rc)


def alternate(commands: list[tuple[list[str], str]], runs: int) -> tuple[list[list[tuple]], list[float]]:
    """Run the commands one after the other, `runs` rounds: each command's runs, and the 1-minute
    load average after each round. Alternating puts a busy spell of a shared machine on every
    command alike; medians, not the best run, are what a later run on another day can match.

    Each command comes with its output path (removed before each run).
    """
    results: list[list[tuple]] = [[] for _ in commands]
    loads = []
    for _ in range(runs):
        for found, (cmd, output) in zip(results, commands, strict=True):
            found.append(measure(cmd, output))
        loads.append(os.getloadavg()[0])
    return results, loads


def median_run(runs: list[tuple]) -> tuple[float, float, int]:
    """The median seconds and peak MB of a command's runs, and the worst exit code."""
    return (
        statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs),
        max(r[2] for r in runs),
    )


def ratio(ours: list[tuple], ref: list[tuple]) -> tuple[float, float, float]:
    """Median, lowest and highest of the round-by-round ratios (each round's two runs were
    neighbours in time, so they shared the machine's load)."""
    each = [o[0] / r[0] for o, r in zip(ours, ref, strict=True)]
    return statistics.median(each), min(each), max(each)


def loads_text(loads: list[float]) -> str:
    return f"load average {min(loads):.2f}-{max(loads):.2f} over {len(loads)} alternating rounds"


def line(label: str, rows: int, seconds: float, rss: float) -> str:
    return f"  {label:<38} {seconds:7.2f} s  {rows / seconds:>11,.0f} rows/s  peak {rss:7.0f} MB"


def run_case(
    name: str, src: str, dst: str, refs: dict[str, list[str]], rows: int, runs: int
) -> dict[str, float]:
    """p2c_transform against each reference (name -> command; its output path is its argv[4]),
    alternated; the first reference is the one the target is held to."""
    transform = [PY, "manage.py", "p2c_transform", "order", src, dst, "--company", "USMF"]
    commands = [(cmd, cmd[4]) for cmd in refs.values()] + [(transform, transform[5])]
    results, loads = alternate(commands, runs)
    ours = median_run(results[-1])
    if ours[2] or any(median_run(r)[2] for r in results[:-1]):
        raise SystemExit(f"{name}: a command failed (exit codes {[median_run(r)[2] for r in results]})")
    print(f"{name}: {rows:,} rows, {os.path.getsize(src) / 2**20:,.0f} MB in; medians, {loads_text(loads)}")
    figures: dict = {"rows": rows, "ours_s": ours[0], "ours_mb": ours[1], "load_average": loads}
    for label, found in zip(refs, results[:-1], strict=True):
        ref_s, ref_mb, _ = median_run(found)
        print(line(label, rows, ref_s, ref_mb))
        figures.setdefault("reference_s", ref_s)  # the first: the target's
        figures.setdefault("reference_mb", ref_mb)
        figures[f"{label} s"] = ref_s
    print(line("p2c_transform (process start incl.)", rows, ours[0], ours[1]))
    for n, (label, found) in enumerate(zip(refs, results[:-1], strict=True)):
        mid, low, high = ratio(results[-1], found)
        target = " (target <= 1.3x)" if name.startswith("CSV") and n == 0 else ""
        print(f"  ratio to {label}: {mid:.2f}x (rounds {low:.2f}-{high:.2f}x){target}")
        if n == 0:
            figures["ratio"], figures["ratio_range"] = mid, [low, high]
        else:
            figures[f"ratio to {label}"] = mid
    print(f"  peak memory {ours[1]:.0f} MB")
    return figures


def run_parts(folder: str, rows: int, parts: int, runs: int) -> dict[str, float]:
    """One file against the same rows in parts, both through p2c_transform, runs alternated."""
    whole = os.path.join(folder, f"order_whole_{rows}.csv")
    if not os.path.exists(whole):
        make_csv(whole, rows)
    size = rows // parts
    paths = [os.path.join(folder, f"order_{n + 1:02d}.csv") for n in range(parts)]
    for n, path in enumerate(paths):
        if not os.path.exists(path):
            make_csv(path, size, first=n * size)
    # The same rows in two halves: memory must not grow from two parts to ten.
    halves = [os.path.join(folder, f"order_half_{n + 1}.csv") for n in range(2)]
    for n, path in enumerate(halves):
        if not os.path.exists(path):
            make_csv(path, rows // 2, first=n * (rows // 2))
    base = [PY, "manage.py", "p2c_transform", "order"]
    one = [*base, whole, os.path.join(folder, "whole_out.csv"), "--company", "USMF"]
    out_dir = os.path.join(folder, "parts_out")
    many = [*base, *paths, out_dir, "--company", "USMF", "--format", "csv"]
    two = [*base, *halves, os.path.join(folder, "two_out"), "--company", "USMF", "--format", "csv"]
    results, loads = alternate(
        [
            (one, one[5]),
            (many, os.path.join(out_dir, "order_report.json")),
            (two, os.path.join(folder, "two_out", "order_report.json")),
        ],
        runs,
    )
    (o_s, o_mb, o_rc), (m_s, m_mb, m_rc), (t_s, t_mb, t_rc) = (median_run(r) for r in results)
    mid, low, high = ratio(results[1], results[0])
    if o_rc or m_rc or t_rc:
        raise SystemExit(
            f"parts: a command failed (one file rc={o_rc}, {parts} parts rc={m_rc}, 2 parts rc={t_rc})"
        )
    print(
        f"Order table in parts: {rows:,} rows as one file and as {parts} parts of {size:,} rows; "
        f"medians, {loads_text(loads)}"
    )
    print(line("one file", rows, o_s, o_mb))
    print(line(f"{parts} parts", rows, m_s, m_mb))
    print(line("2 parts (memory baseline)", rows, t_s, t_mb))
    print(
        f"  ratio {mid:.2f}x (rounds {low:.2f}-{high:.2f}x; target <= 1.2x); "
        f"peak memory {m_mb:.0f} MB for {parts} parts, {t_mb:.0f} MB for 2"
    )
    return {
        "rows": rows,
        "parts": parts,
        "one_file_s": o_s,
        "one_file_mb": o_mb,
        "parts_s": m_s,
        "parts_mb": m_mb,
        "two_parts_mb": t_mb,
        "ratio": mid,
        "load_average": loads,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_048_575, help="CSV data rows (default: Excel's limit)")
    ap.add_argument("--xlsx-rows", type=int, default=100_000, help="xlsx data rows (default: Sales' limit)")
    ap.add_argument("--dir", default="/tmp/p2c-bench")
    ap.add_argument("--runs", type=int, default=3, help="median of N alternating runs")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--parts-rows", type=int, default=1_000_000, help="rows of the order table in parts")
    ap.add_argument(
        "--parts", type=int, default=10, help="its number of parts (100,000 rows each by default)"
    )
    ap.add_argument("--only-parts", action="store_true", help="run the parts case only")
    ap.add_argument(
        "--no-fill", action="store_true", help="skip xlsx fill in place against the rebuild (bench/fill.py)"
    )
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    # The reference's pyarrow starts from installed bytecode; so does the app (make setup does
    # this too): neither side's time includes compiling its own code.
    subprocess.run([PY, "-m", "compileall", "-q", "migration", "p2cwizard"], cwd=ROOT, check=True)
    os.makedirs(args.dir, exist_ok=True)
    figures = {}
    if args.parts_rows:
        figures["parts"] = run_parts(args.dir, args.parts_rows, args.parts, args.runs)
    if args.only_parts:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=1)
        return
    csv_in, xlsx_in = (
        os.path.join(args.dir, f"order_{args.rows}.csv"),
        os.path.join(args.dir, f"order_{args.xlsx_rows}.xlsx"),
    )
    if not os.path.exists(csv_in):
        make_csv(csv_in, args.rows)
    if args.xlsx_rows and not os.path.exists(xlsx_in):
        make_xlsx(xlsx_in, args.xlsx_rows)
    refs = {
        # The goal's reference: pyarrow reads the whole file and writes it, as plainly as it can.
        "pyarrow read_csv + write_csv": [PY, "-c", PLAIN_REF, csv_in, os.path.join(args.dir, "plain.csv")],
        "pyarrow streaming read+write": [
            PY, "-c", PYARROW_REF, csv_in, os.path.join(args.dir, "ref.csv"), str(len(HEADERS))
        ],
    }  # fmt: skip
    figures["csv"] = run_case(
        "CSV -> CSV", csv_in, os.path.join(args.dir, "out.csv"), refs, args.rows, args.runs
    )
    if args.xlsx_rows:
        refs = {"calamine + xlsxwriter": [PY, "-c", XLSX_REF, xlsx_in, os.path.join(args.dir, "ref.xlsx")]}
        out = os.path.join(args.dir, "out.xlsx")
        figures["xlsx"] = run_case("xlsx -> xlsx", xlsx_in, out, refs, args.xlsx_rows, args.runs)
    if args.xlsx_rows and not args.no_fill:
        # The import route's fill in place of a re-export, against today's rebuild of it.
        fill = [PY, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fill.py")]
        options = ["--xlsx-rows", str(args.xlsx_rows), "--dir", args.dir, "--runs", str(args.runs)]
        fill_json = os.path.join(args.dir, "fill.json")
        subprocess.run([*fill, *options, "--json", fill_json], check=True)
        with open(fill_json) as f:
            figures["fill"] = json.load(f)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
