"""Benchmark: a 400 MB upload and a 1,000,000-row job on Azure Blob storage (Azurite) against the
folder storage, time and peak memory side by side.

    .venv/bin/python bench/storage.py [--rows 1000000] [--runs 1] [--dir /tmp/p2c-bench]

The order export of --rows rows (bench/transform.py's generator; 1,000,000 rows is about 390 MB,
the 400 MB upload) is made once. Embedded database (SQLite in a temp folder); Azurite
(tests/azurite, `make azurite`) on a free port of 127.0.0.1 with its data in the temp folder.
For each storage in turn, alternating, each step in a fresh process (process start included):

- upload: `services.uploads.upload_create` with the export, as the web does once Django has
  received it (SHA-256, the storage's save: a rename on the folder storage, 4 MB blocks to Blob);
- job: `services.job_worker.job_run` on a queued order job, as a worker runs it: the local copy
  (none on the folder storage), the one pass, the issues file, storing every result.

Prints each one's best time and peak RSS per storage, and the load average beside them. The
inspection in between is not timed (it reads the same local copy as the job).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from transform import MEASURE, make_csv  # noqa: E402  (bench/transform.py)

from tests.azurite import Azurite  # noqa: E402

UPLOAD = textwrap.dedent("""
    import sys, django
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from migration.models import Migration
    from migration.services import uploads
    with open(sys.argv[3], "rb") as handle:
        upload = uploads.upload_create(
            migration=Migration.objects.get(id=int(sys.argv[1])), table="order", kind="export",
            upload=File(handle, name="order.csv"), actor=get_user_model().objects.get(id=int(sys.argv[2])),
        )
    open(sys.argv[4], "w").write(str(upload.id))
""")

INSPECT = textwrap.dedent("""
    import sys, django
    django.setup()
    from migration.services import uploads
    uploads.upload_inspect(upload_id=int(sys.argv[1]))
""")

RUN_JOB = textwrap.dedent("""
    import sys, django
    django.setup()
    from migration.services import job_worker
    job_worker.job_run(job_id=int(sys.argv[1]))
""")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=1, help="best of N alternating runs (default 1)")
    ap.add_argument("--dir", default="/tmp/p2c-bench", help="where the generated CSV is kept")
    return ap.parse_args()


def measure(script: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a fresh Python process running script."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-c", script, *args],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )  # fmt: skip
    seconds, rss_kb, rc = out.stdout.split()
    if int(rc):
        raise SystemExit(f"a step failed (exit code {rc}); run it by hand to see why")
    return float(seconds), int(rss_kb) / 1024


def storage_env(base: dict[str, str], kind: str, folder: Path, azurite: Azurite, container: str) -> dict:
    env = {**base, "MEDIA_ROOT": str(folder / f"media-{kind}"), "P2C_TMP_DIR": str(folder / f"tmp-{kind}")}
    if kind == "azure":
        env.update(azurite.environment(container))
    return env


def setup(env: dict[str, str]):
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username=f"bench-{uuid.uuid4().hex[:8]}", password="bench-pw-26"
    )


def one_round(kind: str, env: dict, user, export: Path, folder: Path) -> dict:
    """A migration of its own (a second upload to one would be a second part of the export)."""
    from migration.models import ExportUpload, JobState, UploadState
    from migration.services import jobs
    from migration.services.migrations import LegalEntityData, migration_create

    migration = migration_create(
        creator=user, name=f"Bench storage {kind}", customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US"), LegalEntityData("DEMF", "Contoso DE")],
    )  # fmt: skip

    out = folder / "upload_id"
    upload_s, upload_mb = measure(UPLOAD, [str(migration.id), str(user.id), str(export), str(out)], env)
    upload_id = int(out.read_text())
    subprocess.run([sys.executable, "-c", INSPECT, str(upload_id)], cwd=ROOT, env=env, check=True)
    upload = ExportUpload.objects.get(id=upload_id)
    if upload.state != UploadState.READY:
        raise SystemExit(f"the export did not inspect as ready: {upload.state_message}")
    job = jobs.job_start(migration=migration, table="order", actor=user)
    job_s, job_mb = measure(RUN_JOB, [str(job.id)], env)
    job.refresh_from_db()
    if job.state != JobState.SUCCEEDED:
        raise SystemExit(f"job #{job.id} on {kind} {job.state}: {job.message}")
    return {"upload": (upload_s, upload_mb), "job": (job_s, job_mb)}


def main() -> None:
    args = parse_args()
    os.makedirs(args.dir, exist_ok=True)
    export = Path(args.dir) / f"order_{args.rows}.csv"
    if not export.exists():
        make_csv(str(export), args.rows)
    with tempfile.TemporaryDirectory(prefix="p2c-bench-storage-") as tmp:
        folder = Path(tmp)
        base = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "p2cwizard.settings", "P2C_VAR_DIR": str(folder / "var"),
            "LOG_LEVEL": "WARNING", "P2C_UPLOADS_PER_MINUTE": "1000",
        }  # fmt: skip
        for name in ("REDIS_URL", "DATABASE_URL", "P2C_STORAGE", "P2C_STORAGE_BACKEND"):
            base.pop(name, None)  # embedded database; the storage is chosen per round
        azurite = Azurite()
        azurite.start()
        try:
            container = azurite.new_container()
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=base, check=True
            )
            user = setup(base)
            results: dict[str, list[dict]] = {"filesystem": [], "azure": []}
            for _ in range(args.runs):
                for kind in results:
                    env = storage_env(base, kind, folder, azurite, container)
                    results[kind].append(one_round(kind, env, user, export, folder))
        finally:
            azurite.remove()
    size_mb = export.stat().st_size / 2**20
    print(f"order export: {args.rows:,} rows, {size_mb:,.0f} MB; best of {args.runs} alternating run(s); "
          f"load average {os.getloadavg()[0]:.2f} (2-core machine)")  # fmt: skip
    print(f"{'':34}{'folder storage':>22}{'Blob storage (Azurite)':>26}")
    for step, label in (("upload", f"upload of {size_mb:,.0f} MB"), ("job", f"job over {args.rows:,} rows")):
        cells = []
        for kind in ("filesystem", "azure"):
            seconds, mb = min(r[step] for r in results[kind])
            cells.append(f"{seconds:7.1f} s {mb:6.0f} MB")
        print(f"  {label:32}{cells[0]:>22}{cells[1]:>26}")


if __name__ == "__main__":
    main()
