# Two commands a person needs: `make run` (quickstart on embedded defaults) and `make test`.
# Both create .venv on first use and build Pyfhel offline with seal-offline.cmake.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cipherquorum-installed
SCENARIO ?= scenarios/quickstart.toml

.PHONY: install run test bench load contracts clean

install: $(STAMP)

$(STAMP): pyproject.toml seal-offline.cmake
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	CMAKE_TOOLCHAIN_FILE=$(CURDIR)/seal-offline.cmake $(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cipherquorum run $(SCENARIO) --report-json reports/quickstart.json

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/cipherquorum bench scenarios/quickstart.toml --json reports/bench.json

load: $(STAMP)
	$(BIN)/cipherquorum load scenarios/load.toml --out reports/load

contracts:
	cd contracts && npm ci --no-audit --no-fund && node compile.js

clean:
	rm -rf $(VENV) reports cq-data
