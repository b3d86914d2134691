# Two commands do all set-up on a fresh machine (see README):
#   make main   - create .venv, install HDX, run the main job on real CIFAR-10
#   make test   - create .venv, install HDX with its test tools, run the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HDX_DATA ?= $(abspath ../shared/data/cifar-10-batches-py)
export HDX_DATA

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,zigzag,export,ray]'
	touch $@

.PHONY: install main test lint bench
install: $(VENV)/.installed

main: install
	$(BIN)/hdx search

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks
