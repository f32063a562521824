# The two set-up commands of the README:
#   make lab    JupyterLab on the notebooks (demo root when SESSIONKIT_ROOT is unset)
#   make test   lint, type-check and the whole test suite with coverage
# Both create .venv and install what they need on first use.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebook,test]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/sessionkit lab

lint: $(STAMP)
	$(BIN)/ruff check sessionkit tests
	$(BIN)/ruff format --check sessionkit tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov=sessionkit --cov-report=term

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov demo-root
