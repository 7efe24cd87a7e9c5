"""Benchmark: N transformation jobs through 1, then 2 Celery worker processes, on Redis and PostgreSQL.

    .venv/bin/python bench/jobs.py [--jobs 48] [--rows 20000] [--pinned]

REDIS_URL (default redis://127.0.0.1:6379/14) and DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/p2cwizard_bench, created when missing) choose
the broker and the database; uploads, results and the secret key go to a temp
folder. The script migrates the schema, generates an order export of --rows
rows, and through the services creates a user and N migrations, each holding
that export, uploaded and inspected. Each round starts its workers
(`celery worker --concurrency=1`, one process each), waits until they answer a
ping, queues one order job per migration at once and waits until all finished.

Prints per round: jobs per minute (N over first queued to last finished), the
median and p95 queue latency (started_at - created_at), the median run time
(finished_at - started_at), the cores busy meanwhile, and the speed-up of 2 workers over 1
with its ceiling on this machine: the cores over those one worker keeps busy (a job's reader,
rules, writer and hash threads run side by side). `--pinned` adds two rounds with each worker on
a core of its own. The workers are stopped at the end, on an error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/p2cwizard_bench"
STOP_TIMEOUT = 60  # seconds a worker gets to finish its task after SIGTERM


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=48, help="jobs per round (default 48)")
    parser.add_argument(
        "--pinned", action="store_true",
        help="two more rounds with each worker on a core of its own (taskset): on a machine with more "
        "cores than workers, whether workers share a bottleneck beyond the cores",
    )  # fmt: skip
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the order export (default 20000)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a round may take (default 1800)")
    parser.add_argument("--json", help="also write the figures here (bench/scale.py reads them)")
    return parser.parse_args()


# --- environment: database, broker, folders ---------------------------------------------


def bench_env(folder: Path) -> dict[str, str]:
    """The environment of this process and of the workers: one database, one broker, one media folder."""
    env = dict(os.environ)
    env.setdefault("REDIS_URL", DEFAULT_REDIS)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    env.update(
        DJANGO_SETTINGS_MODULE="p2cwizard.settings",
        P2C_VAR_DIR=str(folder / "var"),
        MEDIA_ROOT=str(folder / "media"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        P2C_UPLOADS_PER_MINUTE="1000",  # one user uploads every round's exports within a minute
    )
    return env


def create_database(url: str) -> None:
    """Create the PostgreSQL database named in the URL unless it exists (other engines: nothing to do)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg
    from psycopg import sql

    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


# --- data: an order export, migrations holding it ----------------------------------------


def write_order_export(path: Path, rows: int) -> None:
    """An order export as Sales writes it: quoted multi-line text, US dates, a GUID per row."""
    from transform import HEADERS, base_rows

    template = base_rows(min(rows, 4096))
    rng = random.Random(11)
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for n in range(rows):
            row = list(template[n % len(template)])
            row[0] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            row[3] = f"ORD-{n:07d}"
            writer.writerow(row)


def create_migrations(count: int, export: Path) -> tuple[object, list]:
    """A user and `count` migrations, each with the order export uploaded and inspected."""
    from django.contrib.auth import get_user_model
    from django.core.files import File

    from migration.models import UploadState
    from migration.services import uploads
    from migration.services.migrations import LegalEntityData, migration_create

    run = uuid.uuid4().hex[:8]
    user = get_user_model().objects.create_user(username=f"bench-{run}", password=uuid.uuid4().hex)
    migrations = []
    for n in range(1, count + 1):
        migration = migration_create(
            creator=user,
            name=f"Bench {run} #{n}",
            customer="Contoso Ltd",
            legal_entities=[LegalEntityData("USMF", "Contoso US")],
        )
        with open(export, "rb") as handle:
            upload = uploads.upload_create(
                migration=migration, table="order", kind="export", upload=File(handle, name="order.csv"),
                actor=user,
            )  # fmt: skip
        # Inspected here, so the rounds time jobs only; the queued inspection message is purged.
        uploads.upload_inspect(upload_id=upload.id)
        upload.refresh_from_db()
        if upload.state != UploadState.READY:
            raise SystemExit(f"the generated export did not inspect as ready: {upload.state_message}")
        migrations.append(migration)
    return user, migrations


# --- workers ----------------------------------------------------------------------------


@contextmanager
def worker_process(env: dict[str, str], name: str, log: Path, cpu: int | None = None):
    """`celery worker --concurrency=1` in its own session, stopped warmly, else killed, at the end.
    `cpu`: the one core it (and its pool's child) may run on."""
    pinned = ["taskset", "-c", str(cpu)] if cpu is not None else []
    command = [*pinned, sys.executable, "-m", "celery", "-A", "p2cwizard", "worker", "--pool=prefork",
               "--concurrency=1", "--loglevel=WARNING", f"--hostname={name}@%h", "--without-gossip",
               "--without-mingle"]  # fmt: skip
    with open(log, "ab") as out:
        # Its own session: Ctrl-C reaches only this script, which then stops the worker itself.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            pass
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the pool's children too
    process.wait()


def wait_until_ready(app, names: list[str], processes: list[subprocess.Popen], timeout: float = 120) -> None:
    hosts = {f"{name}@{os.uname().nodename}" for name in names}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p for p in processes if p.poll() is not None]
        if dead:
            raise SystemExit(f"a worker exited with code {dead[0].returncode} before it was ready")
        answered = {host for reply in app.control.ping(timeout=1.0) or [] for host in reply}
        if hosts <= answered:
            return
    raise SystemExit(f"workers not ready after {timeout} s: {sorted(hosts)}")


# --- a round ----------------------------------------------------------------------------


@dataclass
class Round:
    workers: int
    jobs: int
    failed: int
    wall: float
    latencies: list[float]
    run_times: list[float]
    cpu_ours: float = 0.0  # CPU seconds of the workers and this script during the round
    cpu_others: float = 0.0  # CPU seconds of everything else on the machine meanwhile
    pinned: bool = False  # each worker on a core of its own

    @property
    def cores_used(self) -> float:
        """Cores busy on average during the round: the workers, this script, PostgreSQL, Redis."""
        return (self.cpu_ours + self.cpu_others) / self.wall

    @property
    def per_minute(self) -> float:
        return 60 * self.jobs / self.wall


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value at least `share` of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# --- CPU accounting (Linux /proc): did other programs compete with the workers? ---------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (idle and iowait excluded)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


def process_tree_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by these processes and their living children."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    tree, total = set(roots), 0.0
    for pid, (parent, cpu) in stats.items():
        if pid in tree or parent in tree:
            total += cpu
    return total


def cpu_now(processes: list[subprocess.Popen]) -> tuple[float, float]:
    ours = process_tree_cpu([p.pid for p in processes]) + sum(os.times()[:2])
    return machine_busy(), ours


def run_round(
    app, env, migrations, user, workers: int, folder: Path, timeout: float, pin: bool = False
) -> Round:
    """One round of all the jobs through `workers` workers; `pin`: worker n runs on core n only
    (PostgreSQL, Redis and this script still run where the system puts them)."""
    from migration.services import jobs

    names = [f"bench{workers}w{n}{'p' if pin else ''}" for n in range(1, workers + 1)]
    with ExitStack() as stack:
        processes = [
            stack.enter_context(
                worker_process(env, name, folder / f"{name}.log", n % (os.cpu_count() or 1) if pin else None)
            )
            for n, name in enumerate(names)
        ]
        wait_until_ready(app, names, processes)
        busy, ours = cpu_now(processes)
        started = [jobs.job_start(migration=m, table="order", actor=user).id for m in migrations]
        result = wait_for_jobs(started, processes, workers, timeout)
        busy_end, ours_end = cpu_now(processes)
    result.cpu_ours = ours_end - ours
    result.cpu_others = max(0.0, (busy_end - busy) - result.cpu_ours)
    result.pinned = pin
    return result


def wait_for_jobs(job_ids: list[int], processes, workers: int, timeout: float) -> Round:
    from migration.models import JobState, TransformJob

    deadline = time.monotonic() + timeout
    while TransformJob.objects.filter(id__in=job_ids, state__in=TransformJob.ACTIVE).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"jobs still active after {timeout} s")
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker exited during the round; see its log")
        time.sleep(0.5)
    done = list(TransformJob.objects.filter(id__in=job_ids))
    failed = [job for job in done if job.state != JobState.SUCCEEDED]
    for job in failed:
        print(f"  job #{job.id} {job.state}: {job.message}")
    ran = [job for job in done if job.started_at and job.finished_at]
    wall = max(job.finished_at for job in done) - min(job.created_at for job in done)
    return Round(
        workers=workers,
        jobs=len(done),
        failed=len(failed),
        wall=wall.total_seconds(),
        latencies=[(job.started_at - job.created_at).total_seconds() for job in ran],
        run_times=[(job.finished_at - job.started_at).total_seconds() for job in ran],
    )


def report(result: Round) -> None:
    latency, run = result.latencies, result.run_times
    print(
        f"{result.workers} worker(s){', a core each' if result.pinned else ''}: {result.jobs} jobs in "
        f"{result.wall:.1f} s = "
        f"{result.per_minute:.1f} jobs/min; queue latency median {statistics.median(latency):.1f} s, "
        f"p95 {percentile(latency, 0.95):.1f} s; run time median {statistics.median(run):.2f} s"
        + (f"; {result.failed} FAILED" if result.failed else "")
    )
    print(
        f"  CPU meanwhile: workers and this script {result.cpu_ours:.1f} s; everything else (PostgreSQL "
        f"and Redis included) {result.cpu_others:.1f} s; {os.cpu_count() * result.wall:.0f} s available "
        f"({result.cores_used:.2f} of {os.cpu_count()} cores busy)"
    )


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    # SIGTERM unwinds like Ctrl-C, so the workers are stopped either way; SIGINT is set
    # explicitly because a shell starting this in the background would leave it ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    with tempfile.TemporaryDirectory(prefix="p2c-bench-jobs-") as tmp:
        folder = Path(tmp)
        env = bench_env(folder)
        create_database(env["DATABASE_URL"])
        migrate(env)
        setup_django(env)
        from p2cwizard.celery import app

        export = folder / "order.csv"
        write_order_export(export, args.rows)
        print(f"broker {env['REDIS_URL']}, database {env['DATABASE_URL']}, {os.cpu_count()} CPUs")
        print(
            f"order export: {args.rows} rows, {export.stat().st_size / 1e6:.1f} MB; {args.jobs} jobs a round"
        )
        began = time.monotonic()
        user, migrations = create_migrations(args.jobs, export)
        print(f"setup (uploads and inspections): {time.monotonic() - began:.1f} s")
        app.control.purge()  # the inspections already done, and anything left by an interrupted run
        # Other programs running meanwhile skew the figures: show how busy the machine was.
        print(f"load average before the rounds: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        rounds = [run_round(app, env, migrations, user, n, folder, args.timeout) for n in (1, 2)]
        for result in rounds:
            report(result)
        speed_up = rounds[1].per_minute / rounds[0].per_minute
        print(f"speed-up of 2 workers over 1: {speed_up:.2f}x (target >= 1.8x)")
        # What limits it: a job's reader, rules, writer and hash threads run side by side, so one
        # worker keeps more than one core busy; two cannot get more than all the cores.
        ceiling = (os.cpu_count() or 1) / rounds[0].cores_used
        print(
            f"  ceiling on this machine: {os.cpu_count()} cores / {rounds[0].cores_used:.2f} busy with one "
            f"worker = {ceiling:.2f}x"
        )
        pinned = []
        if args.pinned and (os.cpu_count() or 1) >= 2:
            pinned = [
                run_round(app, env, migrations, user, n, folder, args.timeout, pin=True) for n in (1, 2)
            ]
            for result in pinned:
                report(result)
            pinned_speed_up = pinned[1].per_minute / pinned[0].per_minute
            print(f"speed-up with a core of its own per worker: {pinned_speed_up:.2f}x")
        if args.json:
            figures = {
                "rows": args.rows,
                "jobs": args.jobs,
                "speed_up": speed_up,
                "ceiling": ceiling,
                "pinned_speed_up": pinned_speed_up if pinned else None,
                "load_average": os.getloadavg()[0],
                "rounds": [
                    {
                        "workers": r.workers,
                        "per_minute": r.per_minute,
                        "failed": r.failed,
                        "run_time_median_s": statistics.median(r.run_times),
                        "cpu_ours_s": r.cpu_ours,
                        "cpu_others_s": r.cpu_others,
                        "cores_used": r.cores_used,
                        "pinned": r.pinned,
                    }
                    for r in rounds + pinned
                ],
            }
            Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted; workers stopped", file=sys.stderr)
        sys.exit(130)
