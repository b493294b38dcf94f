# Two commands a person needs: `make run` (quickstart on embedded defaults) and `make test`.
# Both create .venv on first use and build Pyfhel offline with seal-offline.cmake.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cipherquorum-installed
SCENARIO ?= scenarios/quickstart.toml

.PHONY: install cxx run test lint bench load contracts clean

install: $(STAMP)

# contracts/node_modules (npm, where it exists): anvil for [chain] backend = "anvil", and the pinned solc-js.
$(STAMP): pyproject.toml constraints.txt seal-offline.cmake
	@command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || $(MAKE) --no-print-directory cxx
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip -c constraints.txt setuptools wheel
	CMAKE_TOOLCHAIN_FILE=$(CURDIR)/seal-offline.cmake $(BIN)/python -m pip install -c constraints.txt -e '.[dev]'
	@if command -v npm >/dev/null 2>&1; then \
		(cd contracts && npm ci --ignore-scripts --no-audit --no-fund) || \
			echo 'npm ci failed in contracts/: [chain] backend = "anvil" needs it (the rest works without)'; \
	else \
		echo 'npm not found: skipping contracts/node_modules (anvil for [chain] backend = "anvil", solc-js)'; \
	fi
	touch $(STAMP)

# Pyfhel compiles Microsoft SEAL and needs a C++17 compiler (its CMake comes from PyPI).
cxx:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing g++ (Pyfhel compiles Microsoft SEAL)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++; \
	else \
		echo "Pyfhel needs a C++17 compiler: install g++ (Debian/Ubuntu: sudo apt-get install g++)" >&2; exit 1; \
	fi

run: $(STAMP)
	$(BIN)/cipherquorum run $(SCENARIO) --report-json reports/quickstart.json

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff on the whole tree; mypy on the library and the roles. nodes/ installs as cipherquorum.nodes, so mypy
# reads both through a tree of links that has that shape.
TYPECHECK := build/typecheck
lint: $(STAMP)
	$(BIN)/ruff check cipherquorum nodes contracts tests benchmarks
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/cipherquorum
	ln -s $(CURDIR)/cipherquorum/* $(TYPECHECK)/cipherquorum/
	ln -s $(CURDIR)/nodes $(TYPECHECK)/cipherquorum/nodes
	ln -s $(CURDIR)/contracts $(TYPECHECK)/cipherquorum/contracts
	cd $(TYPECHECK) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p cipherquorum

bench: $(STAMP)
	$(BIN)/cipherquorum bench scenarios/quickstart.toml --json reports/bench.json

load: $(STAMP)
	$(BIN)/cipherquorum load scenarios/load.toml --out reports/load

contracts:
	cd contracts && npm ci --ignore-scripts --no-audit --no-fund && node compile.js

clean:
	rm -rf $(VENV) reports cq-data build
