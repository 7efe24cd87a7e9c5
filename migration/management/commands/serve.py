"""Run the web server and a Celery worker together until Ctrl-C.

Each child runs in its own session so that a terminal's Ctrl-C reaches only
this command, which then stops both children in order (a worker hit by two
SIGINTs would cold-stop mid-task). A worker that dies (out of memory, say) is
started again while the web server stays up; one that keeps dying, or a web
server that dies, stops everything and the command fails.
"""

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from migration.services import uploads
from p2cwizard.gunicorn_conf import KEEPALIVE_SECONDS, web_sizing
from p2cwizard.settings import env_int

# A worker finishes its current task before it stops; one still running after
# this is killed, and acks_late hands the task to the next worker start.
GRACE_SECONDS = 30
# More worker deaths than this within the window is a crash loop, not bad luck.
MAX_WORKER_RESTARTS = 5
RESTART_WINDOW_SECONDS = 300


class Command(BaseCommand):
    help = "Serve the app on 127.0.0.1:$PORT (gunicorn) with a Celery worker; Ctrl-C stops both."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")

    def handle(self, *args, port: int | None, **options) -> None:
        port = port or env_int("PORT", 8000, minimum=1)
        if not 0 < port < 65536:
            raise CommandError(f"port {port} is not between 1 and 65535")
        self._collect_static_files_if_missing()
        # No web process of ours receives yet: what a killed one left is garbage.
        uploads.uploads_tmp_clean(stale_after=timedelta(0))
        self._stop_requested = 0
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        children = {"web server": self._start(_web_command(port)), "worker": self._start(_worker_command())}
        for name, child in children.items():
            self.stdout.write(f"Started the {name} (pid {child.pid}).")
        self.stdout.flush()
        dead = self._wait_until_serving(children, port)
        if not dead and not self._stop_requested:
            self.stdout.write(
                self.style.SUCCESS(f"P2C Wizard runs at http://127.0.0.1:{port}/ (Ctrl-C stops it)")
            )
            self.stdout.flush()
            dead = self._wait_until_stop_or_death(children)
        self._stop_all(children)
        if dead:
            name, code = dead
            raise CommandError(f"The {name} stopped unexpectedly (exit code {code}); stopped the rest.")
        self.stdout.write("Stopped.")

    def _collect_static_files_if_missing(self) -> None:
        # Without the manifest every page would answer 500: collect them first.
        if not (settings.STATIC_ROOT / "staticfiles.json").exists():
            self.stdout.write("Collecting static files (first start)...")
            call_command("collectstatic", interactive=False, verbosity=0)

    def _start(self, command: list[str]) -> subprocess.Popen:
        return subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)

    def _request_stop(self, signum, frame) -> None:
        self._stop_requested += 1

    def _wait_until_serving(self, children: dict, port: int) -> tuple[str, int] | None:
        """Until the web server answers a request (any answer): "runs at" then means it does.

        Its processes may take long to start on a busy machine; no limit, Ctrl-C stops the wait."""
        while not self._stop_requested:
            if children["web server"].poll() is not None:
                return "web server", children["web server"].returncode
            if _answers(port):
                return None
            time.sleep(0.2)
        return None

    def _wait_until_stop_or_death(self, children: dict) -> tuple[str, int] | None:
        restarts: list[float] = []
        while not self._stop_requested:
            if children["web server"].poll() is not None:
                return "web server", children["web server"].returncode
            worker = children["worker"]
            if worker.poll() is not None:
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < RESTART_WINDOW_SECONDS]
                if len(restarts) >= MAX_WORKER_RESTARTS:
                    return "worker", worker.returncode
                restarts.append(now)
                children["worker"] = self._restart(worker)
            time.sleep(0.2)
        return None

    def _restart(self, worker: subprocess.Popen) -> subprocess.Popen:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # its pool and beat, if any survived
        fresh = self._start(_worker_command())
        self.stderr.write(
            f"The worker stopped (exit code {worker.returncode}); started it again (pid {fresh.pid}). "
            "The web server stays up."
        )
        self.stderr.flush()
        return fresh

    def _stop_all(self, children: dict) -> None:
        self.stdout.write("Stopping the web server and the worker (Ctrl-C again to force)...")
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        seen = self._stop_requested
        deadline = time.monotonic() + GRACE_SECONDS
        while any(c.poll() is None for c in children.values()):
            if time.monotonic() > deadline or self._stop_requested > seen:
                break
            time.sleep(0.2)
        for child in children.values():
            # Kill the whole session: gunicorn's and Celery's own workers too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # A host the app answers to: any other would be logged as a suspicious request.
        host = next(iter(settings.ALLOWED_HOSTS), "localhost").lstrip(".").replace("*", "localhost")
        connection.request("GET", "/accounts/login/", headers={"Host": host})
        connection.getresponse()
        return True
    except (OSError, http.client.HTTPException):  # not listening yet, or no answer in time
        return False
    finally:
        connection.close()


def _web_command(port: int) -> list[str]:
    processes, threads = web_sizing()
    return [
        *(sys.executable, "-m", "gunicorn", "p2cwizard.wsgi"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(processes), "--threads", str(threads)),
        *("--graceful-timeout", "10", "--keep-alive", str(KEEPALIVE_SECONDS), "--access-logfile", "-"),
        # Its control socket would default to ~/.gunicorn/, shared by every gunicorn of the
        # account, where another server's start removes it: nothing here uses it.
        "--no-control-socket",
    ]


def _worker_command() -> list[str]:
    # --beat: one machine, one worker, so it also runs the periodic stale-job sweep.
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "p2cwizard",
        "worker",
        "--beat",
        "--concurrency",
        "2",
        "-l",
        "info",
    ]
