# The two commands a newcomer needs: `make demo` and `make test`. Each installs first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# stac-api-validator pins older STAC tools than .venv's: it gets a virtualenv of its own.
VALIDATOR_VENV := .venv-validator
VALIDATOR_STAMP := $(VALIDATOR_VENV)/.installed
SHARED ?= $(abspath ../shared)

export EOTDL_SCHEMA_MIRROR ?= $(if $(wildcard $(SHARED)/stac-schemas),$(SHARED)/stac-schemas,)

.PHONY: install demo test lint bench clean

install: $(STAMP) $(VALIDATOR_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,torch,bench]'
	$(PY) scripts/install_browser.py
	touch $(STAMP)

$(VALIDATOR_STAMP): requirements-validator.txt
	test -x $(VALIDATOR_VENV)/bin/python || $(PYTHON) -m venv $(VALIDATOR_VENV)
	$(VALIDATOR_VENV)/bin/python -m pip install --quiet -r requirements-validator.txt
	touch $(VALIDATOR_STAMP)

demo: install
	$(PY) scripts/demo.py

test: install
	$(VENV)/bin/pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(VALIDATOR_VENV) demo-lab bench/_work .pytest_cache .mypy_cache .ruff_cache
