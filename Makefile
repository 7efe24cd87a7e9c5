# The two commands of the README: `make run` and `make test`. Both set
# everything up first and are safe to run again.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000

.PHONY: setup run test lint format bench bench-jobs clean

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
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

run: setup
	$(BIN)/python manage.py ensure_admin
	PORT=$(PORT) $(BIN)/python manage.py serve

# Tests keep their database, broker folders and files apart from `make run`'s.
test: P2C_VAR_DIR ?= $(CURDIR)/var/test
test: setup
	$(BIN)/ruff check .
	P2C_VAR_DIR=$(P2C_VAR_DIR) $(BIN)/pytest $(PYTEST_ARGS)

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

clean:
	rm -rf $(VENV) var
