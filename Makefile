# The two Quick-start commands: `make demo` (the main job) and `make test` (what CI runs).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/keel: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(BIN)/keel  ## the ledger tour: ingest, lineage, checkpoint, receipt, erasure, tamper
	KEEL=$(BIN)/keel bash docs/tour.sh

lint: $(BIN)/keel
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

test: lint
	$(BIN)/pytest -q

bench: $(BIN)/keel
	$(BIN)/python benchmarks/bench_ledger.py

clean:
	rm -rf $(VENV) tour .pytest_cache .mypy_cache .ruff_cache .hypothesis
