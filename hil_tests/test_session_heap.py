"""Whatever a host session does or abandons, the board's idle heap afterwards is what it was,
and its next self-test runs: a deploy that changes nothing, and every long device call cut
short by the user's Ctrl-C at several points (before it reached the board, in its middle).
An interrupted self-test is never logged."""

import signal
import subprocess
import sys
import time

import pytest

from camdiag_host.hil_plugin import CAMDIAG_AT_A_TERMINAL

CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]
MEM = "import gc\ngc.collect()\nprint(gc.mem_alloc())"
SLACK = 256  # the conservative GC keeps a few hundred bytes for one reading in ten
# The audio in real time, as on a camera: the self-test's capture is a window to land in.
# Provisioned with Wi-Fi, so the Wi-Fi calls do their whole work (a scan, a talk-path check).
SIM_OPTIONS = {"realtime": "1", "ssid": "lab"}
# Ctrl-C this long after the command started: before the link is up, while the call runs on
# the board, near its end (the host's start-up alone is ~0.5 s).
POINTS = (0.6, 1.0, 1.4, 2.0, 3.0)


def idle_heap(dut) -> int:
    """The least of three readings a moment apart (a leak stays in all three)."""
    readings = []
    for _ in range(3):
        readings.append(int(dut.exec(MEM).split()[-1]))
        time.sleep(0.3)
    return min(readings)


def _interrupt(cmd: list[str], after_s: float) -> subprocess.CompletedProcess:
    """Run a camdiag command and press Ctrl-C (SIGINT) after after_s."""
    p = subprocess.Popen(CAMDIAG_AT_A_TERMINAL + cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(after_s)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _last_record(dut):
    records = dut.call("log")["records"]
    return records[-1] if records else None


# Every long device call, through the command a user runs. (Not netcheck: the virtual
# board notices Ctrl-C only at its peripherals and sleeps, not in a socket's blocking
# write as ports/esp32/modsocket.c does every 100 ms, so there the call runs to its end.)
COMMANDS = {
    "selftest": ["selftest"],
    "capture": ["capture"],
    "rssi": ["rssi", "--seconds", "20"],
    "scan": ["scan"],
    "report": ["report"],
}

@pytest.mark.parametrize("name", list(COMMANDS))
def test_ctrl_c_anywhere_in_a_command_leaves_the_board_as_it_was(dut, name, tmp_path):
    dut.call("selftest", {"log": False})  # (the first run interns names, once)
    base = idle_heap(dut)
    cmd = COMMANDS[name] + ["--port", dut.port]
    interrupted = stopped = 0
    for i, after_s in enumerate(POINTS):
        last = _last_record(dut)
        out = {"report": str(tmp_path / f"r{i}"), "capture": str(tmp_path / f"c{i}.wav")}
        res = _interrupt(cmd + (["--out", out[name]] if name in out else []), after_s)
        # (-SIGINT: the Ctrl-C came as the finished command was exiting)
        assert res.returncode in (0, 1, 130, -signal.SIGINT), (after_s, res.returncode,
                                                              res.stderr)
        if res.returncode == 130:
            interrupted += 1
            last_line = res.stderr.strip().splitlines()[-1]
            assert last_line.startswith("camdiag: interrupted"), res.stderr
            assert "Traceback" not in res.stderr
            stopped += "was stopped too" in last_line
            if "selftest was stopped too" in last_line:
                # the self-test call itself was cut short on the board: never a result
                # (a report's earlier, finished self-test is one: so only this call's)
                assert _last_record(dut) == last, (after_s, _last_record(dut))
    assert interrupted >= 2, f"only {interrupted} of {len(POINTS)} runs were interrupted"
    assert stopped >= 1, "no Ctrl-C landed while the board ran the call"
    dut.wait_app(timeout=30)
    assert idle_heap(dut) - base <= SLACK, (name, base)
    rec = dut.call("selftest", {"log": False}, timeout=120)
    assert rec["verdict"] == "healthy", rec["verdict"]


def test_a_deploy_that_changes_nothing_leaves_the_heap_as_it_was(dut):
    dut.call("selftest", {"log": False})
    base = idle_heap(dut)
    res = subprocess.run(CAMDIAG + ["deploy", "--port", dut.port], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "0 file(s) written" in res.stdout, res.stdout  # (a no-op: nothing to reboot for)
    assert idle_heap(dut) - base <= SLACK
    assert dut.call("selftest", {"log": False}, timeout=120)["verdict"] == "healthy"
