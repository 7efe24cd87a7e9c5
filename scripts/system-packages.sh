#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing:
# Chromium for the browser tests, redis-server for the tests that restart
# their own Redis, Node.js and npm for the test OpenID provider (Sign in with
# Microsoft), and (with --ci) PostgreSQL for CI's services run.
# `make test` and `.ci/run` both call it. apt-get runs as root, or through
# sudo when it asks no password; otherwise the script stops at once with the
# one command to run, rather than letting the suite fail test by test.
set -euo pipefail

chromium=${P2C_CHROMIUM:-/usr/bin/chromium}
wanted=()
[ -x "$chromium" ] || wanted+=(chromium)
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || wanted+=(redis-server)
command -v node >/dev/null || wanted+=(nodejs)
command -v npm >/dev/null || wanted+=(npm)
if [ "${1:-}" = --ci ]; then
  command -v pg_ctlcluster >/dev/null && command -v psql >/dev/null || wanted+=(postgresql)
  command -v make >/dev/null || wanted+=(make)
  if ! command -v python3.11 >/dev/null && ! python3 -c 'import ensurepip' 2>/dev/null; then
    wanted+=(python3-venv)
  fi
fi
[ ${#wanted[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "The tests need Debian packages that are missing: ${wanted[*]}." >&2
  echo "Install them with:  sudo apt-get install --no-install-recommends ${wanted[*]}" >&2
  echo "then run the same make command again." >&2
  exit 1
fi

echo "Installing Debian packages the tests need: ${wanted[*]}"
export DEBIAN_FRONTEND=noninteractive
# Install from the cached lists first; update them only when that fails.
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null 2>&1 || {
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${wanted[@]}"
}
if [ ! -x "$chromium" ] && [[ " ${wanted[*]} " == *" chromium "* ]]; then
  echo "Chromium was installed but $chromium is missing: set P2C_CHROMIUM to its path." >&2
  exit 1
fi
