"""Settings come from environment variables through typed helpers."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from p2cwizard.settings import env_bool, env_int, env_list, env_path

SERVICES = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "MEDIA_ROOT", "STATIC_ROOT"}

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "broker": settings.CELERY_BROKER_URL, "results": settings.CELERY_RESULT_BACKEND,
    "secret_key": settings.SECRET_KEY, "debug": settings.DEBUG, "media": str(settings.MEDIA_ROOT),
    "storage": settings.STORAGES["default"],
}, default=lambda value: type(value).__name__))  # a credential object: its class
"""


def _settings_in_subprocess(var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SERVICES}
    clean |= {"DJANGO_SETTINGS_MODULE": "p2cwizard.settings", "P2C_VAR_DIR": str(var_dir), **env}
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _loaded(var_dir: Path, **env: str) -> dict:
    result = _settings_in_subprocess(var_dir, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("raw", ["1", "true", "Yes", " on "])
def test_it_reads_true_booleans(monkeypatch, raw):
    monkeypatch.setenv("P2C_FLAG", raw)
    assert env_bool("P2C_FLAG") is True


@pytest.mark.parametrize("raw", ["0", "false", "NO", "off", ""])
def test_it_reads_false_booleans(monkeypatch, raw):
    monkeypatch.setenv("P2C_FLAG", raw)
    assert env_bool("P2C_FLAG", True) is False


def test_it_fails_loudly_on_a_bad_boolean(monkeypatch):
    monkeypatch.setenv("P2C_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="P2C_FLAG='maybe' is not a boolean"):
        env_bool("P2C_FLAG")


def test_it_uses_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("P2C_UNSET", raising=False)
    assert env_bool("P2C_UNSET", True) is True
    assert env_int("P2C_UNSET", 7) == 7
    assert env_list("P2C_UNSET", ["a"]) == ["a"]
    assert env_path("P2C_UNSET", Path("/x")) == Path("/x")


def test_it_reads_whole_numbers(monkeypatch):
    monkeypatch.setenv("P2C_NUMBER", "42")
    assert env_int("P2C_NUMBER", 1) == 42


@pytest.mark.parametrize("raw", ["abc", "4.5", "12MB"])
def test_it_fails_loudly_on_a_bad_number(monkeypatch, raw):
    monkeypatch.setenv("P2C_NUMBER", raw)
    with pytest.raises(ImproperlyConfigured, match="is not a whole number"):
        env_int("P2C_NUMBER", 1)


def test_it_fails_loudly_on_a_number_below_its_minimum(monkeypatch):
    monkeypatch.setenv("P2C_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env_int("P2C_NUMBER", 5, minimum=1)


def test_it_splits_lists_on_commas(monkeypatch):
    monkeypatch.setenv("P2C_HOSTS", " a.example , b.example,,")
    assert env_list("P2C_HOSTS", []) == ["a.example", "b.example"]


def test_it_resolves_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("P2C_DIR", str(tmp_path / "x" / ".." / "y"))
    assert env_path("P2C_DIR", Path("/default")) == tmp_path / "y"


def test_it_refuses_to_start_with_a_bad_value(tmp_path):
    result = _settings_in_subprocess(tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_it_runs_embedded_with_nothing_set(tmp_path):
    loaded = _loaded(tmp_path)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"] == str(tmp_path / "db.sqlite3")
    assert loaded["broker"] == "filesystem://"
    assert loaded["results"] == f"file://{tmp_path / 'celery' / 'results'}"
    assert loaded["media"] == str(tmp_path / "media")
    assert loaded["debug"] is False
    for folder in ("queue", "processed", "results"):
        assert (tmp_path / "celery" / folder).is_dir()


def test_it_switches_to_postgresql_and_redis(tmp_path):
    loaded = _loaded(
        tmp_path,
        DATABASE_URL="postgres://p2c:secret@db.internal:5432/p2cwizard",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["name"] == "p2cwizard"
    assert loaded["host"] == "db.internal"
    assert loaded["broker"] == "redis://cache.internal:6379/0"
    assert loaded["results"] == "redis://cache.internal:6379/0"
    assert not (tmp_path / "db.sqlite3").exists()


def test_it_generates_a_secret_key_once_and_reuses_it(tmp_path):
    first = _loaded(tmp_path)["secret_key"]
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _loaded(tmp_path)["secret_key"] == first
    assert _loaded(tmp_path / "other")["secret_key"] != first


def test_it_prefers_the_secret_key_from_the_environment(tmp_path):
    assert _loaded(tmp_path, SECRET_KEY="from-the-environment")["secret_key"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_it_gives_processes_starting_together_the_same_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SERVICES}
    env |= {"DJANGO_SETTINGS_MODULE": "p2cwizard.settings", "P2C_VAR_DIR": str(tmp_path)}
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    processes = [
        subprocess.Popen([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert keys == {(tmp_path / "secret_key").read_text().strip().encode()}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")] == []


def test_it_accepts_a_lower_case_log_level(tmp_path):
    assert _loaded(tmp_path, LOG_LEVEL="warning")


def test_it_takes_a_shared_storage_from_the_environment(tmp_path):
    loaded = _loaded(
        tmp_path,
        P2C_STORAGE_BACKEND="storages.backends.s3.S3Storage",
        P2C_STORAGE_OPTIONS='{"bucket_name": "p2c-media", "endpoint_url": "https://minio.internal:9000"}',
    )
    assert loaded["storage"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "p2c-media", "endpoint_url": "https://minio.internal:9000"},
    }


def test_it_refuses_storage_options_that_are_not_a_json_object(tmp_path):
    result = _settings_in_subprocess(tmp_path, P2C_STORAGE_OPTIONS="bucket=p2c")
    assert result.returncode != 0
    assert "P2C_STORAGE_OPTIONS is not valid JSON" in result.stderr


AZURE = "migration.blob.AzureBlobStorage"


def test_it_keeps_files_in_azure_blob_storage_with_a_connection_string(tmp_path):
    connection = (
        "DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    )
    loaded = _loaded(tmp_path, P2C_STORAGE="azure", AZURE_STORAGE_CONNECTION_STRING=connection)
    assert loaded["storage"] == {
        "BACKEND": AZURE,
        "OPTIONS": {"azure_container": "p2c-files", "connection_string": connection},
    }


def test_it_signs_in_to_blob_storage_with_an_account_key_or_the_managed_identity(tmp_path):
    keyed = _loaded(tmp_path, P2C_STORAGE="azure", AZURE_STORAGE_ACCOUNT="contoso", AZURE_STORAGE_KEY="a2V5",
                    P2C_AZURE_CONTAINER="p2c-prod")  # fmt: skip
    assert keyed["storage"]["OPTIONS"] == {
        "azure_container": "p2c-prod",
        "account_name": "contoso",
        "account_key": "a2V5",
    }
    managed = _loaded(tmp_path, P2C_STORAGE="azure", AZURE_STORAGE_ACCOUNT="contoso")
    assert managed["storage"]["OPTIONS"]["token_credential"] == "DefaultAzureCredential"
    assert "account_key" not in managed["storage"]["OPTIONS"]


def test_it_says_what_blob_storage_is_missing(tmp_path):
    result = _settings_in_subprocess(tmp_path, P2C_STORAGE="azure")
    assert result.returncode != 0
    assert "P2C_STORAGE=azure needs AZURE_STORAGE_CONNECTION_STRING" in result.stderr
    result = _settings_in_subprocess(tmp_path, P2C_STORAGE="blob")
    assert result.returncode != 0
    assert "use filesystem, azure or a storage class path" in result.stderr


def test_it_keeps_files_in_the_folder_storage_by_default(tmp_path):
    assert _loaded(tmp_path)["storage"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
