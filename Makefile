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

bench: setup  ## every figure of the README's Performance section (takes hours: the catalogue)
	@scripts/setup.sh wrk
	$(BIN)/python benchmarks/order_path.py
	$(BIN)/python benchmarks/failover_rto.py
	$(BIN)/python benchmarks/chaos_abort_latency.py
	$(BIN)/python benchmarks/load_generator_rps.py
	$(BIN)/python benchmarks/load_users_per_worker.py
	$(BIN)/python benchmarks/chaos_catalogue.py

clean:
	-$(BIN)/controlplane cluster down --purge 2>/dev/null
	-$(BIN)/controlplane cluster down --purge --state-dir .state/demo 2>/dev/null
	rm -rf .pytest_cache .ruff_cache
