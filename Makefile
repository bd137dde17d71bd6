# Two set-up commands: `make run` (demo on SQLite, tasks in-process) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Development defaults; the environment (or a .env file) overrides them.
export DEBUG ?= true

.PHONY: run test lint bench load install migrate seed messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# Against PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, else SQLite and in-process tasks.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The settlement benchmark (settlement against PostgreSQL's own one-row-per-sharer insert, same run), then the
# API benchmark (bulk enrolment, member reads under gunicorn); e.g. BENCH_ARGS="--quick" or "--api-only".
bench: install
	@if [ -d benchmarks ]; then \
		$(BIN)/python -m benchmarks $(BENCH_ARGS); \
	else \
		echo "No benchmarks yet: the settlement benchmark arrives with the settlement."; \
	fi

# The load scenario: members browsing and partners enrolling and reading, against gunicorn and PostgreSQL,
# for 5 minutes; e.g. LOAD_ARGS="--duration 60s" for a shorter run (`python -m benchmarks.load --help`).
load: install
	$(BIN)/python -m benchmarks.load $(LOAD_ARGS)

# Compiles the translations (needs gettext's msgfmt); does nothing while there are none.
messages: install
	@if [ -n "$$(find . -path ./$(VENV) -prune -o -name '*.po' -print -quit)" ]; then \
		$(BIN)/python manage.py compilemessages --ignore=$(VENV); \
	else \
		echo "No translations (.po files) to compile."; \
	fi

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
