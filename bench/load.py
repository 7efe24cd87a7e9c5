"""Benchmark: pages under load, loopback only, bounded in time.

    .venv/bin/python bench/load.py [--users 10 30 50] [--seconds 30] [--think 0] [--clients N]
    .venv/bin/python bench/load.py --team --burst 60 --users 50 --stacks embedded postgres

Embedded by default (SQLite, the filesystem broker, all in a temp folder); with DATABASE_URL set
(for example postgres://postgres@127.0.0.1:5432/p2c_bench_issue11, created when missing), on
PostgreSQL. `--stacks embedded postgres` runs both, one after the other, each with a server of its
own: the postgres stack takes `--postgres` (default: DATABASE_URL, else a database named
p2c_bench_load on 127.0.0.1) and `--redis` (REDIS_URL) for its broker when given. The script
migrates, creates one user per simulated user (all members of one migration holding an order
export and a finished job), starts `manage.py serve` (gunicorn sized from the cores:
P2C_WEB_PROCESSES / P2C_WEB_THREADS) and then, per round of N users, runs N threads spread over
--clients processes (one per core by default: threads of one Python process queue on its lock,
and that wait would count as the server's) for --seconds.

Two ways a user behaves:
- --think S (default 0): the profile of pages, the dashboard, the step 2 and step 8 pages, and two
  thirds of the requests polling status.json as uploads.js does (with If-None-Match); each user
  waits S seconds on average (uniformly 0.5 S to 1.5 S) after each answer. 0: no wait at all, a
  worst case (50 such users send what thousands of people would).
- --team: a team's think time: each user opens a page (the dashboard, step 2, 8 or 9, a job's
  results) every --page-every seconds on average (default 20) and, in between, polls status.json
  every --poll seconds (default 2), as an open step page does.

Sign-in: with --burst 0 (the default) every user signs in before the round (timed apart, as
"sign-in"); with --burst S the users sign in at random moments over the first S seconds of the
round (a workshop's start) and go on with their pages once signed in: that phase is reported
apart (sign-ins, and every other page meanwhile), then the steady phase for --seconds.

Prints, per round and phase, requests per second, errors, GETs sent again on a new connection
(a kept-alive connection the server had closed), the CPU used (the server's processes, the
clients, everything else on the machine: another program's load shows there) and p50/p95/p99 per
page kind, with the load average at the start and end of the round. The server is stopped at the
end, on an error and on Ctrl-C.
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
    ap.add_argument("--team", action="store_true", help="a team's pace: pages now and then, status polled")
    ap.add_argument("--page-every", type=float, default=20, help="--team: mean seconds between pages")
    ap.add_argument("--poll", type=float, default=2, help="--team: seconds between status polls")
    ap.add_argument("--burst", type=float, default=0, help="sign everyone in over the round's first S s")
    ap.add_argument("--stacks", nargs="+", choices=("embedded", "postgres"), help="default: DATABASE_URL's")
    ap.add_argument("--postgres", default="", help="the postgres stack's DATABASE_URL")
    ap.add_argument(
        "--redis", default="", help="the postgres stack's REDIS_URL (none: the filesystem broker)"
    )
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
    """`users` members of one migration with an order export and a finished job; their ids."""
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
    return migration.id, job.id


class User:
    """One simulated user: its own connection and cookies."""

    def __init__(self, port: int, name: str) -> None:
        self.port, self.name = port, name
        self.cookies: dict[str, str] = {}
        self.etag = ""
        self.retries = 0  # GETs sent again on a new connection (see request)
        # Signing in may wait behind other users' password hashing (bounded per web process): a
        # longer timeout for it, then a fresh connection with the pages' 30 s.
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
                # after its keep-alive): a browser sends the GET again on a new one, unseen by its
                # user; counted and printed (there should be none: see gunicorn_conf.py).
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


def team_pages(migration_id: int, job_id: int) -> list[tuple[str, str]]:
    """What a team opens now and then (--team); status.json is polled in between."""
    m = f"/migrations/{migration_id}"
    return [
        ("dashboard", "/"),
        ("step 2", f"{m}/steps/exports/"),
        ("step 8", f"{m}/steps/initialize/"),
        ("step 9", f"{m}/steps/enable-maps/"),
        ("results", f"{m}/jobs/{job_id}/"),
    ]


class Recorder:
    """Timings and errors of one client process, by phase: the sign-in burst, then steady."""

    def __init__(self, burst_end: float) -> None:
        self.lock = threading.Lock()
        self.burst_end = burst_end
        self.timings: dict[str, dict[str, list[float]]] = {
            "burst": defaultdict(list),
            "steady": defaultdict(list),
        }
        self.errors: dict[str, list[str]] = {"burst": [], "steady": []}
        self.retries = 0

    def phase(self, at: float) -> str:
        return "burst" if at < self.burst_end else "steady"

    def add(self, kind: str, began: float, took: float, error: str = "") -> None:
        phase = self.phase(began)
        with self.lock:
            self.timings[phase][kind].append(took)
            if error:
                self.errors[phase].append(f"{kind}: {error}")


def timed_get(user: User, kind: str, path: str, seen: Recorder) -> None:
    headers = {"If-None-Match": user.etag} if kind == "status.json" and user.etag else {}
    began = time.perf_counter()
    try:
        response, _ = user.request("GET", path, headers=headers)
        error = "" if response.status in (200, 304) else str(response.status)
        if kind == "status.json":
            user.etag = response.headers.get("ETag", "")
    except Exception as e:
        error = str(e) or type(e).__name__
    seen.add(kind, began, time.perf_counter() - began, error)


def browse(user: User, rng: random.Random, stop_at: float, plan: dict, seen: Recorder) -> None:
    """One user's requests until stop_at, at --think's pace or --team's."""
    if plan["team"]:
        next_page = time.perf_counter() + plan["page_every"] * rng.uniform(0, 1)
        while time.perf_counter() < stop_at:
            if time.perf_counter() >= next_page:
                timed_get(user, *rng.choice(plan["pages"]), seen)
                next_page = time.perf_counter() + plan["page_every"] * rng.uniform(0.5, 1.5)
            else:
                timed_get(user, "status.json", plan["status"], seen)
            time.sleep(min(plan["poll"], max(0.0, next_page - time.perf_counter())))
        return
    think = plan["think"]
    if think:
        # People at a browser's pace do not all click in the same millisecond: each user's
        # first request comes after one think time of its own, as if the round began while
        # they were already at work (otherwise every round opens with one burst of N requests).
        time.sleep(think * rng.uniform(0, 1))
    while time.perf_counter() < stop_at:
        timed_get(user, *rng.choice(plan["profile"]), seen)
        if think:
            time.sleep(think * rng.uniform(0.5, 1.5))


def run_users(port: int, plan: dict, names: list[str], barrier, seconds: float, out) -> None:
    """One client process: its users as threads; their timings and errors go to `out`."""
    burst = plan["burst"]
    seen = Recorder(burst_end=0.0)
    stop_at = [0.0]
    ready, go = threading.Barrier(len(names) + 1), threading.Event()

    def sign_in(user: User) -> bool:
        began = time.perf_counter()
        try:
            user.sign_in()
        except Exception as e:  # counted, and this user stops
            seen.add("sign-in", began, time.perf_counter() - began, f"sign-in: {e}")
            return False
        seen.add("sign-in", began, time.perf_counter() - began)
        return True

    def one(name: str) -> None:
        user, rng = User(port, name), random.Random(name)
        if not burst:
            signed_in = sign_in(user)  # before the round: timed, reported with the burst phase
            ready.wait()
            go.wait()
            if not signed_in:
                return
        else:
            ready.wait()
            go.wait()
            time.sleep(burst * rng.uniform(0, 1))  # a workshop's start: everyone within `burst` s
            if not sign_in(user):
                return
        browse(user, rng, stop_at[0], plan, seen)
        with seen.lock:
            seen.retries += user.retries

    threads = [threading.Thread(target=one, args=(name,), daemon=True) for name in names]
    for thread in threads:
        thread.start()
    ready.wait()  # this process' users ready (signed in, without --burst)
    barrier.wait()  # every process' users ready: the timed part starts together
    now = time.perf_counter()
    seen.burst_end, stop_at[0], cpu = now + burst, now + burst + seconds, time.process_time()
    go.set()  # only now: a user let go before stop_at is set would stop at once
    for thread in threads:
        thread.join(burst + seconds + 120)
    timings = {phase: dict(found) for phase, found in seen.timings.items()}
    out.put((timings, seen.errors, seen.retries, time.process_time() - cpu))


def run_round(port: int, plan: dict, users: int, seconds: float, clients: int) -> dict:
    """N users spread over `clients` processes (threads in one Python process would queue on its
    lock and count that wait as the server's), all timed over the same `seconds`."""
    clients = max(1, min(clients, users))
    names = [user_name(n) for n in range(users)]
    barrier, out = mp.Barrier(clients + 1), mp.Queue()
    processes = [
        mp.Process(target=run_users, args=(port, plan, names[n::clients], barrier, seconds, out), daemon=True)
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), cpu_now()
    results = [out.get(timeout=plan["burst"] + seconds + 300) for _ in processes]
    wall, cpu_end = time.perf_counter() - started, cpu_now()
    for process in processes:
        process.join(10)
    timings: dict[str, dict[str, list[float]]] = {"burst": defaultdict(list), "steady": defaultdict(list)}
    errors: dict[str, list[str]] = {"burst": [], "steady": []}
    retries, client_cpu = 0, 0.0
    for found, failed, sent_again, used in results:
        for phase, kinds in found.items():
            for kind, values in kinds.items():
                timings[phase][kind] += values
        for phase in errors:
            errors[phase] += failed[phase]
        retries, client_cpu = retries + sent_again, client_cpu + used
    cpu["client"], cpu_end["client"] = 0.0, client_cpu
    load = f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    print(f"{users} users, {wall:.0f} s, {retries} GETs sent again on a new connection; {load}")
    figures = {"load_average": [load_before, os.getloadavg()[0]], "retries": retries}
    if plan["burst"]:
        figures["burst"] = report("sign-in burst", plan["burst"], timings["burst"], errors["burst"])
    figures.update(report("steady", seconds, timings["steady"], errors["steady"], cpu, cpu_end, wall))
    if not plan["burst"]:
        figures["p50_ms"]["sign-in"], figures["p95_ms"]["sign-in"] = _sign_in_before(timings["burst"])
    return figures


def _sign_in_before(timings: dict[str, list[float]]) -> tuple[float | None, float | None]:
    ms = [1000 * v for v in timings.get("sign-in", [])]
    if not ms:
        return None, None
    p50, p95 = percentile(ms, 0.50), percentile(ms, 0.95)
    print(f"  sign-in before the round: n={len(ms)} p50 {p50:.0f} ms  p95 {p95:.0f} ms")
    return p50, p95


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


KINDS = ("sign-in", "dashboard", "step 2", "step 8", "step 9", "results", "status.json")


def report(phase: str, seconds: float, timings, errors, cpu=None, cpu_end=None, wall=None) -> dict:
    """Print one phase's figures; return them (requests/s, errors, p50/p95/p99 per page kind)."""
    requests = sum(len(v) for k, v in timings.items() if k != "sign-in")
    line = f" {phase}, {seconds:.0f} s: {requests / seconds:.1f} requests/s, {len(errors)} errors"
    if cpu is not None:
        used = {k: cpu_end[k] - cpu[k] for k in cpu}
        others = max(0.0, used["machine"] - used["server"] - used["client"])
        line += (
            f"; CPU over the round server {used['server'] / wall:.2f}, client {used['client'] / wall:.2f}, "
            f"others {others / wall:.2f} cores"
        )
    print(line)
    figures: dict = {"requests_per_s": requests / seconds, "errors": len(errors), "p50_ms": {}, "p95_ms": {}}
    for kind in KINDS:
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


def stacks(args: argparse.Namespace) -> list[tuple[str, dict[str, str]]]:
    """Each stack to run and what it sets in the environment ("" removes the variable)."""
    postgres = (
        args.postgres or os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/p2c_bench_load"
    )
    chosen = args.stacks or (["postgres"] if os.environ.get("DATABASE_URL") else ["embedded"])
    found = {
        "embedded": {"DATABASE_URL": "", "REDIS_URL": ""},
        "postgres": {"DATABASE_URL": postgres, "REDIS_URL": args.redis},
    }
    return [(name, found[name]) for name in chosen]


def run_stack(args: argparse.Namespace, name: str, changes: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="p2c-bench-load-") as tmp:
        folder = Path(tmp)
        (folder / "var").mkdir()
        env = bench_env(folder, args.port)
        for key, value in changes.items():
            if value:
                env[key] = value
            else:
                env.pop(key, None)
        if env.get("DATABASE_URL"):
            create_database(env["DATABASE_URL"])
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        migration_id, job_id = setup(env, max(args.users))
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
            print(
                f"\n{name}: database {env.get('DATABASE_URL') or 'SQLite'}, broker "
                f"{'Redis' if env.get('REDIS_URL') else 'filesystem'}; {os.cpu_count()} CPUs; "
                + (f"team: a page every {args.page_every} s, status every {args.poll} s" if args.team
                   else f"think {args.think} s")
                + (f"; sign-in burst over {args.burst} s" if args.burst else ""),
                flush=True,
            )  # fmt: skip
            plan = {
                "team": args.team, "think": args.think, "page_every": args.page_every, "poll": args.poll,
                "burst": args.burst, "profile": profile(migration_id),
                "pages": team_pages(migration_id, job_id),
                "status": f"/migrations/{migration_id}/status.json",
            }  # fmt: skip
            return {
                users: run_round(args.port, plan, users, args.seconds, args.clients) for users in args.users
            }
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
            log.close()


def stack_apart(name: str, args: argparse.Namespace, folder: Path) -> dict:
    """One stack in a process of its own (Django's settings are set once per process)."""
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if arg in ("--stacks", "--json"):
            skip = True
            continue
        if skip and arg.startswith("--"):
            skip = False
        if not skip:
            argv.append(arg)
    out = folder / f"{name}.json"
    subprocess.run([sys.executable, __file__, *argv, "--stacks", name, "--json", str(out)], check=True)
    return json.loads(out.read_text())


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    chosen = stacks(args)
    if len(chosen) > 1:
        with tempfile.TemporaryDirectory(prefix="p2c-bench-load-stacks-") as tmp:
            figures = {name: stack_apart(name, args, Path(tmp)) for name, _ in chosen}
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1))
        return
    name, changes = chosen[0]
    rounds = run_stack(args, name, changes)
    figures = {
        "database": "PostgreSQL" if changes["DATABASE_URL"] else "SQLite",
        "think": args.think, "team": args.team, "burst": args.burst, "rounds": rounds,
    }  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
