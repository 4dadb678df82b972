# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make demo   — creates .venv, installs motcua, runs the demo on the embedded default (SQLite, in-process)
#   make test   — creates .venv, installs motcua with its dev tools, runs ruff, mypy and the test suite (all of it but
#                 the long reliability scenarios: `make test-long`, which CI runs too)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-long lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "motcua needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed: on Debian/Ubuntu run 'apt-get install python3-venv' first"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/motcua demo

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict tests/typing/usage.py

# The suite spends most of its time waiting (PostgreSQL commits and databases made per test, subprocesses, servers),
# so it runs in TEST_WORKERS processes, more than the cores (0: in this one process). The reliability scenarios
# (timing: leases, kills, restarts) are left to `make test-long`.
# Bytecode is cached under .venv even where PYTHONDONTWRITEBYTECODE is set: the suite starts hundreds of `motcua`
# processes, and each would otherwise compile motcua again (a third of their time).
TEST_WORKERS ?= 4
TEST_ENV := env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache

pytest: $(STAMP)
	$(TEST_ENV) $(BIN)/pytest -n $(TEST_WORKERS) -m "not reliability"

# The long scenarios (marker `reliability`: worker processes killed, Redis and the database cut, 20,000 timers due at
# once), alone and one after another, as their timing needs; CI runs them after `make test`.
test-long: $(STAMP)
	$(TEST_ENV) $(BIN)/pytest -m reliability

bench: $(STAMP)
	$(BIN)/python -m bench.calendar
	$(BIN)/python -m bench.engine
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.timers
	$(BIN)/python -m bench.demo
	$(BIN)/python -m bench.province

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
