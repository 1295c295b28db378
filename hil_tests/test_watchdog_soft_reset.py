"""The watchdog across a soft reset. machine.WDT arms ESP-IDF's task watchdog, which only a
chip reset stops (ports/esp32/machine_wdt.c); a soft reset deinitialises the machine.Timer
that fed it (ports/esp32/main.c: machine_timer_deinit_all) and, from the raw REPL (as
mpremote does it), runs boot.py but not main.py, so the app never starts to feed it. The
virtual board's watchdog is 5 s (its board.json)."""

import subprocess
import sys
import time

import pytest

MPREMOTE = [sys.executable, "-m", "mpremote"]
WATCH_S = 9  # well past the virtual board's 5 s watchdog


def _raw_soft_reset_then_wait(dut):
    res = subprocess.run(MPREMOTE + ["connect", dut.port, "soft-reset"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    time.sleep(WATCH_S)
    return dut.call("info")


def test_no_watchdog_reset_after_mpremotes_soft_reset(dut):
    info = _raw_soft_reset_then_wait(dut)
    assert info["reset_cause"] == "soft_reset", info  # not reset by its own watchdog
    assert info["uptime_s"] >= WATCH_S, info


@pytest.mark.sim
def test_the_watchdog_runs_on_across_a_soft_reset(dut):
    # The model, as the port: without camdiag's boot.py to feed it, the app's watchdog,
    # armed before the soft reset, resets the board.
    dut.exec("import os\nos.rename('/boot.py', '/boot.off')")
    try:
        info = _raw_soft_reset_then_wait(dut)
    finally:
        dut.exec("import os\nos.rename('/boot.off', '/boot.py')")
    assert info["reset_cause"] == "watchdog", info
    assert info["uptime_s"] < WATCH_S, info


@pytest.mark.sim
def test_the_carried_watchdog_is_fed_before_flash_is_read(dut):
    # /boot.py feeds it first, from the timeout camdiag.hw noted in RTC memory: not after
    # reading the board profile (slow from a QEMU board's flash; here, missing, so the app
    # never starts and nothing else would feed it).
    dut.exec("import os\nos.rename('/board.json', '/board.off')")
    try:
        info = _raw_soft_reset_then_wait(dut)
    finally:
        dut.exec("import os\nos.rename('/board.off', '/board.json')")
        dut.reboot()
    assert info["board"] is None, info  # (the profile really was not there)
    assert info["reset_cause"] == "soft_reset", info
    assert info["uptime_s"] >= WATCH_S, info
