"""requirements.txt alone runs the app: web server and a worker on Redis.

The Dockerfile installs requirements.txt and nothing else, while the suite
runs in the development virtualenv, which brings more. This test builds a
fresh virtualenv from requirements.txt only (pip's cache makes it quick) and
starts gunicorn and a Celery worker on this test's own Redis from it, so a
module the runtime imports but requirements.txt forgets fails here.
"""

import os
import subprocess
import sys
import urllib.request

import pytest

from .helpers import ROOT, free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker]


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check",
         "-r", str(ROOT / "requirements.txt")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    return venv


@pytest.fixture
def runtime_env(tmp_path, redis_server):
    dropped = {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "STATIC_ROOT", "VIRTUAL_ENV", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return env | {
        "P2C_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": redis_server.url,
        "PYTHONUNBUFFERED": "1",
    }


def run(venv, env, *command: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [str(venv / "bin/python"), *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stderr[-3000:]}"
    return result.stdout


def started(venv, env, log, *command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(venv / "bin/python"), *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_it_serves_pages_and_runs_tasks_on_redis_from_requirements_txt_alone(
    runtime_venv, runtime_env, tmp_path
):
    run(runtime_venv, runtime_env, "manage.py", "migrate", "--noinput", "-v0")
    run(runtime_venv, runtime_env, "manage.py", "collectstatic", "--noinput", "-v0")
    port = free_port()
    with open(tmp_path / "processes.log", "wb") as log:
        web = started(runtime_venv, runtime_env, log, "-m", "gunicorn", "p2cwizard.wsgi", "--bind",
                      f"127.0.0.1:{port}")  # fmt: skip
        worker = started(runtime_venv, runtime_env, log, "-m", "celery", "-A", "p2cwizard", "worker",
                         "--pool=solo", "--without-gossip", "--without-mingle")  # fmt: skip
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/accounts/login/"), timeout=60, what="gunicorn")
        # A real task through Redis: sent by a client, run by the worker, its result read back.
        sent = run(
            runtime_venv,
            runtime_env,
            "-c",
            "import django; django.setup()\n"
            "from migration.tasks import sweep_stale_jobs\n"
            "print('swept', sweep_stale_jobs.apply_async(ignore_result=False).get(timeout=60))",
            timeout=90,
        )
        assert "swept 0" in sent
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)
    log_text = (tmp_path / "processes.log").read_text(errors="replace")
    assert "ModuleNotFoundError" not in log_text, log_text[-3000:]
