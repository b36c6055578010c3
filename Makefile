# The two commands of the README: `make demo` and `make test`. Both install first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint up down clean plugin-zip

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The end-to-end demo: sandboxes, the stack, a full sync, webhooks, a summary.
## `make demo ARGS=--keep` leaves the stack and dashboard up until Ctrl-C.
## Run as a module from the checkout, like the stack's own processes (`python -m`).
demo: install
	$(PY) -m demo $(ARGS)

## Run the stack on embedded PostgreSQL and Redis (until Ctrl-C).
up: install
	$(VENV)/bin/stocksync up $(ARGS)

## Lint, type-check, then the whole test suite on real PostgreSQL and Redis, reporting
## the line coverage of the plugin endpoint's modules (at least 90 %, or it fails).
ENDPOINT_MODULES := api.unified api.unified_schema api.unified_doc sync.unified sync.plugin_orders
COVERAGE := $(foreach m,$(ENDPOINT_MODULES),--cov=$(m)) --cov-report=term-missing --cov-fail-under=90
test: install lint
	$(PY) -m pytest $(COVERAGE) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

## The WooCommerce plugin as WordPress uploads it (Plugins > Add New > Upload).
PLUGIN := plugins/stocksync-woocommerce
plugin-zip:
	$(PYTHON) plugins/package.py $(PLUGIN) dist/stocksync-woocommerce.zip

down: install
	$(VENV)/bin/stocksync down

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
