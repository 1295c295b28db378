"""The factory reset on a real board's filesystem: 6 MB (an N8 module), erased and programmed
at NOR flash speed (boards/sim/simctl.py: W25Q64JV typicals), with a 30 s watchdog.

Filling the free space takes well over a minute. The reset must feed the watchdog, show its
LED pattern, report progress to the host (or the call's 60 s silence timeout fires), and be
interruptible at any point, by power or by the host, without losing its guarantees: the
config ends as the defaults, no byte of the old password stays in flash, the log is kept,
and the board comes back able to run its self-test. A cut fill is resumed, not restarted."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from camdiag_host.hil_plugin import CAMDIAG_AT_A_TERMINAL
from camdiag_host.simboard import EXIT_SOFT_RAW

pytestmark = pytest.mark.sim  # the flash image, power cuts and the LED trace are the sim's

CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]
MPREMOTE = [sys.executable, "-m", "mpremote"]
PASSWORD = "sim-wifi-password-0815"  # simboard.SIM_PASSWORD, provisioned with ?ssid=
SIM_OPTIONS = {"ssid": "lab", "flash_mb": "6"}
SEED = int(os.environ.get("CAMDIAG_SEED", time.time_ns() % 100000))
RED_LED = 17  # boards/sim/board.json


@pytest.fixture(autouse=True)
def _seed_shown():
    print(f"CAMDIAG_SEED={SEED} reproduces this test's random points")  # (shown on failure)


@pytest.fixture(scope="module", autouse=True)
def thirty_second_watchdog(dut):
    """The devkit's watchdog (30 s) instead of the virtual board's 5 s, from a chip reset."""
    dut.exec("import json\nb = json.load(open('/board.json'))\n"
             "b['timings']['watchdog_ms'] = 30000\n"
             "f = open('/board.json', 'w')\njson.dump(b, f)\nf.close()")
    assert dut.sim.power_cycle(30)
    dut.wait_app(timeout=60)


def _provision(dut):
    dut.call("set_config", {"ssid": "lab", "password": PASSWORD})
    dut.call("selftest", {"log": True})
    assert PASSWORD.encode() in dut.sim.flash.read_bytes()
    return len(dut.call("log")["records"])


def _wait_booted(vb, timeout=400):
    """Until boot.py is done (a reset it finishes takes as long as the fill left)."""
    end = time.monotonic() + timeout
    while not vb.booted_path.exists():
        assert time.monotonic() < end, "boot.py did not finish"
        time.sleep(0.5)


def _check_clean(dut, n_records):
    dut.wait_app(timeout=60)
    cfg = json.loads(dut.exec("print(open('/config.json').read())"))
    assert cfg["wifi"] == {"ssid": "", "password": ""}, cfg
    files = dut.exec("import os\nprint(os.listdir('/'))")
    assert "factory_reset.marker" not in files and "scrub.fill" not in files, files
    assert PASSWORD.encode() not in dut.sim.flash.read_bytes(), \
        f"password bytes left in flash (seed {SEED})"
    assert len(dut.call("log")["records"]) >= n_records  # the diagnostics log is kept
    rec = dut.call("selftest", {"log": False})
    assert rec["verdict"] == "healthy", rec


def test_a_reset_from_the_host_reports_progress_and_feeds_the_watchdog(dut, fault_table):
    n = _provision(dut)
    vb = dut.sim
    vb.outputs_path.write_text("")
    res = subprocess.run(CAMDIAG + ["factory-reset", "--yes", "--port", dut.port],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    steps = [line for line in res.stderr.splitlines() if "scrubbing free flash" in line]
    assert len(steps) >= 10 and steps[-1].startswith("scrubbing free flash: 100 %"), steps
    assert "of 6." in steps[-1]  # the whole 6 MB filesystem
    _check_clean(dut, n)
    info = dut.call("info")
    assert info["reset_cause"] == "hard_reset", info  # its own restart, not the watchdog
    # the LED: red, dark 100 ms each second, all through the fill
    red = vb.pin_trace(RED_LED)
    offs = [t for t, level in red if level == 0]
    assert len(offs) >= 30, red[:10]
    fault_table("factory reset", "6 MB filesystem, 30 s watchdog, from `camdiag factory-reset`",
                "progress to 100 %, red LED blinking each second through the fill, no "
                "watchdog reset, no password bytes left, log kept")


def test_power_cut_twice_at_random_points_still_ends_clean(dut, fault_table):
    rng = random.Random(SEED)
    n = _provision(dut)
    vb = dut.sim
    cuts = [rng.randint(1, 1400), rng.randint(1, 1200)]  # flash block writes (~1,600)
    exits = len(vb.exits)
    vb.power_cut_after(cuts[0])
    res = subprocess.run(CAMDIAG + ["factory-reset", "--yes", "--port", dut.port],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 2, res.stdout + res.stderr  # the board lost power under it
    errors = [line for line in res.stderr.splitlines() if not line.startswith("scrubbing")]
    assert len(errors) == 1 and errors[0].startswith("camdiag: "), res.stderr  # one line
    assert vb.wait_ready(30)
    vb.power_cut_after(cuts[1])  # and again, while boot.py finishes the reset
    end = time.monotonic() + 300
    while len(vb.exits) < exits + 2:
        assert time.monotonic() < end, f"second cut never came (seed {SEED}, cuts {cuts})"
        time.sleep(0.2)
    _wait_booted(vb)
    _check_clean(dut, n)
    fault_table("factory reset", "6 MB filesystem: power cut at two random points (during "
                "the host's reset, then during boot.py's finish)",
                "boot.py resumes the fill each time; config defaults, no password bytes, log "
                "kept, self-test healthy")


def test_a_host_interrupt_then_a_soft_reset_finish_it_with_the_watchdog_fed(dut, fault_table):
    rng = random.Random(SEED + 1)
    n = _provision(dut)
    vb = dut.sim
    proc = subprocess.Popen(CAMDIAG_AT_A_TERMINAL + ["factory-reset", "--yes", "--port",
                                                    dut.port],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(rng.uniform(3, 60))
    proc.send_signal(signal.SIGINT)  # the technician presses Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err, err
    # mpremote's raw-REPL soft reset: boot.py finishes the reset while the watchdog armed
    # before it (30 s) runs on (ports/esp32: only a chip reset stops it)
    exits = len(vb.exits)
    # (mpremote waits for the raw REPL after the reboot: until boot.py has finished)
    res = subprocess.run(MPREMOTE + ["connect", dut.port, "soft-reset"], capture_output=True,
                         text=True, timeout=400)
    assert res.returncode == 0, res.stderr
    _wait_booted(vb)
    _check_clean(dut, n)
    info = dut.call("info")
    assert info["reset_cause"] == "soft_reset", info  # not the watchdog mid-fill
    assert vb.exits[exits:] == [EXIT_SOFT_RAW], vb.exits  # one soft reset, no chip reset
    fault_table("factory reset", "6 MB filesystem: the host's Ctrl-C at a random point, then "
                "a raw-REPL soft reset", "boot.py finishes the fill with the 30 s watchdog fed; "
                "config defaults, no password bytes")
