# memprop: `make demo` and `make test` work on a fresh Debian machine.
# They create .venv, install the package, and install ngspice with apt when it is missing
# (as root; otherwise they stop and print the exact command to run).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NGSPICE_PKGS := ngspice libngspice0 libngspice0-dev

.PHONY: demo test lint ngspice venv bench docs clean

ngspice:
	@if command -v ngspice >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libngspice.so '; then \
	  true; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "installing ngspice ($(NGSPICE_PKGS)) with apt-get"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(NGSPICE_PKGS); \
	else \
	  echo "memprop needs ngspice and its shared library. Install them with:"; \
	  echo "  sudo apt-get install -y $(NGSPICE_PKGS)"; \
	  exit 1; \
	fi

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "python venv is missing. Install it with:"; \
	  echo "  sudo apt-get install -y python3-venv"; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,pdk]'
	@touch $(STAMP)

venv: ngspice $(STAMP)

DEMO_DIR := runs/demo-$(shell date +%Y%m%d-%H%M%S)

demo: venv
	@echo "== one sample settled in ngspice and in the numpy twin (first rows) =="
	@$(BIN)/memprop settle --backend both | awk 'NR <= 6 {print} END {print}'
	@echo "== EP training of a 64-32-10 memristor network on the 8x8 digits, co-simulated in ngspice =="
	$(BIN)/memprop train --out $(DEMO_DIR) --epochs 4
	@echo "plots: $(DEMO_DIR)/learning_curves.png $(DEMO_DIR)/waveforms.png $(DEMO_DIR)/conductance_maps.png"
	@echo "trained deck (runs as-is): ngspice -b $(DEMO_DIR)/network.cir"

test: venv lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

# pyflakes and syntax errors over the package and the tests ([tool.ruff] in pyproject.toml)
lint: venv
	$(BIN)/python -m ruff check memprop tests bench

# the quick subset while editing: everything but the tests marked slow (CI runs `make test`)
test-fast: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" tests

# The API reference from memprop.api's docstrings (pdoc, the optional extra `docs`), in docs/api/.
docs: venv
	@$(BIN)/python -c "import pdoc" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[docs]'
	$(BIN)/python -m pdoc memprop.api --docformat google -o docs/api
	@echo "API reference: docs/api/memprop/api.html (tutorial: docs/tutorial.md)"

bench: venv
	$(BIN)/python bench/deck_timing.py

clean:
	rm -rf $(VENV) build *.egg-info
