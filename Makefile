# Everyday tasks. `make help` lists them.
PY := .venv/bin/python
BIN := .venv/bin

.PHONY: help install lint format typecheck test test-sqlite migrate seed run i18n-extract i18n-missing bench

help:  ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install:  ## Create .venv and install with the dev tools
	python3 -m venv .venv && $(BIN)/pip install -e '.[dev]'

lint:  ## ruff check and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:  ## Format and fix what ruff can
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

typecheck:  ## mypy (strict for the application)
	$(BIN)/mypy bot handlers storage seed

test:  ## The whole suite, SQLite and PostgreSQL (as CI runs it)
	bash .ci/run

test-sqlite:  ## The suite without PostgreSQL
	$(BIN)/pytest -k "not postgres"

migrate:  ## Migrate the database to the latest schema
	$(BIN)/nhacviec db upgrade

seed:  ## Load the bundled Cẩm Thủy notice
	$(BIN)/nhacviec seed load

run:  ## Run the service
	$(BIN)/nhacviec run

i18n-extract:  ## Update the .po catalogs from the source
	$(PY) -m bot.i18n.tool extract

i18n-missing:  ## List strings still lacking Vietnamese
	$(PY) -m bot.i18n.tool missing

bench:  ## Run the benchmarks and print their figures
	@for b in bench/*.py; do case $$b in */__init__.py) ;; *) echo "== $$b"; $(PY) -m bench.$$(basename $$b .py);; esac; done
