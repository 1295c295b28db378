"""HIL checks that need no radio, on the real MicroPython ESP32 port in Espressif's QEMU:
camdiag deployed on LittleFS as a factory programs it (host_tools/camdiag_host/qemuboard.py),
booted into its app, driven over its serial port by the host tools as a board on a bench.
The self-test's I2S is the acoustic model running on the board (boards/esp32-qemu/
acoustic_i2s.py); everything else is the port's own: REPL, LittleFS, machine.WDT, Timer,
reset causes, unique_id, the heap. Skipped with the reason without QEMU; CI sets
CAMDIAG_QEMU_REQUIRED=1, which makes that a failure."""

import json
import os
import subprocess
import sys
import time

import pytest

from camdiag_host import qemuboard
from camdiag_host.link import DeviceLink
from test_on_qemu import qemu_or_skip


# (5 by default: ~11 s each in QEMU; CAMDIAG_QEMU_SELFTESTS=50 make qemu-hil for 50)
SELFTESTS = int(os.environ.get("CAMDIAG_QEMU_SELFTESTS", "5"))


def _cli(url, *args, timeout=300):
    res = subprocess.run([sys.executable, "-m", "camdiag_host.cli", *args, "--port", url],
                         capture_output=True, text=True, timeout=timeout)
    return res.returncode, res.stdout, res.stderr


def _json(url, *args, timeout=300):
    rc, out, err = _cli(url, *args, "--json", timeout=timeout)
    assert rc in (0, 1), (rc, out, err)
    return json.loads(out)


@pytest.fixture(scope="module")
def board():
    qemu_or_skip()
    with qemuboard.QemuBoard() as b:
        yield b


def _after_reset(board, code):
    """Run code that resets the board, wait until its app is up again; its info then."""
    link = DeviceLink(board.url)
    link.open()
    try:
        link.exec_raw(code, timeout=60)
    except Exception:  # noqa: BLE001 - the board went away mid-call, as it should
        pass
    try:
        link.close(resume=False)
    except Exception:  # noqa: BLE001
        pass
    board.wait_booted(300)
    return _json(board.url, "info")


def test_info_is_the_real_ports(board):
    info = _json(board.url, "info")
    assert info["platform"] == "esp32"
    assert tuple(int(x) for x in info["micropython"].split(".")) >= (1, 23, 0)
    assert info["board"] == "esp32-qemu"
    assert info["unique_id"] != "a0b1c2d3e4f5"  # the chip's MAC, not the sim's default
    assert info["reset_cause"] == "power_on"
    assert info["problems"] == []
    assert 40_000 < info["mem_free"] < 170_000, info["mem_free"]


def test_a_redeploy_that_changes_nothing_changes_nothing(board):
    before = _json(board.url, "info")
    rc, out, err = _cli(board.url, "deploy")
    assert rc == 0, (out, err)
    after = _json(board.url, "info")
    assert after["problems"] == []
    assert after["uptime_s"] >= before["uptime_s"]  # no reboot for a no-op deploy


def test_selftest_healthy_then_faulted_on_the_on_board_model(board):
    rec = _json(board.url, "selftest", "--no-log")
    assert rec["verdict"] == "healthy", (rec["verdict"], rec["diagnosis"])
    with DeviceLink(board.url) as link:
        link.exec_raw("import acoustic_i2s\nacoustic_i2s.set_faults(['speaker_silent'])")
    try:
        rec = _json(board.url, "selftest", "--no-log")
        assert rec["verdict"] == "speaker_silent", (rec["verdict"], rec["diagnosis"])
    finally:
        with DeviceLink(board.url) as link:
            link.exec_raw("import acoustic_i2s\nacoustic_i2s.set_faults([])")


def test_the_results_log_survives_a_reset(board):
    _json(board.url, "selftest")  # logged
    before = _json(board.url, "log")["records"]
    assert before and before[-1]["kind"] == "selftest"
    info = _after_reset(board, "import machine\nmachine.reset()")
    assert info["reset_cause"] == "hard_reset"
    after = _json(board.url, "log")["records"]
    assert after[: len(before)] == before or after[-len(before):] == before


def test_an_unfed_watchdog_resets_the_board(board):
    # the app's watchdog, shortened to 3 s, with its feeding timer stopped: the ESP-IDF task
    # watchdog resets the chip, and the next boot says why
    info = _after_reset(board, "import camdiag.app as a, machine, time\n"
                        "a.STATE['wdt_timer'].deinit()\nmachine.WDT(timeout=3000)\n"
                        "time.sleep(20)\nprint('still here')")
    assert info["reset_cause"] == "watchdog", info["reset_cause"]


def test_a_raw_repl_soft_reset_does_not_let_the_watchdog_kill_the_board(board):
    # mpremote's way in: a soft reset in the raw REPL; boot.py runs, main.py does not, and
    # the task watchdog the app armed runs on (ports/esp32/main.c). boot.py feeds it.
    wdt_s = 30  # the profile's timings.watchdog_ms (default)
    with DeviceLink(board.url) as link:
        # the app noted the armed watchdog in the real port's RTC memory (camdiag.hw), for
        # /boot.py to feed it before anything reads this board's slow flash
        note, _ = link.exec_raw("import machine\nprint(machine.RTC().memory())")
        assert note.strip() == b"b'camdiag-wdt:%d'" % (wdt_s * 1000), note
        # in the raw REPL (the link's): Ctrl-D soft-resets, as mpremote does; boot.py runs
        # in between, silent for longer than mpremote waits on this board's slow flash
        link.transport.serial.write(b"\x04")
        banner = b"raw REPL; CTRL-B to exit\r\n"
        got = link.transport.read_until(1, banner, timeout=120)
        assert got.endswith(banner), got
        time.sleep(wdt_s + 5)
        out, err = link.exec_raw("import machine\nprint(machine.reset_cause())")
        link.close(resume=False)
    assert out.strip() == b"5", (out, err)  # SOFT_RESET: no watchdog reset in between


def test_the_heap_is_back_to_idle_after_self_tests(board):
    with DeviceLink(board.url) as link:
        link.call("selftest", {"log": False}, timeout=300)  # code loaded, names interned
        o, _ = link.exec_raw("import gc\ngc.collect()\nprint(gc.mem_alloc())")
        idle = int(o)
        for _ in range(SELFTESTS - 1):
            rec = link.call("selftest", {"log": False}, timeout=300)
            assert rec["verdict"] == "healthy", rec["diagnosis"]
        o, _ = link.exec_raw("import gc\ngc.collect()\nprint(gc.mem_alloc())")
    assert int(o) - idle <= 256, (idle, int(o))


def test_the_ports_own_i2s_in_qemu_ends_in_an_i2s_fault_record():
    # i2s=machine: the self-test on the port's machine.I2S, which QEMU does not emulate. Seen
    # here: both constructors return, RX ~0.3 s after TX (the shared notes expected RX to
    # raise OSError(-258)), so the start-skew check fails it before any TX write (which
    # would never return). Either way the answer is an i2s_fault record, and the board
    # answers on: the watchdog would reset it out of a hung write, and the next boot logs
    # the same fault (selftest.hung_record).
    qemu_or_skip()
    with qemuboard.QemuBoard(options={"i2s": "machine"}) as b:
        rc, out, err = _cli(b.url, "selftest", "--json")
        if rc == 1:
            rec = json.loads(out)
        else:  # the board was reset under the call: by its watchdog, out of a hung write
            assert rc == 2 and len(err.strip().splitlines()) == 1, (rc, err)
            b.wait_booted(300)
            rec = _json(b.url, "log")["records"][-1]
        assert rec["verdict"] == "i2s_fault", rec
        assert "Traceback" not in out + err
        info = _json(b.url, "info")  # still answering
        assert info["board"] == "esp32-qemu" and info["problems"] == [], info
        assert _json(b.url, "log")["records"][-1]["verdict"] == "i2s_fault"
