# Everything creates .venv and installs what it needs when it is missing: `make demo` the
# package alone (BASE), every other target the development set too (STAMP); one venv grows.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
BASE   := $(VENV)/.installed-base
STAMP  := $(VENV)/.installed

.PHONY: demo test lint unit notebooks bench lab postgres clean

$(BASE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(BASE)

$(STAMP): $(BASE)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: run the main job (workflows on the embedded SQLite default)
demo: $(BASE)
	$(BIN)/descartes-nb demo

## test: every test: lint and types, unit, property and doctests with coverage, notebooks
# Every stage runs even when an earlier one failed (a failing browser test in unit must not
# keep the notebooks from being checked); the target fails at the end, naming the stages.
STAGES := lint unit notebooks
test: $(STAMP)
	@failed=; \
	for stage in $(STAGES); do \
		$(MAKE) --no-print-directory $$stage || failed="$$failed $$stage"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: failed:$$failed" >&2; exit 1; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/coverage run -m pytest -p no:cacheprovider
	$(BIN)/coverage report

# every notebook re-run in a fresh kernel of this venv and compared with its committed outputs
notebooks: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks/

## lab: JupyterLab on notebooks/, with this venv's kernel
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

## postgres: a throwaway PostgreSQL server in the foreground: prints its URL; Ctrl-C removes it
postgres: $(STAMP)
	$(BIN)/python -m tests.pgserver

## bench: every benchmark of bench/ (figures also in bench/README.md)
bench: $(STAMP)
	for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## clean: remove the venv, caches, and what the commands write (workflows.db, test-artifacts/)
clean:
	rm -rf $(VENV) .coverage .coverage.* htmlcov .pytest_cache .mypy_cache .ruff_cache \
		.hypothesis test-artifacts workflows.db workflows.db-wal workflows.db-shm
	find descartes_nb tests bench notebooks \( -name __pycache__ -o -name .ipynb_checkpoints \) \
		-type d -prune -exec rm -rf {} +
