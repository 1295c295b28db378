"""The watchdog: an I2S read that hangs (no clock, DMA stall: blocked in C, no Ctrl-C, no
timer callbacks) ends in a watchdog reset; the next boot records the cause and reports
i2s_fault instead of hanging again. The virtual board's watchdog is 5 s (its board.json)."""

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.sim
SIM_OPTIONS = {"fault": "i2s_hang"}  # the power-on self-test hangs at once
CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]


def _hung_records(dut):
    return [r for r in dut.call("log")["records"]
            if r["verdict"] == "i2s_fault" and r.get("trigger") == "boot"]


def test_power_on_selftest_hang_is_reset_and_reported(dut, fault_table):
    end = time.monotonic() + 40
    while not _hung_records(dut) and time.monotonic() < end:
        time.sleep(1)
    assert _hung_records(dut), dut.call("log")
    assert dut.call("info")["reset_cause"] == "watchdog"
    assert b"[virtual board: watchdog reset]" in dut.log_path.read_bytes()
    rec = _hung_records(dut)[-1]
    assert rec["faults"] == ["i2s_fault"] and rec["outcome"] == "fail"
    fault_table("watchdog", "I2S read hangs (no clock, DMA stall) in the power-on self-test",
                "watchdog reset after 5 s (virtual board's board.json); next boot: reset "
                "cause watchdog, i2s_fault logged, no second hang")


def test_a_hanging_host_selftest_is_one_line_and_the_board_comes_back(dut, fault_table):
    n = len(_hung_records(dut))
    res = subprocess.run(CAMDIAG + ["selftest", "--port", dut.port, "--timeout", "15"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("camdiag: "), res.stderr
    assert "Traceback" not in res.stderr
    dut.wait_app(timeout=40)
    assert dut.call("info")["reset_cause"] == "watchdog"
    assert len(_hung_records(dut)) == n + 1  # the interrupted self-test, reported at boot
    fault_table("watchdog", "I2S read hangs during `camdiag selftest`",
                f"exit 2: `{res.stderr.strip()}`; the board resets and logs i2s_fault")
