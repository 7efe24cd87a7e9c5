"""Issue 11's figures in one run: each target beside its reference, measured now, on this machine.

    .venv/bin/python bench/scale.py [--quick] [--only engine jobs bigjob issues load] [--json FILE]

Runs, one after the other (never side by side: they would measure each other):

- engine:  bench/transform.py: p2c_transform against pyarrow's own read+write (1,048,575-row CSV)
           and calamine + xlsxwriter (100,000-row xlsx); fill in place against the rebuild;
- bigjob:  bench/bigjob.py: a 1,000,000-row CSV job against p2c_transform on the same file;
- issues:  bench/bigjob.py --issues-every-row: the same with an issue on every row (worker memory,
           results page);
- jobs:    bench/jobs.py: jobs per minute with two Celery workers against one (Redis, PostgreSQL);
- load:    bench/load.py: 50 simultaneous users at a browser's pace (a request every 1.5 s, as
           uploads.js polls while jobs run), embedded (SQLite) and on PostgreSQL; and with no
           think time at all (the worst case), embedded.

Each script prints its own figures as it goes; the table at the end puts every target beside its
reference and what this run measured. `--quick` runs small sizes (a check that everything runs,
not figures to quote). The machine is shared: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
POSTGRES = "postgres://postgres@127.0.0.1:5432/p2c_bench_scale"
PARTS = ("engine", "bigjob", "issues", "jobs", "load")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="small sizes: checks the scripts run, nothing to quote"
    )
    ap.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="run these parts only")
    ap.add_argument(
        "--postgres", default=os.environ.get("DATABASE_URL") or POSTGRES, help="for jobs and load"
    )
    ap.add_argument("--json", help="also write every figure here")
    return ap.parse_args()


def commands(args: argparse.Namespace) -> dict[str, list[tuple[list[str], dict[str, str]]]]:
    """Each part's script runs, with the environment each needs (embedded unless DATABASE_URL)."""
    quick = args.quick
    rows = ["--rows", "50000"] if quick else []
    runs = ["--runs", "1"] if quick else []
    embedded = {"DATABASE_URL": ""}
    postgres = {"DATABASE_URL": args.postgres}
    engine = ["transform.py", "--parts-rows", "0", *rows, *runs]
    if quick:
        engine += ["--xlsx-rows", "5000"]
    users = ["--users", "10", "--seconds", "5"] if quick else ["--users", "50", "--seconds", "30"]
    # A browser on step 8 polls every 1.5 s while jobs run (uploads.js): that pace, and none at all.
    browser, flat_out = ["--think", "1.5"], ["--think", "0"]
    return {
        "engine": [(engine, embedded)],
        "bigjob": [(["bigjob.py", *rows, *runs], embedded)],
        "issues": [
            (["bigjob.py", "--issues-every-row", *rows, "--runs", "1"], embedded),
            (["bigjob.py", "--issues-every-row", *rows, "--runs", "1"], postgres),
        ],
        "jobs": [(["jobs.py", *(["--jobs", "4", "--rows", "5000"] if quick else [])], postgres)],
        "load": [
            (["load.py", *users, *browser], embedded),
            (["load.py", *users, *browser, "--port", "8712"], postgres),
            (["load.py", *users, *flat_out, "--port", "8713"], embedded),
        ],
    }


def run(script: list[str], env_update: dict[str, str], out: Path) -> dict:
    env = dict(os.environ)
    for key, value in env_update.items():
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    print(
        f"\n$ {' '.join(['bench/' + script[0], *script[1:]])}"
        + (" (PostgreSQL)" if env_update.get("DATABASE_URL") else "")
    )
    sys.stdout.flush()
    subprocess.run(
        [sys.executable, str(BENCH / script[0]), *script[1:], "--json", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return json.loads(out.read_text())


def collect(args: argparse.Namespace) -> dict[str, list[dict]]:
    figures: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="p2c-bench-scale-") as tmp:
        for part, runs in commands(args).items():
            if part not in args.only:
                continue
            figures[part] = [
                run(script, env, Path(tmp) / f"{part}{n}.json") for n, (script, env) in enumerate(runs)
            ]
    return figures


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def rows_of_table(figures: dict[str, list[dict]]) -> list[tuple[str, str, str, str, str]]:
    """(what, target, measured, reference, verdict) per target of the issue."""
    table = []
    for engine in figures.get("engine", []):
        csv, xlsx, fill = engine.get("csv"), engine.get("xlsx"), engine.get("fill")
        if csv:
            table.append(
                _ratio_row(
                    f"engine, CSV {csv['rows']:,} rows",
                    csv["ours_s"],
                    csv["reference_s"],
                    "pyarrow read+write",
                    1.3,
                )
            )
        if xlsx:
            table.append(
                _ratio_row(
                    f"engine, xlsx {xlsx['rows']:,} rows",
                    xlsx["ours_s"],
                    xlsx["reference_s"],
                    "calamine + xlsxwriter",
                    None,
                )
            )
        if fill:
            table.append(
                _ratio_row(
                    "xlsx fill in place",
                    fill["route"]["s"],
                    fill["rebuild"]["s"],
                    "rebuild of the workbook",
                    1.0,
                )
            )
    for job in figures.get("bigjob", []):
        table.append(
            _ratio_row(
                f"job, CSV {job['rows']:,} rows", job["job_s"], job["reference_s"], "p2c_transform", 1.2
            )
        )
        if "job_alone_s" in job:  # a worker starts once: its jobs pay no process start
            alone, ref = job["job_alone_s"], job["reference_s"]
            table.append(_ratio_row("the same job in a started worker", alone, ref, "p2c_transform", None))
    for job in figures.get("issues", []):
        table.append(
            _ratio_row(
                f"job, an issue on each of {job['rows']:,} rows, {job.get('database', '')}",
                job["job_s"],
                job["reference_s"],
                "p2c_transform",
                None,
            )
        )
        mb = job["job_mb"]
        table.append(
            (
                f"worker memory, 1,000,000 issues, {job.get('database', '')}",
                "< 600 MB",
                f"{mb:.0f} MB",
                "",
                "met" if mb < 600 else "NOT met",
            )
        )
        for page, ms in job.get("results_page_ms", {}).items():
            table.append(
                (
                    f"results page, {page}",
                    "< 100 ms",
                    _ms(ms),
                    job.get("database", ""),
                    "met" if ms < 100 else "NOT met",
                )
            )
    for jobs in figures.get("jobs", []):
        one, two = jobs["rounds"][:2]
        ceiling = f"; ceiling {jobs['ceiling']:.2f}x" if jobs.get("ceiling") else ""
        table.append((
            "2 workers against 1", ">= 1.8x", f"{two['per_minute']:.0f} jobs/min ({jobs['speed_up']:.2f}x)",
            f"{one['per_minute']:.0f} jobs/min with 1, {one.get('cores_used', 0):.2f} cores busy{ceiling}",
            _verdict(jobs["speed_up"], 1.8, higher=True),
        ))  # fmt: skip
    for load in figures.get("load", []):
        for users, round_ in load["rounds"].items():
            worst = max(round_["p95_ms"][kind] for kind in round_["p95_ms"] if kind != "sign-in")
            measured = f"p95 {worst:.0f} ms (worst page), {round_['errors']} errors"
            rate = f"{round_['requests_per_s']:.0f} req/s"
            if not load["think"]:  # a stress figure: 50 users with no pause send what thousands would
                table.append((f"pages at {users} users flat out, {load['database']}", "(capacity)", measured,
                              rate, "-"))  # fmt: skip
                continue
            table.append((
                f"pages at {users} users, {load['database']}, a request every {load['think']} s",
                "p95 < 150 ms, 0 errors", measured, rate,
                "met" if worst < 150 and not round_["errors"] else "NOT met",
            ))  # fmt: skip
    return table


def _ratio_row(
    what: str, ours: float, ref: float, ref_name: str, target: float | None
) -> tuple[str, str, str, str, str]:
    ratio = ours / ref
    verdict = _verdict(ratio, target, higher=False) if target else f"{ratio:.2f}x"
    goal = f"<= {target}x" if target else "(none)"
    return what, goal, f"{ours:.2f} s ({ratio:.2f}x)", f"{ref_name} {ref:.2f} s", verdict


def _verdict(value: float, target: float, higher: bool) -> str:
    return "met" if (value >= target if higher else value <= target) else "NOT met"


def print_table(table: list[tuple[str, ...]]) -> None:
    header = ("what", "target", "measured", "reference, same run", "")
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    print(f"\nIssue 11's targets, this run (load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs):")
    for row in [header, *table]:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    args = parse_args()
    figures = collect(args)
    print_table(rows_of_table(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
