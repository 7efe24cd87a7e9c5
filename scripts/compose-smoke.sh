#!/usr/bin/env bash
# `make compose-smoke`: proves the container path end to end. Builds the image,
# starts the Compose stack (web, worker, beat, PostgreSQL, Redis), signs in,
# uploads a sample export, runs its job, downloads the output and checks it is
# identical to p2c_transform's; then tears everything down, volumes included.
#
# No container registry is reachable here, so nothing is pulled: the base image
# is made from Debian's packages with debootstrap (Debian's Python 3.11,
# PostgreSQL 15 and Redis), and the project's wheels are built on this machine
# and installed with --no-index. Docker Engine comes from Debian's docker.io;
# a dockerd this script starts, it stops. Container traffic stays on the
# stack's own bridge network; the web port is published on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

base_image=p2c-smoke/debian:bookworm
mirror=${P2C_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=${P2C_VAR_DIR:-$PWD/var}/compose-smoke
compose=(.venv/bin/docker-compose -p p2c-smoke -f docker-compose.yml -f scripts/compose-smoke/compose.override.yml)
started_dockerd=""
mkdir -p "$work"

step() { printf '=== compose-smoke: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  as_root=(false)
fi

apt_install() {
  if [ "${as_root[*]}" = false ]; then
    echo "compose-smoke needs: sudo apt-get install --no-install-recommends $*" >&2
    exit 1
  fi
  step "apt-get install $*"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/dev/null 2>&1 || {
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  }
}

cleanup() {
  local status=$?
  if [ $status -ne 0 ] && docker info >/dev/null 2>&1; then
    "${compose[@]}" logs --tail 40 2>/dev/null || true
  fi
  "${compose[@]}" --profile azurite down --volumes --remove-orphans --timeout 20 >/dev/null 2>&1 || true
  rm -rf .wheels
  if [ -n "$started_dockerd" ]; then
    step "stopping the dockerd it started"
    "${as_root[@]}" kill "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 30); do "${as_root[@]}" kill -0 "$started_dockerd" 2>/dev/null || break; sleep 1; done
  fi
  exit $status
}
trap cleanup EXIT

ensure_docker() {
  docker info >/dev/null 2>&1 && return
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || apt_install docker.io
  step "starting dockerd"
  "${as_root[@]}" dockerd --host=unix:///var/run/docker.sock >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return; sleep 1; done
  echo "dockerd did not start; its log:" >&2
  tail -20 "$work/dockerd.log" >&2
  exit 1
}

ensure_base_image() {
  docker image inspect "$base_image" >/dev/null 2>&1 && return
  command -v debootstrap >/dev/null || apt_install debootstrap
  step "debootstrap bookworm into $base_image (once)"
  local rootfs
  rootfs=$(mktemp -d "$work/rootfs.XXXXXX")
  "${as_root[@]}" debootstrap --variant=minbase \
    --include=python3,python3-pip,python-is-python3,ca-certificates,postgresql-15,redis-server \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
  }
  "${as_root[@]}" tar -C "$rootfs" -c . | docker import \
    -c 'ENV LANG=C.UTF-8' -c 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' - "$base_image" >/dev/null
  "${as_root[@]}" rm -rf "$rootfs"
}

build_image() {
  step "building p2cwizard:latest from wheels built here"
  rm -rf .wheels
  # Debian's Python is 3.11.2: redis needs async-timeout below 3.11.3, which
  # pip on a newer host Python leaves out, so it is added here.
  .venv/bin/pip wheel --quiet --disable-pip-version-check -r requirements.txt "async-timeout>=4.0.3" -w .wheels
  DOCKER_BUILDKIT=0 docker build --rm --force-rm --build-arg "BASE_IMAGE=$base_image" \
    --build-arg "PIP_INSTALL_OPTIONS=--no-index --find-links /tmp/install" -t p2cwizard:latest . \
    >"$work/build.log" 2>&1 || {
    tail -30 "$work/build.log" >&2
    exit 1
  }
}

admin_password() {
  for _ in $(seq 180); do
    password=$("${compose[@]}" logs web 2>/dev/null | sed -n 's/.*password: *\([^ ]*\) *$/\1/p' | tail -n 1)
    [ -n "$password" ] && { echo "$password"; return; }
    sleep 1
  done
  echo "the web service never printed the administrator's password" >&2
  exit 1
}

ensure_docker
ensure_base_image
build_image

export SECRET_KEY
SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
export PORT
PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ALLOWED_HOSTS=127.0.0.1,localhost POSTGRES_PASSWORD=smoke-test-password

run_stack() {
  local services=$1
  step "docker compose up ($services)"
  "${compose[@]}" --profile azurite down --volumes --remove-orphans >/dev/null 2>&1 || true
  # shellcheck disable=SC2086  # the backing services, one word each
  "${compose[@]}" up --detach --no-build --pull never --wait --wait-timeout 240 $services >/dev/null
  "${compose[@]}" up --detach --no-build --pull never >/dev/null
  password=$(admin_password)

  step "sign in, upload, run a job, download, compare with p2c_transform"
  .venv/bin/python scripts/compose_smoke_client.py --url "http://127.0.0.1:$PORT" --user admin \
    --password "$password" --timeout 300
}

run_stack "postgres redis"

# The azurite profile: web and worker keep every file in Blob storage (Azurite), none in the
# media volume they would otherwise share.
export COMPOSE_PROFILES=azurite P2C_STORAGE=azure P2C_SMOKE_NODE
P2C_SMOKE_NODE=$(readlink -f "$(command -v node)")
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;\
AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;\
BlobEndpoint=http://azurite:10000/devstoreaccount1;"
run_stack "postgres redis azurite"
step "azurite profile: files in Blob storage, none in the media volume"
"${compose[@]}" exec -T worker python -c "import pathlib, sys; sys.exit(any(p.is_file() for p in pathlib.Path('/app/media').rglob('*')))" \
  || { echo "the azurite profile left files in the media volume" >&2; exit 1; }
"${compose[@]}" exec -T web python manage.py shell -c "from django.core.files.storage import default_storage as s; import sys; sys.exit(not any(s.listdir('migrations')))" \
  || { echo "the azurite profile kept nothing in Blob storage" >&2; exit 1; }
step "passed"
