"""Benchmark: one request of each step page (2, 8, 9) in this process, and where it spends.

    .venv/bin/python bench/pages.py [--rounds 15] [--profile]

Embedded by default (SQLite in a temp folder); set DATABASE_URL for PostgreSQL (created when
missing). Builds a migration as a team has it mid-way: every table's export uploaded and
inspected (tests/samples), every job run, steps 1 to 8 open. Then, round after round, requests
each step page once, alternating the pages so that a busy spell of the machine falls on all of
them alike, through Django's test client (no network, no server), and prints per page the median
and spread of the wall time, the median CPU time of this thread (what a busy machine disturbs
least: the waiting for a core is not in it; SQLite's work is, PostgreSQL's is not), the queries
and the size, with the load average beside.

--profile: one more request of each page under cProfile, its time split into the database,
template rendering, form widgets and the rest (cumulative, so the parts overlap: widgets render
inside templates).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bigjob import bench_env  # noqa: E402  (bench/bigjob.py)
from jobs import create_database  # noqa: E402  (bench/jobs.py)

SAMPLES = ROOT / "tests" / "samples" / "sales-excel"
PAGES = {"step 2": "exports", "step 8": "initialize", "step 9": "enable-maps"}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--profile", action="store_true", help="also split one request of each page by cProfile")
    return ap.parse_args()


def setup(folder: Path):
    """A consultant of a migration with every export inspected and every job run; (user, id)."""
    os.environ.update(bench_env(folder))
    if url := os.environ.get("DATABASE_URL"):
        create_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # pages name hashed static files
    from django.contrib.auth import get_user_model
    from django.core.files import File

    from migration import engine, runbook
    from migration.models import Membership, Role, Signoff
    from migration.services import job_worker, jobs, uploads
    from migration.services.migrations import LegalEntityData, migration_create

    user = get_user_model().objects.create_user(f"pages-{time.time_ns()}", password="x-bench-password")
    migration = migration_create(
        creator=user, name="Pages bench", customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US"), LegalEntityData("DEMF", "Contoso DE")],
    )  # fmt: skip
    for sample in sorted(SAMPLES.glob("*.csv")):
        if sample.stem not in engine.TABLES:
            continue
        with open(sample, "rb") as handle:
            upload = uploads.upload_create(
                migration=migration, table=sample.stem, kind="export", upload=File(handle, name=sample.name),
                actor=user,
            )  # fmt: skip
        uploads.upload_inspect(upload_id=upload.id)
    for table, info in engine.TABLES.items():
        if info.transforms:
            job_worker.job_run(job_id=jobs.job_start(migration=migration, table=table, actor=user).id)
    # Every step but 2 and 9 signed off straight in the table, so that steps 8 and 9 are open; step 2
    # not, so that its page computes the sign-off's gate, as it does until the exports are done.
    Signoff.objects.bulk_create(
        Signoff(migration=migration, step=step.number, signed_by=user)
        for step in runbook.STEPS
        if step.number not in (runbook.EXPORTS_STEP, runbook.STEPS[-1].number)
    )
    consultant = get_user_model().objects.create_user(
        f"pages-c-{time.time_ns()}", password="x-bench-password"
    )
    Membership.objects.create(migration=migration, user=consultant, role=Role.CONSULTANT)
    return consultant, migration.id


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(client, urls: dict[str, str], rounds: int) -> dict[str, dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seen: dict[str, dict] = {name: {"ms": [], "cpu": [], "queries": 0, "kib": 0} for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():  # alternating: page after page, round after round
            with CaptureQueriesContext(connection) as captured:
                began, cpu = time.perf_counter(), time.thread_time()
                response = client.get(url)
                elapsed, cpu = time.perf_counter() - began, time.thread_time() - cpu
            assert response.status_code == 200, (url, response.status_code)
            seen[name]["ms"].append(elapsed * 1000)
            seen[name]["cpu"].append(cpu * 1000)
            seen[name]["queries"] = len(captured)
            seen[name]["kib"] = len(response.content) / 1024
    return seen


PARTS = {
    "database": ("django/db/backends", "execute"),
    "templates": ("django/template/base.py", "render"),
    "form widgets": ("django/forms/boundfield.py", "as_widget"),
}


def profile_split(client, url: str) -> dict[str, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = max(ct for (_, _, _), (_, _, _, ct, _) in stats.items())
    split = {"total": total * 1000}
    for part, (path, func) in PARTS.items():
        # The outermost call of each part: its cumulative time holds the nested ones.
        times = [ct for (file, _, name), (_, _, _, ct, _) in stats.items() if path in file and name == func]
        split[part] = max(times, default=0) * 1000
    return split


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="p2c-pages-") as tmp:
        user, migration_id = setup(Path(tmp))
        from django.test import Client
        from django.urls import reverse

        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        urls = {name: reverse("runbook", args=[migration_id, slug]) for name, slug in PAGES.items()}
        measure(client, urls, 2)  # warm: templates compiled, caches filled
        print(f"load average before: {load_average()}  (cores: {os.cpu_count()})")
        seen = measure(client, urls, args.rounds)
        print(f"load average after:  {load_average()}")
        print(f"{'page':8} {'median ms':>10} {'min':>7} {'max':>7} {'CPU ms':>7} {'queries':>8} {'KiB':>6}")
        for name, got in seen.items():
            ms = got["ms"]
            print(
                f"{name:8} {statistics.median(ms):10.1f} {min(ms):7.1f} {max(ms):7.1f} "
                f"{statistics.median(got['cpu']):7.1f} {got['queries']:8d} {got['kib']:6.0f}"
            )
        if args.profile:
            print("\nOne request under cProfile (ms, cumulative; widgets render inside templates):")
            for name, url in urls.items():
                split = profile_split(client, url)
                print(f"{name:8} " + "  ".join(f"{part} {ms:.0f}" for part, ms in split.items()))


if __name__ == "__main__":
    main()
