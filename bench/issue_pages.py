"""Benchmark: the job results page over a million issues (keyset paging, counts from the report).

    .venv/bin/python bench/issue_pages.py [--issues 1000000] [--repeat 7]

Embedded by default (SQLite in a temp folder); set DATABASE_URL (for example
postgres://postgres@127.0.0.1:5432/p2c_bench_issues, created when missing) to run it on
PostgreSQL. The script stores a finished job's issues the way a job does (COPY on PostgreSQL,
executemany elsewhere): a company warning on every row and a date error on every 50th, then
asks the results page (the Django test client, template rendered, signed in) for the first
page, filtered pages, a page by its cursor in the middle, a middle page by number, and the last
page; it prints each one's median and worst of `--repeat` requests (target: under 100 ms).
bench/bigjob.py --issues-every-row times the same pages after its job.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from jobs import create_database  # noqa: E402  (bench/jobs.py)

ERROR_EVERY = 50
TARGET_MS = 100
PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--issues", type=int, default=1_000_000, help="rows with a warning (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=7, help="requests per page kind (default 7)")
    return ap.parse_args()


def page_cases(job) -> dict[str, str]:
    """Page kind -> query string: what people ask of the results page of a big job."""
    from migration import selectors

    count = sum(job.summary.get("issue_counts", {}).values())
    middle = max(1, -(-count // selectors.ISSUES_PER_PAGE) // 2)
    # The cursor a Next link from page `middle` carries: what the 5,000th click would ask.
    cursor = selectors.job_issue_page(job, selectors.IssueQuery(page=str(middle))).after
    codes = sorted(job.summary.get("issue_counts", {}), key=job.summary["issue_counts"].get)
    cases = {
        "first page": "",
        "severity=warning": "?severity=warning",
        "severity=warning, last page": "?severity=warning&page=last",
        f"code={codes[0]} (rarest)": f"?code={codes[0]}",
        f"code={codes[0]}, last page": f"?code={codes[0]}&page=last",
        "last page": "?page=last",
        f"page {middle + 1} by its cursor (Next)": f"?page={middle + 1}&after={cursor}",
        f"page {middle} by number (typed)": f"?page={middle}",
        "page 3 by number": "?page=3",
    }
    return cases


def time_pages(user, job, repeat: int) -> dict[str, float]:
    """Print the median and worst time of each results page kind, `repeat` requests each; the
    medians by page kind."""
    from django.conf import settings
    from django.test import Client, override_settings

    # Static files as in development: the page's time is the query and the template, not the
    # manifest of a collectstatic this script does not run.
    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain):
        return _time_pages(Client(HTTP_HOST="localhost"), user, job, repeat)


def _time_pages(client, user, job, repeat: int) -> dict[str, float]:
    from django.urls import reverse

    client.force_login(user)
    url = reverse("job_detail", kwargs={"migration_id": job.migration_id, "job_id": job.id})
    print(f"  results page of job #{job.id} ({sum(job.summary['issue_counts'].values()):,} issues), "
          f"median / worst of {repeat} requests (target < {TARGET_MS} ms):")  # fmt: skip
    medians = {}
    for name, query in page_cases(job).items():
        took = []
        for _ in range(repeat):
            began = time.perf_counter()
            response = client.get(url + query)
            took.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")
        flag = "" if statistics.median(took) < TARGET_MS else "  over target"
        print(f"    {name:40} {statistics.median(took):7.1f} ms  {max(took):7.1f} ms{flag}")
        medians[name] = statistics.median(took)
    return medians


def make_job(issues: int):
    """A user, a migration and a finished order job holding `issues` warnings and the errors."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from migration.models import ExportUpload, JobIssue, JobState, TransformJob, UploadKind, UploadState
    from migration.services import job_results
    from migration.services.migrations import LegalEntityData, migration_create

    user = get_user_model().objects.create_user(
        username=f"bench-{uuid.uuid4().hex[:8]}", password="bench-password-11"
    )
    migration = migration_create(
        creator=user, name="Bench issue pages", customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US")],
    )  # fmt: skip
    source = ExportUpload.objects.create(
        migration=migration, table="order", kind=UploadKind.EXPORT, version=1, file="x/order.csv",
        original_name="order.csv", size=1, sha256="0" * 64, uploaded_by=user, state=UploadState.READY,
        inspection={"rows": issues},
    )  # fmt: skip
    now = timezone.now()
    counts = {"company_not_mapped": issues, "bad_date": issues // ERROR_EVERY}
    job = TransformJob.objects.create(
        migration=migration, table="order", state=JobState.SUCCEEDED, source=source, created_by=user,
        started_at=now, finished_at=now, progress=1, rows_done=issues, rows_total=issues,
        summary={"rows_in": issues, "rows_out": issues, "issue_counts": counts},
    )  # fmt: skip
    began = time.perf_counter()
    table = connection.ops.quote_name(JobIssue._meta.db_table)
    columns = '"job_id", "file", "row", "guid", "column", "severity", "code", "message"'
    with transaction.atomic(), connection.cursor() as cursor:
        rows = _issue_rows(job.id, issues)
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            transaction.on_commit(lambda: job_results._analyze(table))  # as a job's _save_issues does
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows
            )
    print(f"stored {sum(counts.values()):,} issues in {time.perf_counter() - began:.1f} s")
    return user, job


def _issue_rows(job_id: int, issues: int):
    for row in range(1, issues + 1):
        guid = f"{row:08X}-0000-0000-0000-000000000000"
        yield (job_id, "", row, guid, "Company", "warning", "company_not_mapped",
               f"No legal entity for Currency 'Dollar' (row {row})")  # fmt: skip
        if row % ERROR_EVERY == 0:
            yield (
                job_id,
                "",
                row,
                guid,
                "Requested receipt date",
                "error",
                "bad_date",
                "Not a date: '31/02'",
            )


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="p2c-bench-pages-") as tmp:
        env = dict(
            os.environ, DJANGO_SETTINGS_MODULE="p2cwizard.settings", P2C_VAR_DIR=tmp, LOG_LEVEL="WARNING"
        )
        env.pop("REDIS_URL", None)
        if env.get("DATABASE_URL"):
            create_database(env["DATABASE_URL"])
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update(env)
        import django

        django.setup()
        print(f"database {env.get('DATABASE_URL') or 'SQLite'}; load average {os.getloadavg()[0]:.2f}")
        user, job = make_job(args.issues)
        time_pages(user, job, args.repeat)


if __name__ == "__main__":
    main()
