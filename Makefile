# One task runner: `make run` starts the bot, `make test` runs every test.
# Both create the virtual environment and install the project on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RUN_ARGS ?=

.PHONY: run test lint bench install clean postgres

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/qcbot chat $(RUN_ARGS)

test: $(STAMP) postgres
	$(PY) -m pytest

# The storage tests start a throwaway PostgreSQL server (tests/pg.py): install it when missing
# (as root with apt); elsewhere say so — the PostgreSQL tests skip, and fail when CI=true.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing the PostgreSQL server for the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "no PostgreSQL server (initdb, pg_ctl): install the postgresql package to run its tests"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check bot knowledge scoring handlers tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
