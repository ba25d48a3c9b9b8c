# Two entry points (see README): `make serve` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: serve test build chromium clean lock

# Installs pin every package to constraints.txt; `make lock` refreshes it from pyproject.toml's ranges.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip && .venv-lock/bin/python -m pip install -q -e '.[test]'
	{ echo "# Exact versions \`make\` installs (pip -c): reproducible CI and sites. Refresh: \`make lock\` (README)."; \
	  .venv-lock/bin/pip freeze --exclude-editable | grep -v '^#'; } > constraints.txt
	rm -rf .venv-lock

serve: $(BIN)/.installed
	$(BIN)/mkdocs serve -a 127.0.0.1:8000

build: $(BIN)/.installed
	$(BIN)/mkdocs build --strict

# Browser tests drive Debian's chromium (with CJK fonts, so screenshots show the Chinese UI);
# install them when missing and we are root.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; } || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian chromium and CJK fonts for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium or CJK fonts missing and not root: browser tests may skip"; fi; }

# Two workers (pytest-xdist), each test file in one of them (its browser and builds shared): on two
# cores the suite took 490–637 s (the machine's load) against 815 s in one process; three workers
# were no quicker and oversubscribe the cores: builds fork their own helpers as well.
test: $(BIN)/.installed-test chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n auto --maxprocesses 2 --dist loadfile

clean:
	rm -rf site .pytest_cache
