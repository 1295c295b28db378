"""Button gestures end to end on the virtual board: the host presses the (simulated) button
with exact timings; the pin IRQ, the state machine and the app's actions run as on a board.
"""

import json
import subprocess
import sys
import time

import pytest

from camdiag_host.link import DeviceLink
from camdiag_host.simboard import VirtualBoard

pytestmark = pytest.mark.sim
CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]
PASSWORD = "hunter2-but-longer-0815"


def events(vb):
    out = []
    for line in vb.log_path.read_bytes().decode(errors="replace").splitlines():
        if line.startswith("#camdiag-event# "):
            out.append(json.loads(line.split(" ", 1)[1])["event"])
    return out


def wait_for(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def vb():
    board = VirtualBoard(options={"realtime": "0"})
    with board:
        assert board.wait_ready(15)
        time.sleep(1.0)  # main.py is in its loop
        yield board


def test_click_and_double_click(vb):
    vb.press(120)
    assert wait_for(lambda: "click" in events(vb))
    vb.press(120)
    time.sleep(0.25)
    vb.press(120)
    assert wait_for(lambda: "double_click" in events(vb))
    # a double click runs the self-test: its verdict is announced and it lands in the log
    assert wait_for(lambda: "selftest_pass:healthy" in events(vb))
    with DeviceLink(vb.port) as link:
        records = link.call("log")["records"]
    assert records[-1]["kind"] == "selftest" and records[-1]["verdict"] == "healthy"


def test_long_hold_reboots_on_release(vb):
    vb.press(3500)
    assert wait_for(lambda: 12 in vb.exits, timeout=15)  # machine.reset()
    assert "reboot_cue" in events(vb) and "reboot" in events(vb)
    assert vb.wait_ready(15)
    with DeviceLink(vb.port) as link:
        assert link.call("info")["reset_cause"] == "hard_reset"


def test_hold_ten_seconds_factory_resets_on_release(vb):
    with DeviceLink(vb.port) as link:
        link.call("set_config", {"ssid": "HomeNet", "password": PASSWORD})
        link.call("selftest", {"log": True})
    assert PASSWORD.encode() in vb.flash.read_bytes()
    vb.press(10500)
    assert wait_for(lambda: 12 in vb.exits, timeout=30)
    ev = events(vb)
    assert ev.index("factory_reset_armed") < ev.index("factory_reset")
    assert vb.wait_ready(15)
    with DeviceLink(vb.port) as link:
        out, _ = link.exec_raw("print(open('/config.json').read())")
        assert json.loads(out)["wifi"] == {"ssid": "", "password": ""}
        kept = link.call("log")["records"]
        assert [r["kind"] for r in kept] == ["selftest"]  # the diagnostics log is kept
    assert PASSWORD.encode() not in vb.flash.read_bytes()


def test_held_at_boot_is_safe_mode():
    with VirtualBoard(options={"realtime": "0", "button_held_ms": "3000"}) as board:
        assert board.wait_ready(15)
        time.sleep(0.5)
        with DeviceLink(board.port) as link:
            assert link.call("boot_state")["safe_mode"] is True
            out, _ = link.exec_raw("import sys\nprint('camdiag.app' in sys.modules)")
            assert out.strip() == b"False"  # the application was skipped
        assert b"safe mode (button held at boot)" in board.log_path.read_bytes()


def test_button_watch_streams_events_without_stopping_the_app(vb):
    proc = subprocess.Popen(CAMDIAG + ["button", "--port", vb.port, "--watch", "--json",
                                       "--seconds", "4"], stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    vb.press(120)
    out, _ = proc.communicate(timeout=30)
    names = [json.loads(line)["event"] for line in out.splitlines() if line.strip()]
    assert names == ["press", "release", "click"], out


def test_click_shows_verdict_then_wifi_bars(vb):
    with DeviceLink(vb.port) as link:
        link.exec_raw("import network\nw = network.WLAN(network.STA_IF)\nw.active(True)\n"
                      "w.connect('HomeNet', 'secret-pass')")
    vb.press(120)
    assert wait_for(lambda: "click" in events(vb))
    time.sleep(2.5)  # the verdict shows for 2 s, then the bars
    with DeviceLink(vb.port) as link:
        st = link.call("button_status")
        out, _ = link.exec_raw("import camdiag.app as a\nprint(a.STATE['bars'])")
    assert st["led_pattern"] == "wifi_bars"
    assert int(out) == 3  # the virtual AP answers at -55 dBm: 3 bars
