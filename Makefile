# Two entry points (see README): `make serve` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: serve test build chromium clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

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

test: $(BIN)/.installed-test chromium
	$(BIN)/pytest

clean:
	rm -rf site .pytest_cache
