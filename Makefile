# Two entry points for a fresh clone (Python >= 3.11, pip, gcc):
#   make run   - create .venv, install, launch the app on the embedded synthetic feed
#   make test  - create .venv, install, check layer contracts, run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=

.PHONY: install run test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/slipscope $(ARGS)

test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/slipscope bench $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis "$${XDG_CACHE_HOME:-$$HOME/.cache}/slipscope/numba"
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
