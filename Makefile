# customer_value developer commands. `make test` is what CI runs (.ci/run).
PYTHON ?= $(shell command -v python3 || command -v python)
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.dev-installed
# The demo runs in its own environment holding only what `pip install customer-value`
# gives a user (the newest pandas the package allows); the dev environment (tests, docs,
# benchmarks) resolves to what the test oracles allow, so the two never share a venv.
DEMO   := .venv-demo
DEMO_OK := $(DEMO)/.installed

.PHONY: test demo bench docs lint typecheck clean wheel-check test-pandas3

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

$(DEMO_OK): pyproject.toml
	[ -x $(DEMO)/bin/python ] || $(PYTHON) -m venv $(DEMO)
	$(DEMO)/bin/python -m pip install -q --upgrade pip
	$(DEMO)/bin/python -m pip install -q --upgrade --upgrade-strategy eager -e .
	touch $@

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks examples docs
	$(BIN)/ruff format --check src tests benchmarks examples docs

typecheck: $(DEV)
	$(BIN)/mypy --strict src

PD3 := .venv-pandas3

test: lint typecheck
	CUSTOMER_VALUE_REQUIRE_ENGINES=1 $(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-pandas3
	$(MAKE) --no-print-directory docs

# The whole suite again under pandas 3 (the dev venv resolves to what the oracles allow;
# here the optional oracles and matplotlib are absent, so those tests skip cleanly).
test-pandas3:
	@if $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
	  [ -x $(PD3)/bin/python ] || $(PYTHON) -m venv $(PD3); \
	  $(PD3)/bin/python -m pip install -q --upgrade "pandas>=3" pytest hypothesis -e . && \
	  $(PD3)/bin/python -c 'import pandas; print("pandas", pandas.__version__)' && \
	  $(PD3)/bin/python -m pytest -q -p no:cacheprovider --ignore=tests/test_packaging.py tests src/customer_value/data; \
	else echo "test-pandas3: skipped, pandas 3 needs Python >= 3.11"; fi

demo: $(DEMO_OK)
	@$(DEMO)/bin/python -c 'import pandas; print("demo environment: pandas", pandas.__version__)'
	$(DEMO)/bin/python examples/quickstart.py

bench: $(DEV)
	@set -e; for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

docs: $(DEV)
	rm -rf docs/generated
	$(BIN)/python -m sphinx -E -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: built docs/_build/html/index.html"

wheel-check: $(DEV)
	rm -rf dist && $(BIN)/python -m build -q && $(BIN)/twine check dist/*

clean:
	rm -rf $(VENV) $(PD3) $(DEMO) dist build docs/_build .pytest_cache .mypy_cache .ruff_cache
