# aisec: two commands do all set-up. `make demo` runs the built-in assessment; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first: the pinned CPU build, so that the range in pyproject installs nothing more.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[dev,mnist]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/aisec demo --out aisec-report

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

# Peers for the benchmarks (torchattacks must come without its dependencies).
bench: $(STAMP)
	$(PIP) install --quiet -e ".[bench]"
	$(PIP) install --quiet --no-deps "torchattacks==3.5.1"
	$(PY) benchmarks/evasion_vs_peers.py
	$(PY) benchmarks/scan_vs_peers.py

clean:
	rm -rf $(VENV) aisec-report .aisec .pytest_cache .ruff_cache
