# drunlearn: the two commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The CPU build of torch is what this file installs first; on a GPU machine run `make demo TORCH=torch`
# (PyPI's Linux wheel of torch is the CUDA build) or install your CUDA build into $(VENV) beforehand.
TORCH ?= torch==2.13.0
EXTRAS ?= dev,widgets,data,cluster
# Options of the drunlearn command for `make demo`, e.g. ARGS="--quick" or ARGS="--seeds 3 --out my-report".
ARGS ?=
# Extra notebook flags to run, e.g. `make test FLAGS=slow` also runs the cells flagged `#| slow`.
FLAGS ?=
JOBS ?= 2

.PHONY: setup demo test docs clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/drunlearn $(ARGS)

test: setup
	DRUNLEARN_TEST_FLAGS="$(FLAGS)" JOBS=$(JOBS) BIN=$(BIN) bash scripts/test.sh

docs: setup
	@command -v quarto >/dev/null || { echo "make docs needs Quarto (https://quarto.org/docs/get-started/), which is not on PATH."; \
	  echo "Install it (e.g. the .deb or tarball from its download page, or 'nbdev-install-quarto' where downloads work), then rerun."; exit 1; }
	cd $(CURDIR) && $(BIN)/nbdev-docs

clean:
	rm -rf _docs _proc build dist *.egg-info
