"""Test helpers in one place: sample exports and their inspection, and real Celery workers.

Workers run in a thread of the test process or as a separate process; both use
the broker the settings choose: kombu's filesystem transport on the embedded
default, Redis when REDIS_URL is set (as CI's second run does).
"""

import csv
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.files import File
from django.db import connection
from django.urls import reverse

from migration.models import ExportUpload, TransformJob
from migration.services import job_worker, uploads
from p2cwizard.celery import app


def run(job):
    """A transform job run in this process, as the worker runs it; the job as saved."""
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    return job


def step_url(migration, slug):
    return reverse("runbook", kwargs={"migration_id": migration.id, "step": slug})


def step_data(migration, slug, rows):
    """POST data as the step's form sends it: one row of fields per checklist item."""
    data = {
        f"runbook_{migration.id}-current_step": slug,
        f"{slug}-TOTAL_FORMS": str(len(rows)),
        f"{slug}-INITIAL_FORMS": str(len(rows)),
    }
    for index, row in enumerate(rows):
        for field, value in row.items():
            if value is True:
                value = "on"
            if value not in (False, None):
                data[f"{slug}-{index}-{field}"] = value
    return data


def migration_url(name: str, migration, **kwargs) -> str:
    """The URL of one of a migration's pages."""
    return reverse(name, kwargs={"migration_id": migration.id, **kwargs})


# A copy of shared/samples, kept in the repository so a clone anywhere has them.
SAMPLES = Path(__file__).resolve().parent / "samples" / "sales-excel"


def upload_sample(
    migration, actor, name: str, table: str | None = None, kind: str = "export"
) -> ExportUpload:
    path = SAMPLES / name if not Path(name).is_absolute() else Path(name)
    table = table or path.stem
    with open(path, "rb") as handle:
        return uploads.upload_create(
            migration=migration, table=table, kind=kind, upload=File(handle, name=path.name), actor=actor
        )


def write_reexport(name: str, path: Path, rows: int | None = None) -> Path:
    """A re-export as Sales writes it after dual-write: the sample with dual-write's columns, empty."""
    from migration.engine import TABLES

    with open(SAMPLES / name, encoding="utf-8-sig", newline="") as handle:
        data = list(csv.reader(handle))
    table = TABLES[Path(name).stem]
    have = {h.casefold() for h in data[0]}
    added = [c for c in dict.fromkeys(t.col.display for t in table.targets) if c.casefold() not in have]
    body = data[1 : None if rows is None else rows + 1]
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([data[0] + added] + [r + [""] * len(added) for r in body])
    return path


def upload_inspected(
    migration, actor, name: str, table: str | None = None, kind: str = "export"
) -> ExportUpload:
    upload = upload_sample(migration, actor, name, table, kind)
    uploads.upload_inspect(upload_id=upload.id)
    upload.refresh_from_db()
    return upload


# --- real workers ----------------------------------------------------------------------


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def thread_worker():
    with start_worker(
        app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=30
    ) as worker:
        yield worker


def _database_url() -> str:
    """The test database, as a URL a separate process can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env() -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        P2C_VAR_DIR=str(settings.VAR_DIR),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def process_worker(log_path: Path, concurrency: int = 1, name: str = "w1", env: dict | None = None):
    """A `celery worker` process with a prefork pool, stopped (or killed) afterwards."""
    command = [sys.executable, "-m", "celery", "-A", "p2cwizard", "worker", "--pool=prefork",
               f"--concurrency={concurrency}", "--loglevel=INFO", f"--hostname={name}@%h", "--without-gossip",
               "--without-mingle", "--without-heartbeat"]  # fmt: skip
    with open(log_path, "ab") as log:
        environment = {**worker_env(), **(env or {})}
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pool_children(process: subprocess.Popen) -> list[int]:
    """Pids of the worker's pool processes (the ones that run tasks), read from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == process.pid:
            children.append(int(stat.parent.name))
    return children


def wait_for(predicate, timeout: float = 120, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --- A Redis of a test's own (it can be stopped and started) -----------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, port: int):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (apt-get install redis-server; .ci/run installs it)"
        self.command = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        wait_for(self._answers, timeout=20, what="redis-server to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(
                ("127.0.0.1", int(self.url.split(":")[2].split("/")[0])), timeout=1
            ) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# Every kind of page a member sees (after /accounts/login/): the browser tests visit each.
def main_pages(migration, job) -> list[str]:
    m = f"/migrations/{migration.id}"
    return [
        "/",
        "/migrations/new/",
        "/accounts/password_change/",
        f"{m}/",
        f"{m}/activity/",
        f"{m}/members/",
        f"{m}/connections/",
        f"{m}/settings/",
        f"{m}/initialization/",
        f"{m}/jobs/{job.id}/",
        f"{m}/uploads/{migration.uploads.get().id}/",
        *(f"{m}/steps/{slug}/" for slug in ("last-sync", "exports", "uninstall", "duplicate-detection")),
        *(f"{m}/steps/{slug}/" for slug in ("initialize", "enable-maps")),
    ]


# Every place a file is received, with a file it accepts (the error log has a message column).
POINT_CSV = "(Do Not Modify) Account,Account Name,Account Number\r\nabc,Contoso,C-1\r\n".encode("utf-8-sig")
POINT_ERRORS = b"Key,Message,Company\r\nX1,Lookup failed,USMF\r\n"
UPLOAD_POINTS = {
    "step-2 export": ("upload_create", {"kind": "export", "table": "account"}, "account.csv", POINT_CSV),
    "re-export": ("upload_create", {"kind": "reexport", "table": "account"}, "account.csv", POINT_CSV),
    "verification": ("upload_create", {"kind": "verification", "table": "order"}, "order.csv", POINT_CSV),
    "customer list": ("upload_create", {"kind": "party_numbers", "table": "account"}, "cust.csv", POINT_CSV),
    "step-9 F&O export": ("sync_upload", {"kind": "reconcile", "table": "account"}, "fno.csv", POINT_CSV),
    "step-9 error log": ("sync_upload", {"kind": "triage", "table": "account"}, "errors.csv", POINT_ERRORS),
    "evidence": ("evidence_add", {"step": "initialize"}, "report.pdf", b"%PDF-1.7 report " + POINT_CSV),
}


def post_to(client, migration, point: str, name: str = "", content: bytes = b""):
    """Post a file where `point` receives it (its own sample unless given); the page it leads to."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    url_name, kwargs, sample_name, sample = UPLOAD_POINTS[point]
    url = reverse(url_name, kwargs={"migration_id": migration.id, **kwargs})
    if url_name == "sync_upload":
        step_9_open(migration)
    upload = SimpleUploadedFile(name or sample_name, content or sample)
    return client.post(url, {"file": upload, "title": "Proof"}, follow=True)


def step_9_open(migration) -> None:
    """Step 9 opens with step 8's sign-off; a test of step 9 alone has its project manager open it
    early, with a reason, as a team checking accounts before orders are done would."""
    from migration.models import Role
    from migration.services import checklist

    if checklist.step_locked(migration=migration, step=9):
        manager = migration.memberships.filter(role=Role.MANAGER).first().user
        checklist.step_open_early(migration=migration, step=9, actor=manager, reason="Step 9 tested alone")


# A job's state as a worker leaves it; an export big enough to kill a worker in the middle of.


def job_state(job_id):
    return TransformJob.objects.get(id=job_id).state


def finished(job_id):
    state = job_state(job_id)
    return state if state not in TransformJob.ACTIVE else None


def big_order_export(path, rows: int) -> None:
    """An order export large enough that a worker can be killed in the middle of it."""
    rng = random.Random(7)
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["(Do Not Modify) Order", "Order ID", "Customer", "Ship To Country/Region",
                         "Requested Delivery Date", "Description"])  # fmt: skip
        for n in range(rows):
            writer.writerow([f"{n:08d}-0000-4000-8000-000000000000", f"ORD-{n:07d}", f"Customer {n % 977}",
                             rng.choice(["United States", "Germany", ""]), f"{1 + n % 12}/{1 + n % 28}/2024",
                             "line one\nline two" if n % 10 == 0 else "plain"])  # fmt: skip


# --- signing in and deploying ---------------------------------------------------------


PASSWORD = "a-long-test-password-42"


def sign_in(client, username: str, password: str, url: str = "/accounts/login/"):
    return client.post(url, {"username": username, "password": password})


def deploy_check(tmp_path, **env: str) -> subprocess.CompletedProcess:
    dropped = {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "DEBUG",
        "P2C_HTTPS",
        "SECURE_COOKIES",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }  # fmt: skip  (the browser tests set the last one)
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean |= {"P2C_VAR_DIR": str(tmp_path), "DEBUG": "false", "ALLOWED_HOSTS": "p2c.example.com",
              "SECRET_KEY": "k7Qw-9zPx_mT3vR8sL2nB5yH6"*3, **env}  # fmt: skip
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


# The settings form's plain answers (step 8).
SETTINGS = {
    "company": "USMF",
    "customer_group": "10",
    "relationship_type": "Customer",
    "language": "en-us",
    "order_type": "Item based",
    "date_order": "auto",
    "country": "keep",
}


# What authentication adds to every request: the session and the user.
AUTH_QUERIES = 2
