# Two commands do all the set-up (see README):
#   make demo   install into .venv, then teach the Hopper to hop from 700 synthetic preferences (4-8 min)
#   make test   install into .venv (with test tools and a headless Chromium), then lint, type-check and run the tests

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch first, pinned to the CPU build: a bare `torch` requirement would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
DEMO_ARGS ?= --env prefrl/Hopper-v1 --labels 700 --steps 1000000 --seed 0

.PHONY: install demo test test-all lint browser clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/prefrl train $(DEMO_ARGS)

# Debian's Chromium for the labeling page's browser tests (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "chromium not found: browser tests will be skipped (install Debian's chromium to run them)"; fi; }

# What CI runs (.ci/run): lint, formatting, types, then the tests (the layer rules are tests/test_layers.py).
test: install browser lint
	$(BIN)/python -m pytest

# Also the slow learning tests (minutes).
test-all: install browser
	$(BIN)/python -m pytest -m ""

lint: install
	$(BIN)/python -m ruff check prefrl envs scripts tests
	$(BIN)/python -m ruff format --check prefrl envs scripts tests
	$(BIN)/python -m mypy
	$(BIN)/python -m mypy envs  # envs/ installs as prefrl.envs: checked on its own

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
