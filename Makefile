# Sigwise: `make run` serves the app, `make test` runs the whole suite.
# Both need only Python 3.11+ and make: everything else installs into .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
# axe-core for the browser tests' accessibility checks, from tests/browser/package-lock.json.
AXE_STAMP := tests/browser/node_modules/.installed

.PHONY: help install install-dev migrate run test lint format check bench bench-quick image-check lock upgrade audit db-stop clean

help:
	@echo "make run          install, migrate, serve web + scheduler on http://$${HOST:-127.0.0.1}:$${PORT:-8000}"
	@echo "make test         install test tools and run the whole suite"
	@echo "make image-check  build the image and run docker-compose.yml with podman (minutes; docs/deployment.md)"
	@echo "make lint         ruff check and format check"
	@echo "make bench        full benchmark (minutes); make bench-quick for a tenth of the size"
	@echo "make lock         rewrite the lock files after editing requirements*.in (docs/development.md)"
	@echo "make upgrade      take the newest versions the .in files allow, then run the tests"
	@echo "make audit        check the lock files for known vulnerabilities"

# Everything installs from the lock files, each package at its pinned version and checked
# against its hashes; pip itself is pinned in requirements.txt, so the venv's own pip only
# runs that first install.
PIP_INSTALL := $(PY) -m pip install --quiet --require-hashes

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Sigwise needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PIP_INSTALL) -r requirements-dev.txt
	@touch $@

$(BENCH_STAMP): requirements-bench.txt $(RUNTIME_STAMP)
	$(PIP_INSTALL) -r requirements-bench.txt
	@touch $@

$(AXE_STAMP): tests/browser/package-lock.json
	npm ci --prefix tests/browser --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

migrate: $(RUNTIME_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

run: migrate
	$(PY) bin/run

test: $(DEV_STAMP) $(AXE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Not part of `make test`: starts its own PostgreSQL database, gunicorn and scheduler (docs/benchmarks.md).
bench: $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(PY) -m bench --quick $(BENCH_ARGS)

# Not part of `make test`: builds the image and runs the compose file with podman, as root
# (docs/deployment.md, "The image check"). CI runs it after the tests.
image-check:
	deploy/check-image

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# uv comes from the dev lock; an edited .in file needs only the old locks installed.
lock: $(DEV_STAMP)
	$(PY) bin/lock write

# `make upgrade PACKAGES="django redis"` upgrades only those (and what they need).
upgrade: $(DEV_STAMP)
	$(PY) bin/lock write --upgrade $(PACKAGES)
	$(MAKE) test

audit: $(DEV_STAMP)
	$(PY) bin/audit-dependencies

# Stop the embedded PostgreSQL (used when DATABASE_URL is unset); its data stays in
# SIGWISE_DATA_DIR (default .data/), the folder the settings read.
db-stop: $(RUNTIME_STAMP)
	@$(PY) -c 'import os; from pathlib import Path; from sigwise.embedded_db import stop_embedded_database as stop; print("Embedded PostgreSQL stopped." if stop(Path(os.environ.get("SIGWISE_DATA_DIR") or ".data")) else "Embedded PostgreSQL was not running.")'

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
