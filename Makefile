# VitalWatch: the commands a new machine needs. `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
SDC ?= 0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test check fast lint typecheck unit serve bench clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## Run the service with simulated patients; prints the dashboard URL and a login.
## `make demo SDC=2`: rooms 1-2 have IEEE 11073 SDC monitors on lo.
demo: $(STAMP)
	$(BIN)/vitalwatch demo --sdc $(SDC)

## Every check: lint, types, then the whole test suite.
test: lint typecheck unit

## The fast loop (under 2 min): lint, types, contracts and the tests that start
## no server, browser or other process (the rest skip, naming what they start).
check: lint typecheck fast

fast: $(STAMP)
	@start=$$(date +%s); \
	VITALWATCH_TEST_NO_SERVERS=1 $(BIN)/pytest -q -n 2 -m "not servers" -p no:cacheprovider -o addopts="--import-mode=importlib" -rfE; \
	status=$$?; echo "make check: tests took $$(( $$(date +%s) - start )) s"; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src simulators tests bench tools alembic .ci
	$(BIN)/ruff format --check src simulators tests bench tools alembic .ci
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/import_graph.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

## Test workers: two on the 2-vCPU machine. The suite is CPU-bound; four
## were barely faster (18 min against 20) and timing-sensitive tests failed
## under the contention (WORKERS=1 for a serial run).
WORKERS ?= 2

unit: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 src simulators tests >/dev/null
	@start=$$(date +%s); \
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile --durations=25; \
	status=$$?; echo "make test: tests took $$(( $$(date +%s) - start )) s"; exit $$status

serve: $(STAMP)
	$(BIN)/vitalwatch serve

## Benchmarks (on demand; they print tables, see docs/performance.md).
bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/alarm_latency.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/mllp.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-data
