# Every target sets up .venv on first use (pinned requirements + this package, editable).
.PHONY: install demo test slow_test quality style bench clean

VENV ?= .venv
PYTHON := $(VENV)/bin/python
SOURCES := src recipes tests benchmarks scripts

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	$(PYTHON) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

demo: install
	PATH="$(abspath $(VENV))/bin:$$PATH" bash scripts/demo.sh

test: install
	$(PYTHON) -m pytest -q

slow_test: install
	$(PYTHON) -m pytest -q -m slow

quality: install
	$(PYTHON) -m ruff check $(SOURCES)
	$(PYTHON) -m ruff format --check $(SOURCES)

style: install
	$(PYTHON) -m ruff check --fix $(SOURCES)
	$(PYTHON) -m ruff format $(SOURCES)

bench: install
	PATH="$(abspath $(VENV))/bin:$$PATH" bash benchmarks/run_all.sh

clean:
	rm -rf runs/demo .pytest_cache .ruff_cache
