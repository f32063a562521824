# The two set-up commands of the README:
#   make lab    JupyterLab on the notebooks (demo root when SESSIONKIT_ROOT is unset)
#   make test   lint, type-check, the whole test suite with coverage (the notebooks too),
#               and the browser tests (installs Debian's chromium when it is missing)
# Both create .venv and install what they need on first use. While you work,
#   make check  lint, type-check and the tests not marked slow: under a minute

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The browser tests drive Debian's chromium (Playwright cannot download browsers here).
CHROMIUM ?= /usr/bin/chromium

.PHONY: lab test check lint typecheck pytest e2e clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebook,app,test]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/sessionkit lab

lint: $(STAMP)
	$(BIN)/ruff check sessionkit tests tests_e2e
	$(BIN)/ruff format --check sessionkit tests tests_e2e

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests run in their own pytest process: Playwright's sync API leaves an
# asyncio loop marked running, which must not leak into the widget tests.
pytest: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest --cov=sessionkit --cov-report=term tests
	SESSIONKIT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -p no:cov tests_e2e

e2e: $(STAMP) $(CHROMIUM)
	SESSIONKIT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -p no:cov tests_e2e

# Installed from Debian when missing, as root (CI) or through sudo. A machine where
# neither works fails here: the browser tests never skip for want of a browser.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "no $@ and not root: install chromium (apt-get install chromium chromium-driver)" >&2; exit 1; fi; \
	set -x; $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
	@test -x $@ || { echo "chromium was installed but $@ is still missing" >&2; exit 1; }

test: lint typecheck pytest

# The fast loop while you work (docs/development.md): lint, types, and the unit tests
# not marked slow (no fuzzing, killed processes, notebooks or browser), no coverage,
# one pytest worker per core (pytest-xdist).
check: lint typecheck
	$(BIN)/pytest -p no:cov -q -m "not slow" -n auto tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov demo-root tests_e2e/artifacts

# Every target of docs/development.md (Benchmarks) against its reference from the same run; demo
# roots are reused from $SESSIONKIT_BENCH_DIR (default /var/tmp/sessionkit-bench).
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
