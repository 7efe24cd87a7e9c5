"""Benchmark: pages under load, loopback only, bounded in time.

    .venv/bin/python bench/load.py [--users 10 30 50] [--seconds 30] [--think 0] [--clients N]

Embedded by default (SQLite, the filesystem broker, all in a temp folder); set DATABASE_URL
(for example postgres://postgres@127.0.0.1:5432/p2c_bench_issue11, created when missing) for
PostgreSQL. The script migrates, creates one user per simulated user (all members of one
migration holding an order export and a finished job), starts `manage.py serve` (gunicorn sized
from the cores: P2C_WEB_PROCESSES / P2C_WEB_THREADS) and then, per round of N users, runs N
threads spread over --clients processes (one per core by default: threads of one Python process
queue on its lock, and that wait would count as the server's) for --seconds: each signs in once
(timed apart, as "sign-in"), then loops over the profile: the dashboard, the step 2 and step 8
pages, and two thirds of the requests polling status.json as uploads.js does (with
If-None-Match).

--think 0 (the default): no think time, each user sends its next request when the previous one is
answered, so the figures are a worst case (50 such users send what thousands of people would).
--think S: each user waits S seconds on average (uniformly 0.5 S to 1.5 S) after each answer, as
a browser does: uploads.js polls every 1.5 s while something runs (5 s otherwise), so --think 1
is a person who also opens a page every 3 s, faster than anyone reads one.

Prints, per round, requests per second, errors, the CPU used (the server's processes, the
clients, everything else on the machine: another program's load shows there) and p50/p95/p99 per
page kind. The server is stopped at the end, on an error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bigjob import bench_env as bigjob_env  # noqa: E402  (bench/bigjob.py)
from jobs import TICK, create_database, machine_busy, percentile  # noqa: E402  (bench/jobs.py)

RUN = uuid.uuid4().hex[:8]
PASSWORD = "load-bench-" + RUN
SERVER_PID = [0]  # manage.py serve, once started: its process tree is the server's CPU


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, nargs="+", default=[10, 30, 50])
    ap.add_argument("--seconds", type=float, default=30, help="length of each round (default 30)")
    ap.add_argument("--port", type=int, default=8711)
    ap.add_argument("--think", type=float, default=0, help="mean seconds between requests (default 0)")
    ap.add_argument("--json", help="also write the figures here (bench/scale.py reads them)")
    ap.add_argument(
        "--clients", type=int, default=os.cpu_count() or 1, help="client processes (default: one per core)"
    )
    return ap.parse_args()


def bench_env(folder: Path, port: int) -> dict[str, str]:
    """bench/bigjob.py's embedded environment, served on `port`, with sign-in lockout out of the way."""
    env = bigjob_env(folder)
    env.update(PORT=str(port), P2C_LOGIN_FAILURE_LIMIT="1000")
    return env


def user_name(n: int) -> str:
    # Named per run: a PostgreSQL database is kept between runs, with the users of earlier ones.
    return f"load-{RUN}-{n}"


def setup(env: dict[str, str], users: int) -> int:
    """`users` members of one migration with an order export and a finished job; its id."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from transform import make_csv

    from migration.models import Membership, Role
    from migration.services import job_worker, jobs, uploads
    from migration.services.migrations import LegalEntityData, migration_create

    people = [get_user_model().objects.create_user(user_name(n), password=PASSWORD) for n in range(users)]
    migration = migration_create(
        creator=people[0], name="Load bench", customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US")],
    )  # fmt: skip
    Membership.objects.bulk_create(
        Membership(migration=migration, user=user, role=Role.CONSULTANT) for user in people[1:]
    )
    export = Path(env["P2C_VAR_DIR"]) / "order.csv"
    make_csv(str(export), 2000)
    with open(export, "rb") as handle:
        upload = uploads.upload_create(
            migration=migration, table="order", kind="export", upload=File(handle, name="order.csv"),
            actor=people[0],
        )  # fmt: skip
    uploads.upload_inspect(upload_id=upload.id)
    job = jobs.job_start(migration=migration, table="order", actor=people[0])
    job_worker.job_run(job_id=job.id)
    return migration.id


class User:
    """One simulated user: its own connection and cookies."""

    def __init__(self, port: int, name: str) -> None:
        self.port, self.name = port, name
        self.cookies: dict[str, str] = {}
        self.etag = ""
        self.retries = 0  # GETs sent again on a new connection (see request)
        # Signing in waits behind every other user's password hashing (PBKDF2, deliberately slow):
        # a longer timeout for it, then a fresh connection with the pages' 30 s.
        self.timeout = 180
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                break
            except (http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                # A kept-alive connection the server closed meanwhile (gunicorn closes idle ones
                # after 2 s): a browser sends the GET again on a new one, unseen by its user.
                closed = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
                if attempt == 2 or method != "GET" or not isinstance(e, closed):
                    raise
                self.retries += 1
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            key, _, rest = value.partition("=")
            self.cookies[key.strip()] = rest.split(";", 1)[0]
        return response, data

    def sign_in(self) -> None:
        _, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1].decode()
        form = urlencode({"username": self.name, "password": PASSWORD, "csrfmiddlewaretoken": token})
        response, _ = self.request(
            "POST", "/accounts/login/", form, {"Referer": f"http://127.0.0.1:{self.port}/"}
        )
        if response.status != 302:
            raise RuntimeError(f"sign-in of {self.name} answered {response.status}")
        self.conn.close()
        self.timeout = 30
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)


def profile(migration_id: int) -> list[tuple[str, str]]:
    """The page kinds and their share: status polling is two thirds of the requests."""
    m = f"/migrations/{migration_id}"
    pages = [("dashboard", "/"), ("step 2", f"{m}/steps/exports/"), ("step 8", f"{m}/steps/initialize/")]
    return pages + [("status.json", f"{m}/status.json")] * 6


def run_users(port: int, plan: list, names: list[str], barrier, seconds: float, think: float, out) -> None:
    """One client process: its users as threads; their timings and errors go to `out`."""
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = [0.0]
    ready, go = threading.Barrier(len(names) + 1), threading.Event()

    def one(name: str) -> None:
        user, rng = User(port, name), random.Random(name)
        began = time.perf_counter()
        try:
            user.sign_in()
        except Exception as e:  # counted, and this user stops
            with lock:
                errors.append(f"sign-in: {e}")
            ready.wait()
            return
        with lock:
            timings["sign-in"].append(time.perf_counter() - began)
        ready.wait()
        go.wait()
        if think:
            # People at a browser's pace do not all click in the same millisecond: each user's
            # first request comes after one think time of its own, as if the round began while
            # they were already at work (otherwise every round opens with one burst of N requests).
            time.sleep(think * rng.uniform(0, 1))
        while time.perf_counter() < stop_at[0]:
            kind, path = rng.choice(plan)
            headers = {"If-None-Match": user.etag} if kind == "status.json" and user.etag else {}
            began = time.perf_counter()
            try:
                response, _ = user.request("GET", path, headers=headers)
                ok = response.status in (200, 304)
                if kind == "status.json":
                    user.etag = response.headers.get("ETag", "")
            except Exception as e:
                ok, response = False, e
            took = time.perf_counter() - began
            with lock:
                timings[kind].append(took)
                if not ok:
                    errors.append(f"{kind}: {getattr(response, 'status', response)}")
            if think:
                time.sleep(think * rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=one, args=(name,), daemon=True) for name in names]
    for thread in threads:
        thread.start()
    ready.wait()  # this process' users signed in
    barrier.wait()  # every process' users signed in: the timed part starts together
    stop_at[0], cpu = time.perf_counter() + seconds, time.process_time()
    go.set()  # only now: a user let go before stop_at is set would stop at once
    for thread in threads:
        thread.join(seconds + 60)
    out.put((dict(timings), errors, time.process_time() - cpu))


def run_round(port: int, migration_id: int, users: int, seconds: float, clients: int, think: float) -> dict:
    """N users spread over `clients` processes (threads in one Python process would queue on its
    lock and count that wait as the server's), all timed over the same `seconds`."""
    clients = max(1, min(clients, users))
    names = [user_name(n) for n in range(users)]
    barrier, out = mp.Barrier(clients + 1), mp.Queue()
    plan = profile(migration_id)
    processes = [
        mp.Process(
            target=run_users, args=(port, plan, names[n::clients], barrier, seconds, think, out), daemon=True
        )
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started, cpu = time.perf_counter(), cpu_now()
    results = [out.get(timeout=seconds + 120) for _ in processes]
    wall, cpu_end = time.perf_counter() - started, cpu_now()
    for process in processes:
        process.join(10)
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    for found, failed, client_cpu in results:
        for kind, values in found.items():
            timings[kind] += values
        errors += failed
        cpu_end["client"] = cpu_end.get("client", 0.0) + client_cpu
    cpu["client"] = 0.0
    return report(users, wall, timings, errors, cpu, cpu_end)


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process and all its living descendants (Linux /proc)."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, (parent, _) in stats.items() if parent in tree} - tree
        tree, grew = tree | found, bool(found)
    return sum(stats[pid][1] for pid in tree if pid in stats)


def cpu_now() -> dict[str, float]:
    """CPU seconds so far: the server's processes (gunicorn's and the worker's) and the machine."""
    return {"server": tree_cpu(SERVER_PID[0]), "machine": machine_busy()}


def report(users, wall, timings, errors, cpu, cpu_end) -> dict:
    """Print the round's figures; return them (requests/s, errors, p50/p95/p99 per page kind)."""
    requests = sum(len(v) for k, v in timings.items() if k != "sign-in")
    used = {k: cpu_end[k] - cpu[k] for k in cpu}
    others = max(0.0, used["machine"] - used["server"] - used["client"])
    print(
        f"{users} users, {wall:.0f} s: {requests / wall:.1f} requests/s, {len(errors)} errors; CPU "
        f"server {used['server'] / wall:.2f}, client {used['client'] / wall:.2f}, others {others / wall:.2f} "
        f"cores; {1000 * used['server'] / max(requests, 1):.1f} ms server CPU per request"
    )
    figures: dict = {"requests_per_s": requests / wall, "errors": len(errors), "p50_ms": {}, "p95_ms": {}}
    for kind in ("sign-in", "dashboard", "step 2", "step 8", "status.json"):
        values = timings.get(kind)
        if values:
            ms = [1000 * v for v in values]
            p50, p95, p99 = (percentile(ms, q) for q in (0.50, 0.95, 0.99))
            print(f"  {kind:<12} n={len(ms):<6} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  p99 {p99:6.0f} ms")
            figures["p50_ms"][kind], figures["p95_ms"][kind] = p50, p95
    for error in sorted(set(errors))[:5]:
        print(f"  error: {error}")
    sys.stdout.flush()
    return figures


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"manage.py serve exited with code {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer within {timeout} s")


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    with tempfile.TemporaryDirectory(prefix="p2c-bench-load-") as tmp:
        folder = Path(tmp)
        (folder / "var").mkdir()
        env = bench_env(folder, args.port)
        if env.get("DATABASE_URL"):
            create_database(env["DATABASE_URL"])
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        migration_id = setup(env, max(args.users))
        from django.db import connections

        connections.close_all()  # the client processes are forked: none may inherit a connection
        log = open(folder / "serve.log", "wb")  # noqa: SIM115 (closed below)
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        SERVER_PID[0] = server.pid
        try:
            wait_until_up(args.port, server)
            database = env.get("DATABASE_URL") or "SQLite"
            print(
                f"database {database}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            rounds = {
                users: run_round(args.port, migration_id, users, args.seconds, args.clients, args.think)
                for users in args.users
            }
            if args.json:
                kind = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"
                figures = {"database": kind, "think": args.think, "rounds": rounds}
                Path(args.json).write_text(json.dumps(figures, indent=1))
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
            log.close()


if __name__ == "__main__":
    main()
