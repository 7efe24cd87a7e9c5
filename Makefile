# The two commands of the README: `make run` and `make test`. Both set
# everything up first and are safe to run again. Every setting (P2C_VAR_DIR,
# DATABASE_URL, REDIS_URL, PORT, ...) is read from the environment or from
# make's command line, for every target.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000
export PORT

# Tests keep their database, broker folders and files apart from `make run`'s,
# unless P2C_VAR_DIR is given: then every target, tests included, uses it.
ifeq ($(origin P2C_VAR_DIR),undefined)
test test-fast screenshots: export P2C_VAR_DIR := $(CURDIR)/var/test
endif

# The OpenID provider the Sign in with Microsoft and the connection tests run (node-oidc-provider, from the npm
# registry, at the versions of tests/oidc_provider/package-lock.json).
OIDC_PROVIDER := tests/oidc_provider/node_modules/.package-lock.json
# Azurite, Microsoft's Azure Storage emulator, for the Blob storage tests (tests/azurite: 3.35.0, the
# last release that runs on Node 20).
AZURITE := tests/azurite/node_modules/.package-lock.json

.PHONY: setup run test test-fast system-packages oidc-provider azurite lint format bench bench-jobs bench-scale bench-stack bench-storage compose-smoke screenshots clean

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "make: needs Python 3.11 or newer, found '$(PYTHON)'." >&2; \
	  echo "      Install python3.11 or run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "make: could not create $(VENV); on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED)

setup: $(INSTALLED)
	@# Bytecode ahead, as for an installed package: every command and worker starts without
	@# compiling the app (PYTHONDONTWRITEBYTECODE stops Python from caching it itself).
	$(BIN)/python -m compileall -q migration p2cwizard
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

run: setup
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py serve

# Chromium (browser tests) and redis-server (broker tests) from Debian.
system-packages:
	@bash scripts/system-packages.sh

$(OIDC_PROVIDER): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	npm ci --prefix tests/oidc_provider --no-audit --no-fund --loglevel=error
	touch $@

oidc-provider: $(OIDC_PROVIDER)

$(AZURITE): tests/azurite/package.json tests/azurite/package-lock.json
	npm ci --prefix tests/azurite --no-audit --no-fund --loglevel=error
	touch $@

azurite: $(AZURITE)

test: system-packages setup $(OIDC_PROVIDER) $(AZURITE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

# The inner loop: no browser, no real worker process, no fresh virtualenv.
test-fast: setup $(OIDC_PROVIDER) $(AZURITE)
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not browser and not worker and not slow" -q $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/transform.py

bench-jobs: setup
	$(BIN)/python bench/jobs.py

# Issue 11's targets in one run, each beside its reference (about 15 minutes; needs PostgreSQL
# and Redis as .ci/run starts them for jobs and the PostgreSQL rounds).
bench-scale: setup
	$(BIN)/python bench/scale.py

# Why the hot path uses pyarrow, calamine and XlsxWriter rather than pandas and openpyxl.
bench-stack: setup
	$(BIN)/python bench/stack.py

# Issue 26: a 400 MB upload and a 1,000,000-row job on Blob storage (Azurite) against the folder storage.
bench-storage: setup $(AZURITE)
	$(BIN)/python bench/storage.py

# The README's screenshots of steps 8 and 9 at 1366 and 390 px (docs/), drawn by the layout browser
# tests from their demo migration (tests/browser/demo.py: six tables through step 8).
screenshots: system-packages setup
	P2C_SCREENSHOTS=$(CURDIR)/docs $(BIN)/pytest -q -p no:cacheprovider tests/browser/test_layout_browser.py \
	  -k "step_8_with_six_tables or step_9_leads"

# Builds the image, starts the Compose stack, runs a job through it, tears it down.
compose-smoke: $(INSTALLED) $(AZURITE)
	bash scripts/compose-smoke.sh

clean:
	rm -rf $(VENV) var
