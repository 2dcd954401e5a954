# Two commands on a fresh machine (Python 3.11+ and make): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[test]"
	touch $@

## Run tocsin on embedded SQLite (./data) with demo data, at http://127.0.0.1:8080
run: $(VENV)/.installed
	$(BIN)/tocsin db upgrade
	$(BIN)/tocsin demo
	$(BIN)/tocsin serve

## Static checks: ruff, the import contract (layers, no cycles, pure cores; pyproject.toml), lazy imports
## explained, and the type checker
lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check-lazy-imports.py src/tocsin
	$(BIN)/mypy

# pytest-xdist: one worker per core (each has its own PostgreSQL database and SQLite template);
# loadgroup keeps an xdist_group (the browser tests and their servers) on one worker. docs/testing.md
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist loadgroup
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): otherwise every
# pytest process (the controller and each xdist worker) compiles tocsin's sources and re-writes the
# asserts of every test module again, ~1.8 s of CPU each. __pycache__ is in .gitignore.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

## The static checks, then the whole test suite on SQLite and PostgreSQL (which tests run on which:
## docs/testing.md)
test: lint $(VENV)/.installed-test
	scripts/test-deps.sh
	$(PYTEST) $(XDIST) --durations=25 $(PYTEST_ARGS)

## The suite without slow tests (subprocesses, browsers, fuzzing, every-route walks), SQLite only (for quick local loops)
# (test_schemathesis.py is all slow tests, and merely collecting it costs each worker ~15 s)
test-fast: $(VENV)/.installed-test
	TOCSIN_TEST_BACKENDS=sqlite $(PYTEST) $(XDIST) -m "not slow" --durations=10 \
		--ignore=tests/api/test_schemathesis.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .hypothesis
