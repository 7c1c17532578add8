# The two commands a new user needs: `make demo` and `make test`. Both set up what is missing.
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast lint bench clean

setup:
	@scripts/setup.sh

demo: setup
	$(BIN)/controlplane demo

test: setup
	$(BIN)/ruff check controlplane testbed tests benchmarks
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: setup  ## everything except the slow end-to-end tests
	$(BIN)/pytest -m "not e2e" $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check controlplane testbed tests benchmarks

bench: setup
	@scripts/setup.sh wrk
	$(BIN)/python benchmarks/order_path.py
	$(BIN)/python benchmarks/failover_rto.py

clean:
	-$(BIN)/controlplane cluster down --purge 2>/dev/null
	-$(BIN)/controlplane cluster down --purge --state-dir .state/demo 2>/dev/null
	rm -rf .pytest_cache .ruff_cache
