# customer_value developer commands. `make test` is what CI runs (.ci/run).
PYTHON ?= $(shell command -v python3 || command -v python)
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.dev-installed
BASE   := $(VENV)/.base-installed

.PHONY: test demo bench docs lint typecheck clean wheel-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(BASE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(BASE)

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks examples docs
	$(BIN)/ruff format --check src tests benchmarks examples docs

typecheck: $(DEV)
	$(BIN)/mypy --strict src

test: lint typecheck
	$(BIN)/python -m pytest

demo: $(BASE)
	$(BIN)/python examples/quickstart.py

bench: $(DEV)
	@set -e; for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

docs: $(DEV)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

wheel-check: $(DEV)
	rm -rf dist && $(BIN)/python -m build -q && $(BIN)/twine check dist/*

clean:
	rm -rf $(VENV) dist build docs/_build .pytest_cache .mypy_cache .ruff_cache
