# The two commands of the README, plus what they are made of.
#   make sim    set up everything, then run the lobby simulation (the main job)
#   make test   set up everything, then run the linters and the test suite
# Set-up is idempotent and skips what is done (scripts/setup.sh).

VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup sim test lint bench clean

setup:
	@bash scripts/setup.sh

sim: setup
	$(BIN)/service-desk-robot sim --fast --report reports/sim

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup
	$(BIN)/service-desk-robot bench

clean:
	rm -rf $(VENV) reports .pytest_cache
