# Two commands do all set-up on a fresh machine (see README):
#   make main   - create .venv, install HDX, run the main job on real CIFAR-10 (fetched on first use)
#   make test   - create .venv, install HDX with its test tools, run the test suite
#   make data   - only fetch CIFAR-10 (into $HDX_DATA if set, else ~/.cache/hdx)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CIFAR-10 beside the repository (../shared/data) is used when it is there; otherwise HDX finds it in
# $HDX_DATA or the user cache, or downloads it once (hdx data fetch cifar10)
SHARED_DATA := $(abspath ../shared/data/cifar-10-batches-py)
ifneq ($(wildcard $(SHARED_DATA)/data_batch_1),)
HDX_DATA ?= $(SHARED_DATA)
export HDX_DATA
endif

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,zigzag,export,ray]'
	touch $@

.PHONY: install main test lint bench data
install: $(VENV)/.installed

data: install
	$(BIN)/hdx data fetch cifar10

main: install
	$(BIN)/hdx search

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks
