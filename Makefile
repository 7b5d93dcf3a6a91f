# eldercare — one target per habit. `make help` lists them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# pytest-xdist workers: each gets its own SQLite file or PostgreSQL database and its own
# test servers. Two halve the suite's time on a two-core machine; 0 runs in one process.
TEST_WORKERS ?= 2
export ELDERCARE_INSTANCE ?= $(CURDIR)/instance

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite test-postgres lint fmt bench migrate translations i18n clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/eldercare: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (set PYTHON=python3.x)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/eldercare translations ## virtual environment with the app and its tools

translations: $(BIN)/eldercare ## compile the English catalogue (Chinese is the source language)
	@$(BIN)/pybabel compile -d eldercare/translations >/dev/null

i18n: $(BIN)/eldercare ## extract the Chinese strings and update the English catalogue
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o eldercare/translations/messages.pot .
	$(BIN)/pybabel update -i eldercare/translations/messages.pot -d eldercare/translations -l en

run: install ## set up (venv, database, demo data) and serve on http://127.0.0.1:5000
	$(BIN)/eldercare init-db
	@if [ ! -f "$(ELDERCARE_INSTANCE)/demo-loaded" ]; then \
	  $(BIN)/eldercare demo | tee "$(ELDERCARE_INSTANCE)/demo-logins.txt" && touch "$(ELDERCARE_INSTANCE)/demo-loaded"; \
	else cat "$(ELDERCARE_INSTANCE)/demo-logins.txt"; fi
	@echo "serving on http://127.0.0.1:$(PORT)"
	$(BIN)/eldercare serve --host 127.0.0.1 --port $(PORT) --workers 2 --scheduler

test: install lint ## the whole suite: SQLite, and PostgreSQL too where TEST_DATABASE_URL is set
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "(PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql+psycopg://... to run it)"; fi

test-sqlite: install
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

test-postgres: install
	@case "$$TEST_DATABASE_URL" in postgresql*) ;; *) echo "TEST_DATABASE_URL is not PostgreSQL"; exit 1;; esac
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) -m "not browser"

CODE := eldercare dynamic facilities homecare intake tests bench tools

lint: install ## ruff (checks and formatting), sizes (files ≤ 400 lines, functions ≤ 60), mypy, the import contracts (features sit on the core, never the reverse), bandit
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/python tools/sizes.py
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r eldercare dynamic facilities homecare intake

fmt: install ## format the code
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

bench: install ## benchmarks at demo scale 1 and 10; writes bench/README.md
	$(BIN)/python bench/run.py

migrate: install ## bring the database to the newest schema
	$(BIN)/eldercare init-db

clean: ## remove the virtual environment and the local instance
	rm -rf $(VENV) instance
