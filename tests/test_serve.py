"""`manage.py serve` runs the real web server and worker as child processes."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.worker

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


@pytest.fixture(scope="module")
def serve_env(tmp_path_factory) -> dict[str, str]:
    """An embedded-mode environment with its own migrated database and static files.

    DATABASE_URL and REDIS_URL are dropped so the server under test never
    touches the shared CI database or the queue other tests use.
    """
    dropped = {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "STATIC_ROOT"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["P2C_VAR_DIR"] = str(tmp_path_factory.mktemp("serve-var"))
    # Its own home: anything written to ~ would be shared with other servers of the account.
    env["HOME"] = str(tmp_path_factory.mktemp("serve-home"))
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run([*MANAGE, *command, "-v0"], env=env, check=True, timeout=120)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    with log.open("w") as out:
        proc = subprocess.Popen([*MANAGE, "serve"], env=env | {"PORT": str(port)}, stdout=out, stderr=out)
    return proc, port


def _child_pids(proc: subprocess.Popen, log: Path) -> dict[str, int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        found = dict(re.findall(r"Started the (web server|worker) \(pid (\d+)\)", log.read_text()))
        if len(found) == 2:
            return {name: int(pid) for name, pid in found.items()}
        time.sleep(0.2)
    pytest.fail(f"serve did not start its children:\n{log.read_text()}")


# Generous: on a busy machine (other servers and test runs on two cores) the web server's
# processes may take long to start. serve says when it answers; nothing here is timed.
READY_LIMIT_SECONDS = 300


def _wait_until_serving(proc: subprocess.Popen, port: int, log: Path) -> None:
    """Until serve reports the web server answers, then the login page must answer 200."""
    deadline = time.monotonic() + READY_LIMIT_SECONDS
    while f"runs at http://127.0.0.1:{port}/" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"serve never reported the web server answering:\n{log.read_text()}")
        time.sleep(0.3)
    _assert_login_page(port, log)


def _assert_login_page(port: int, log: Path) -> None:
    try:
        url = f"http://127.0.0.1:{port}/accounts/login/"
        with urllib.request.urlopen(url, timeout=READY_LIMIT_SECONDS) as response:
            assert response.status == 200
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        pytest.fail(f"the login page did not answer 200 ({error}):\n{log.read_text()}")


def _live_members(group: int) -> list[int]:
    """Processes of the group that still run; killed ones awaiting their reaper (zombies) do not."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def _gone(pid: int, timeout: float = 10) -> bool:
    # Each child leads its own process group: gunicorn's and Celery's own
    # worker processes (and the worker's beat) must be gone too. A SIGKILLed
    # process takes a moment to die, hence the short wait.
    deadline = time.monotonic() + timeout
    while _live_members(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_it_serves_the_login_page_and_stops_both_children_on_ctrl_c(serve_env, tmp_path):
    log = tmp_path / "serve.log"
    proc, port = _start(serve_env, log)
    try:
        children = _child_pids(proc, log)
        _wait_until_serving(proc, port, log)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        _stop(proc)
    assert all(_gone(pid) for pid in children.values()), log.read_text()


# uploads.js polls status.json every 5 s when nothing runs (1.5 s while something does).
SLOW_POLL_SECONDS = 5


def test_it_keeps_an_idle_connection_open_longer_than_the_slowest_poll(serve_env, tmp_path):
    # With gunicorn's 2 s default, the server closed kept-alive connections as polls arrived on
    # them, and those requests were lost (the load bench's dropped requests).
    log = tmp_path / "serve.log"
    proc, port = _start(serve_env, log)
    try:
        _wait_until_serving(proc, port, log)
        browser = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(2):
            browser.request("GET", "/accounts/login/", headers={"Host": "localhost"})
            response = browser.getresponse()
            response.read()
            assert response.status == 200 and not response.will_close
            time.sleep(SLOW_POLL_SECONDS + 1)  # idle, as between two polls
        browser.close()
    finally:
        _stop(proc)


def test_it_starts_a_dead_worker_again_and_keeps_serving(serve_env, tmp_path):
    log = tmp_path / "serve.log"
    proc, port = _start(serve_env, log)
    try:
        children = _child_pids(proc, log)
        _wait_until_serving(proc, port, log)
        os.killpg(children["worker"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "started it again" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "The worker stopped (exit code -9); started it again" in log.read_text()
        assert proc.poll() is None
        _assert_login_page(port, log)
        restarted = int(re.search(r"started it again \(pid (\d+)\)", log.read_text())[1])
        assert _live_members(restarted)
    finally:
        _stop(proc)
    assert _gone(children["web server"])


def test_it_collects_static_files_when_they_are_missing(serve_env, tmp_path):
    env = serve_env | {"STATIC_ROOT": str(tmp_path / "no-static-yet")}
    log = tmp_path / "serve.log"
    proc, port = _start(env, log)
    try:
        _wait_until_serving(proc, port, log)
        assert "Collecting static files" in log.read_text()
        assert (tmp_path / "no-static-yet" / "staticfiles.json").is_file()
    finally:
        _stop(proc)


def test_it_shares_nothing_in_home_and_clears_what_a_killed_upload_left(serve_env, tmp_path):
    """gunicorn's control socket would land in ~/.gunicorn/, where another server removes it; a web
    process killed mid-upload leaves its temporary file in P2C_TMP_DIR/uploads."""
    left = Path(serve_env["P2C_VAR_DIR"]) / "tmp" / "uploads" / "tmpkilled.upload.csv"
    left.parent.mkdir(parents=True, exist_ok=True)
    left.write_bytes(b"half an upload")
    log = tmp_path / "serve.log"
    proc, port = _start(serve_env, log)
    try:
        _wait_until_serving(proc, port, log)
        assert not left.exists()
        assert list(Path(serve_env["HOME"]).iterdir()) == []
    finally:
        _stop(proc)
