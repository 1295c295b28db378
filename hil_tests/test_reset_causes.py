"""Reset causes as the ESP32 port reports them, and the power-on self-test decision for each.

ports/esp32/modmachine.c maps esp_reset_reason(): power-on and brownout read 1, a panic and
machine.reset() 2, every watchdog 3, and USB, JTAG, eFuse and glitch resets 0. Every chip
reset restarts the audio path, so each gets the power-on self-test; a self-test that a reset
cut short is reported at the next boot, not run into again."""

import threading
import time

import pytest

pytestmark = pytest.mark.sim  # chip resets by reason are the virtual board's

# ESP-IDF reason -> what `info` says
CAUSES = [("brownout", "power_on"), ("panic", "hard_reset"), ("rtc_wdt", "watchdog"),
          ("usb_jtag", "other"), ("power_glitch", "other"), ("efuse", "other")]


def _boot_records(dut):
    return [r for r in dut.call("log")["records"] if r.get("trigger") == "boot"]


def _wait_post(dut, n_before, timeout=40):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        recs = _boot_records(dut)
        if len(recs) > n_before:
            return recs[-1]
        time.sleep(0.5)
    raise AssertionError("no power-on self-test in the log")


@pytest.mark.parametrize("reason,cause", CAUSES, ids=[c[0] for c in CAUSES])
def test_every_chip_reset_gets_the_power_on_selftest(dut, reason, cause):
    n = len(_boot_records(dut))
    assert dut.sim.chip_reset(reason)
    dut.wait_app(timeout=60)
    rec = _wait_post(dut, n)
    info = dut.call("info")
    assert info["reset_cause"] == cause, info
    assert rec["verdict"] == "healthy" and rec["reset_cause"] == cause, rec


def _hang_then(dut, action):
    """A host self-test whose I2S read hangs; action() resets the board meanwhile."""
    dut.sim.set_faults(["i2s_hang"])
    errors = []

    def run():
        try:
            dut.call("selftest", {"log": True}, timeout=30)
        except Exception as e:  # the board resets under the call
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(1.5)  # inside the audio: the marker is on flash
    action()
    t.join(40)
    assert errors, "the self-test finished although the board was reset under it"


def test_a_glitch_mid_selftest_is_reported_at_boot_not_run_again(dut, fault_table):
    n = len(_boot_records(dut))
    try:
        _hang_then(dut, lambda: dut.sim.chip_reset("power_glitch"))
        dut.wait_app(timeout=60)
        rec = _wait_post(dut, n)
    finally:
        dut.sim.set_faults([])
    assert rec["verdict"] == "i2s_fault", rec
    assert "cause other" in rec["note"] and rec["reset_cause"] == "other", rec
    assert dut.call("info")["reset_cause"] == "other"
    fault_table("reset", "power glitch (reset cause 0) while a self-test plays",
                "next boot logs i2s_fault (\"the board reset (cause other) while the "
                "self-test played\"), no second run")


def test_power_lost_twice_in_the_power_on_selftest_is_no_boot_loop(dut, fault_table):
    # A brownout reads as power-on: once is the plug (test again), twice in a row is
    # reported, or a supply that sags under the speaker would reboot the camera for ever.
    n = len(_boot_records(dut))
    try:
        _hang_then(dut, dut.sim.power_cycle)  # a host self-test cut by power: retried
        time.sleep(2.5)  # the retried power-on self-test is in its audio now (it hangs)
        dut.sim.power_cycle()
        dut.wait_app(timeout=60)
        rec = _wait_post(dut, n)
    finally:
        dut.sim.set_faults([])
    assert rec["verdict"] == "i2s_fault", rec
    assert "power_on, twice" in rec["note"], rec
    fault_table("reset", "power lost twice in a row during the power-on self-test (brownout "
                "reads as power-on)", "reported as i2s_fault at the third boot; no boot loop")
