"""The Makefile reads its settings from the environment, like the app does."""

import os
import subprocess

import pytest
from django.conf import settings

# Each test runs `make setup` (the virtualenv check, migrations, static files): minutes, not seconds.
pytestmark = pytest.mark.slow


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Services-mode variables are dropped: `make setup` would migrate that database.
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "P2C_VAR_DIR"}}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=settings.BASE_DIR,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_it_sets_up_in_the_var_dir_given_in_the_environment(tmp_path):
    var = tmp_path / "from-env"
    result = make("setup", P2C_VAR_DIR=str(var))
    assert result.returncode == 0, result.stderr
    assert (var / "db.sqlite3").is_file()
    assert (var / "staticfiles").is_dir()


def test_it_sets_up_in_the_var_dir_given_on_the_command_line(tmp_path):
    var = tmp_path / "from-command-line"
    result = make("setup", f"P2C_VAR_DIR={var}")
    assert result.returncode == 0, result.stderr
    assert (var / "db.sqlite3").is_file()
