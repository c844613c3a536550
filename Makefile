# Quick start: `make demo` runs the main job on the embedded local server, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARUN := $(BIN)/arun

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# The example project, on the embedded local server (state in .arun/local.db), explicitly: an
# OPENAI_API_KEY or OPENAI_BASE_URL in the environment must not send the demo elsewhere.
demo: $(VENV)/.installed-run
	$(ARUN) validate
	$(ARUN) apply --yes --local
	$(ARUN) replay --local --compare transcripts/

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check runner tests scripts bench
	$(BIN)/ruff format --check runner tests scripts bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy runner

unit: $(VENV)/.installed-dev
	rm -f .coverage .coverage.*
	$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage combine -q
	$(BIN)/coverage report --fail-under=90

test: lint typecheck unit

clean:
	rm -rf $(VENV) .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
