"""Benchmark: why the engine reads and writes with pyarrow, calamine and XlsxWriter, not pandas/openpyxl.

    .venv/bin/python bench/stack.py [--csv-rows 1000000] [--xlsx-rows 100000] [--runs 3] [--json FILE]

Generates the order export of bench/transform.py (quoted multi-line text, US
dates; the xlsx has hidden "(Do Not Modify)" columns and date cells) and times,
each in its own subprocess, four steps of the hot path with each library:

1. CSV read, every cell as text (as the engine reads): pandas.read_csv (C engine)
   against pyarrow.csv with newlines_in_values, whole file and streamed in blocks.
   pandas.read_csv(engine="pyarrow") is tried once: it cannot read multi-line fields.
2. CSV write of the table just read: DataFrame.to_csv against pyarrow.csv.write_csv.
3. xlsx read of every row: openpyxl read_only against python-calamine.
4. xlsx write of the rows calamine read: openpyxl write_only against XlsxWriter constant_memory.

Only the step is timed (imports and loading its input are not); the runs of a
task's libraries alternate and each keeps its fastest. "peak MB" is the process's
peak RSS during the step (input already in memory included), "+MB" what the step
added to the RSS it started with; ratio is seconds over the chosen library's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "bench")]
from transform import HEADERS, make_csv, make_xlsx  # noqa: E402  (bench/ is not a package)

PY = sys.executable
CSV_BLOCK_BYTES = 2 << 20  # as migration/engine/files/reading.py
SHEET = "Order"  # make_xlsx's sheet


# --- measuring one step, inside the child process ------------------------------------------


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)[1]) / 1024


class Step:
    """Times the `with` block and records the peak RSS reached inside it.

    Entering resets the kernel's high-water mark (VmHWM) to the current RSS, so the
    peak belongs to the step, not to the imports or the loading of its input.
    """

    def __enter__(self) -> Step:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        self.start_mb = _status_mb("VmRSS")
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.peak_mb = _status_mb("VmHWM")


# --- the cases: each loads its input, times one step in `step`, returns the data rows --------


def _pandas_csv_options() -> dict:
    return {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig"}


def _pyarrow_csv_options() -> dict:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return {
        "read_options": pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        "parse_options": pacsv.ParseOptions(newlines_in_values=True),
        "convert_options": pacsv.ConvertOptions(
            column_types=dict.fromkeys(HEADERS, pa.string()), strings_can_be_null=False
        ),
    }


def csv_read_whole_pandas(src: str, dst: str, step: Step) -> int:
    import pandas as pd

    with step:
        frame = pd.read_csv(src, **_pandas_csv_options())
    return len(frame)


def csv_read_whole_pandas_pyarrow_engine(src: str, dst: str, step: Step) -> int:
    import pandas as pd

    with step:
        frame = pd.read_csv(src, engine="pyarrow", **_pandas_csv_options())
    return len(frame)


def csv_read_whole_pyarrow(src: str, dst: str, step: Step) -> int:
    import pyarrow.csv as pacsv

    with step:
        table = pacsv.read_csv(src, **_pyarrow_csv_options())
    return table.num_rows


def csv_read_streamed_pandas(src: str, dst: str, step: Step) -> int:
    import pandas as pd

    with step, pd.read_csv(src, chunksize=65536, **_pandas_csv_options()) as chunks:
        rows = sum(len(chunk) for chunk in chunks)
    return rows


def csv_read_streamed_pyarrow(src: str, dst: str, step: Step) -> int:
    import pyarrow.csv as pacsv

    with step:
        rows = sum(batch.num_rows for batch in pacsv.open_csv(src, **_pyarrow_csv_options()))
    return rows


def csv_write_pandas(src: str, dst: str, step: Step) -> int:
    import pandas as pd

    frame = pd.read_csv(src, **_pandas_csv_options())
    with step:
        frame.to_csv(dst, index=False, lineterminator="\r\n")
    return len(frame)


def csv_write_pyarrow(src: str, dst: str, step: Step) -> int:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(src, **_pyarrow_csv_options())
    options = pacsv.WriteOptions(eol="\r\n", quoting_style="needed")  # as migration/engine/files/writing.py
    with step:
        pacsv.write_csv(table, dst, options)
    return table.num_rows


def xlsx_read_openpyxl(src: str, dst: str, step: Step) -> int:
    from openpyxl import load_workbook

    with step:
        book = load_workbook(src, read_only=True, data_only=True)
        rows = sum(1 for _ in book[SHEET].iter_rows(values_only=True))
        book.close()
    return rows - 1


def xlsx_read_calamine(src: str, dst: str, step: Step) -> int:
    from python_calamine import CalamineWorkbook

    with step:
        rows = sum(1 for _ in CalamineWorkbook.from_path(src).get_sheet_by_name(SHEET).iter_rows())
    return rows - 1


def _rows_for_writing(src: str) -> list[list]:
    """The sheet's rows as calamine gives them, empty cells as None: the same input for both writers."""
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(src).get_sheet_by_name(SHEET)
    return [[None if v == "" else v for v in row] for row in sheet.iter_rows()]


def xlsx_write_openpyxl(src: str, dst: str, step: Step) -> int:
    from openpyxl import Workbook

    rows = _rows_for_writing(src)
    with step:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(SHEET)
        for row in rows:
            sheet.append(row)
        book.save(dst)
    return len(rows) - 1


def xlsx_write_xlsxwriter(src: str, dst: str, step: Step) -> int:
    import datetime as dt

    import xlsxwriter

    rows = _rows_for_writing(src)
    with step:  # the engine's XlsxWriter.write_rows, without its checks
        book = xlsxwriter.Workbook(
            dst, {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
        )
        sheet = book.add_worksheet(SHEET)
        date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if type(v) is str:
                    sheet.write_string(r, c, v)
                elif type(v) is float or type(v) is int:
                    sheet.write_number(r, c, v)
                elif isinstance(v, dt.date):
                    sheet.write_datetime(r, c, v, date_fmt)
                else:
                    sheet.write(r, c, v)
        book.close()
    return len(rows) - 1


Case = Callable[[str, str, Step], int]
# task -> [(library, case)], the chosen library first; a task's input is its "csv" or "xlsx" file.
TASKS: dict[str, tuple[str, list[tuple[str, Case]]]] = {
    "CSV read, whole": ("csv", [
        ("pyarrow.csv.read_csv", csv_read_whole_pyarrow),
        ("pandas.read_csv", csv_read_whole_pandas),
        ("pandas.read_csv engine=pyarrow", csv_read_whole_pandas_pyarrow_engine),
    ]),
    "CSV read, streamed": ("csv", [
        ("pyarrow.csv.open_csv", csv_read_streamed_pyarrow),
        ("pandas.read_csv chunksize", csv_read_streamed_pandas),
    ]),
    "CSV write": ("csv", [
        ("pyarrow.csv.write_csv", csv_write_pyarrow),
        ("DataFrame.to_csv", csv_write_pandas),
    ]),
    "xlsx read": ("xlsx", [
        ("python-calamine", xlsx_read_calamine),
        ("openpyxl read_only", xlsx_read_openpyxl),
    ]),
    "xlsx write": ("xlsx", [
        ("XlsxWriter constant_memory", xlsx_write_xlsxwriter),
        ("openpyxl write_only", xlsx_write_openpyxl),
    ]),
}  # fmt: skip
EXPECTED_TO_FAIL = {csv_read_whole_pandas_pyarrow_engine}  # tried once, its error printed
CASES = {case.__name__: case for _, cases in TASKS.values() for _, case in cases}


def child(case_name: str, src: str, dst: str) -> None:
    """Runs one case and prints its figures (or its error) as one JSON line."""
    step = Step()
    try:
        rows = CASES[case_name](src, dst, step)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {str(e).splitlines()[0][:60]}"}))
        return
    figures = {"rows": rows, "seconds": step.seconds, "start_mb": step.start_mb, "peak_mb": step.peak_mb}
    print(json.dumps(figures))


# --- the parent: inputs, runs, table -------------------------------------------------------


def ensure_input(path: str, make: Callable[[str, int], None], rows: int) -> str:
    """Generates the file once; written aside and renamed, so a killed run leaves no half file."""
    if not os.path.exists(path):
        t = time.perf_counter()
        make(path + ".part", rows)
        os.replace(path + ".part", path)
        size = os.path.getsize(path) / 2**20
        print(f"generated {path} ({size:,.0f} MB) in {time.perf_counter() - t:.0f} s")
    return path


def run_case(case: Case, src: str, dst: str) -> dict:
    if os.path.exists(dst):
        os.remove(dst)
    out = subprocess.run(
        [PY, os.path.abspath(__file__), "--measure", case.__name__, src, dst],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    if out.returncode:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {out.returncode}: {tail[:120]}"}
    return json.loads(out.stdout.splitlines()[-1])


def measure_task(task: str, src: str, rows: int, runs: int, folder: str) -> list[dict]:
    """Alternates the task's libraries run after run and keeps each one's fastest run."""
    _, cases = TASKS[task]
    best: dict[str, dict] = {}
    for run in range(runs):
        for library, case in cases:
            if case in EXPECTED_TO_FAIL and run:
                continue
            dst = os.path.join(folder, f"out_{case.__name__}{os.path.splitext(src)[1]}")
            r = run_case(case, src, dst)
            if "error" not in r and r["rows"] != rows:
                r = {"error": f"read {r['rows']:,} rows, not {rows:,}"}
            kept = best.get(library, {"error": ""})
            if "error" in kept or r.get("seconds", 1e9) < kept["seconds"]:
                best[library] = r
    base = best[cases[0][0]].get("seconds")
    results = []
    for library, _ in cases:
        r = {"task": task, "library": library, "rows": rows, **best[library]}
        if "error" not in r:
            r["rows_per_s"] = rows / r["seconds"]
            r["step_mb"] = r["peak_mb"] - r["start_mb"]
            r["ratio"] = r["seconds"] / base if base else None
        results.append(r)
    return results


def print_row(r: dict, first: bool) -> None:
    task = r["task"] if first else ""
    if "error" in r:
        print(f"{task:<19} {r['library']:<31} failed: {r['error']}", flush=True)
        return
    ratio = f"{r['ratio']:5.2f}x" if r["ratio"] else "     -"
    print(
        f"{task:<19} {r['library']:<31} {r['seconds']:7.2f} {r['rows_per_s']:>11,.0f}"
        f" {r['peak_mb']:8.0f} {r['step_mb']:7.0f}  {ratio}",
        flush=True,
    )


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv-rows", type=int, default=1_000_000, help="CSV data rows (default 1,000,000)")
    ap.add_argument("--xlsx-rows", type=int, default=100_000, help="xlsx data rows (default 100,000)")
    ap.add_argument("--runs", type=int, default=3, help="best of N alternating runs (default 3)")
    ap.add_argument("--dir", default="/tmp/p2c-bench-stack", help="inputs (kept) and outputs")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    rows = {"csv": args.csv_rows, "xlsx": args.xlsx_rows}
    makers = {"csv": make_csv, "xlsx": make_xlsx}
    inputs = {
        kind: ensure_input(os.path.join(args.dir, f"order_{n}.{kind}"), makers[kind], n)
        for kind, n in rows.items()
    }
    libs = ["pandas", "pyarrow", "openpyxl", "python-calamine", "XlsxWriter"]
    machine = {
        "python": platform.python_version(),
        "versions": {lib: version(lib) for lib in libs},
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
    }
    print(
        f"Python {machine['python']}, {machine['cpus']} CPUs, load {machine['load_before'][0]:.1f}; "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    )
    print(f"CSV {rows['csv']:,} rows, xlsx {rows['xlsx']:,} rows, best of {args.runs} runs\n")
    print(f"{'task':<19} {'library':<31} {'seconds':>7} {'rows/s':>11} {'peak MB':>8} {'+MB':>7}  ratio")
    results = []
    for task, (kind, _) in TASKS.items():
        task_results = measure_task(task, inputs[kind], rows[kind], args.runs, args.dir)
        for i, r in enumerate(task_results):
            print_row(r, i == 0)
        results += task_results
    machine["load_after"] = os.getloadavg()
    print(
        f"\nload average {machine['load_after'][0]:.1f} at the end: the machine is shared, "
        "figures vary with its load; compare ratios, not seconds."
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "machine": machine, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
