# The two Quick-start commands: `make demo` (the main job: `keel demo`) and `make test` (what CI runs).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo tour test test-extras lint bench clean

$(BIN)/keel: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,llm,web,postgres]'
	touch $@

demo: $(BIN)/keel  ## three loops side by side; writes keel-demo/report.html
	$(BIN)/keel demo

tour: $(BIN)/keel  ## the ledger tour: ingest, lineage, checkpoint, receipt, erasure, tamper
	KEEL=$(BIN)/keel bash docs/tour.sh

lint: $(BIN)/keel
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

# The tests of the optional extras (torch 2.13.0's CPU build; sentence embeddings).
test-extras: $(BIN)/keel
	$(BIN)/python -m pip install -q torch==2.13.0 -e '.[dev,llm,web,postgres,embed,lm,hf,evals,rl,scale,solana,validators]'
	$(BIN)/mypy src  # again, now with torch's types
	KEEL_REQUIRE_EXTRAS=1 $(BIN)/pytest -q -m extra

bench: $(BIN)/keel
	$(BIN)/python benchmarks/bench_ledger.py

clean:
	rm -rf $(VENV) tour keel-demo .pytest_cache .mypy_cache .ruff_cache .hypothesis
