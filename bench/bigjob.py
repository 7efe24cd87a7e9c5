"""Benchmark: one job over a large order CSV against `p2c_transform` on the same file.

    .venv/bin/python bench/bigjob.py [--rows 1000000] [--runs 2] [--dir /tmp/p2c-bench]
        [--issues-every-row]

Embedded by default (SQLite and the filesystem broker in a temp folder); set DATABASE_URL
(for example postgres://postgres@127.0.0.1:5432/p2c_bench_issue11, created when missing) to
run it on PostgreSQL. The script generates the order CSV (bench/transform.py's generator),
migrates the schema, creates a user and a migration, uploads and inspects the export through the
services (timed), then alternates, each in its own process, process start included:

- the reference: `manage.py p2c_transform order IN OUT --company USMF` (CSV to CSV);
- the job: a fresh process that runs `services.job_worker.job_run` on a queued job: local copy,
  the one pass (CSV review copy, report), the issues file, storing the results and the issues.

Prints each one's median time and peak RSS over --runs alternating rounds, the ratio (the
median of each round's, with their range; target: the job within 1.2x of the reference) and
the load average beside. `--issues-every-row` gives every row a company that the company rule does not map:
one warning per row, to measure the cost of a million issues; the job's results page is then
timed over them (first, filtered, middle and last pages: bench/issue_pages.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from issue_pages import time_pages  # noqa: E402  (bench/issue_pages.py)
from jobs import create_database  # noqa: E402  (bench/jobs.py)
from transform import MEASURE, make_csv  # noqa: E402  (bench/transform.py)

RUN_JOB = textwrap.dedent("""
    import sys, time, django
    django.setup()
    from migration.services import job_worker
    began = time.perf_counter()
    job_worker.job_run(job_id=int(sys.argv[1]))
    with open(sys.argv[2], "w") as f:  # the job alone, as a started worker runs it
        f.write(str(time.perf_counter() - began))
""")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="median of N alternating runs (default 3)")
    ap.add_argument("--dir", default="/tmp/p2c-bench", help="where the generated CSV is kept")
    ap.add_argument("--issues-every-row", action="store_true", help="one warning on every row")
    ap.add_argument("--json", help="also write the figures here (bench/scale.py reads them)")
    return ap.parse_args()


def bench_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="p2cwizard.settings",
        P2C_VAR_DIR=str(folder / "var"),
        MEDIA_ROOT=str(folder / "media"),
        P2C_TMP_DIR=str(folder / "tmp"),
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)  # jobs run in this script's processes: no broker needed
    return env


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of cmd, the only child of a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    seconds, rss_kb, rc = out.stdout.split()
    return float(seconds), int(rss_kb) / 1024, int(rc)


def setup(env: dict[str, str], export: Path, issues_every_row: bool):
    """A user, a migration and the export uploaded and inspected; returns (user, migration, seconds)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File

    from migration.models import UploadState
    from migration.services import uploads
    from migration.services.migrations import LegalEntityData, migration_create

    user = get_user_model().objects.create_user(
        username=f"bench-{uuid.uuid4().hex[:8]}", password="bench-password-11"
    )
    migration = migration_create(
        creator=user, name="Bench big job", customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US"), LegalEntityData("DEMF", "Contoso DE")],
    )  # fmt: skip
    if issues_every_row:  # a rule over a column whose values are never listed: a warning per row
        s = migration.init_settings
        s.company_rule_column, s.company_rule_map = "Currency", {"Euro": "DEMF"}
        s.save()
    began = time.perf_counter()
    with open(export, "rb") as handle:
        upload = uploads.upload_create(
            migration=migration, table="order", kind="export", upload=File(handle, name="order.csv"),
            actor=user,
        )  # fmt: skip
    uploaded = time.perf_counter() - began
    uploads.upload_inspect(upload_id=upload.id)
    upload.refresh_from_db()
    if upload.state != UploadState.READY:
        raise SystemExit(f"the export did not inspect as ready: {upload.state_message}")
    return user, migration, uploaded, time.perf_counter() - began - uploaded


def main() -> None:
    args = parse_args()
    os.makedirs(args.dir, exist_ok=True)
    export = Path(args.dir) / f"order_{args.rows}.csv"
    if not export.exists():
        make_csv(str(export), args.rows)
    with tempfile.TemporaryDirectory(prefix="p2c-bench-bigjob-") as tmp:
        folder = Path(tmp)
        env = bench_env(folder)
        if env.get("DATABASE_URL"):
            create_database(env["DATABASE_URL"])
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        user, migration, upload_s, inspect_s = setup(env, export, args.issues_every_row)
        from migration.models import JobIssue, JobState, TransformJob
        from migration.services import jobs

        size_mb = export.stat().st_size / 2**20
        database = env.get("DATABASE_URL") or "SQLite"
        print(f"order export: {args.rows:,} rows, {size_mb:,.0f} MB; database {database}")
        print(f"upload {upload_s:.1f} s, inspection {inspect_s:.1f} s; load average {os.getloadavg()[0]:.2f}")
        reference = [
            sys.executable, "manage.py", "p2c_transform", "order", str(export), str(folder / "ref.csv"),
            "--company", "USMF", "--report", str(folder / "ref.json"),
        ]  # fmt: skip
        if args.issues_every_row:
            reference += ["--company-column", "Currency", "--company-map", "Euro=DEMF"]
        refs, runs, inside, loads = [], [], [], []
        inner = folder / "job_seconds"
        for _ in range(args.runs):
            loads.append(os.getloadavg()[0])
            refs.append(measure(reference, env))
            job = jobs.job_start(migration=migration, table="order", actor=user)
            runs.append(measure([sys.executable, "-c", RUN_JOB, str(job.id), str(inner)], env))
            inside.append(float(inner.read_text()))
            job.refresh_from_db()
            if job.state != JobState.SUCCEEDED:
                raise SystemExit(f"job #{job.id} {job.state}: {job.message}")
        if any(rc for _, _, rc in refs):
            raise SystemExit(f"p2c_transform failed with exit codes {[rc for _, _, rc in refs]}")
        # Medians of alternated runs, and the ratio of each round (same minutes for both): on a
        # shared machine these hold up from one day to the next where a best run does not.
        r_s, r_mb = statistics.median(r[0] for r in refs), statistics.median(r[1] for r in refs)
        j_s, j_mb = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        rounds = [j[0] / r[0] for j, r in zip(runs, refs, strict=True)]
        alone = statistics.median(inside)
        issues = JobIssue.objects.filter(job=job).count()
        print(f"  p2c_transform to CSV (process start incl.)  {r_s:7.2f} s  peak {r_mb:6.0f} MB")
        print(f"  job (process start, storage, issues incl.)  {j_s:7.2f} s  peak {j_mb:6.0f} MB  "
              f"{args.rows / j_s:,.0f} rows/s; {issues:,} issues stored")  # fmt: skip
        print(
            f"  ratio {statistics.median(rounds):.2f}x (rounds {min(rounds):.2f}-{max(rounds):.2f}x; "
            f"target <= 1.2x); medians of {args.runs} alternating runs, "
            f"load average {min(loads):.2f}-{max(loads):.2f}"
        )
        # Process start and Django's setup are a worker's once, at boot; its first job still
        # pays pyarrow's probe for pandas.
        print(f"  the job alone, in its started process: {alone:.2f} s ({alone / r_s:.2f}x)")
        last = TransformJob.objects.get(id=job.id)
        report_mb = last.report_json.size / 2**20
        print(f"  report JSON {report_mb:,.1f} MB; issues file {last.issues_file.size / 2**20:,.1f} MB")
        pages = time_pages(user, last, repeat=5) if args.issues_every_row else {}  # over those issues
        if args.json:
            figures = {
                "rows": args.rows, "database": "PostgreSQL" if env.get("DATABASE_URL") else "SQLite",
                "job_s": j_s, "job_alone_s": alone, "job_mb": j_mb, "rounds": rounds, "load": loads,
                "reference_s": r_s, "reference_mb": r_mb, "issues": issues,
                "upload_s": upload_s, "inspection_s": inspect_s, "results_page_ms": pages,
            }  # fmt: skip
            Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
