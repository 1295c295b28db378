"""The HIL plugin as a bench engineer uses it: several boards in parallel with results per
board, and rigs that lack a capability skipping with the reason (never passing silently).

Two virtual boards stand in for a bench's real boards: given by their pty paths, the plugin
treats them exactly like /dev/ttyACM0 and /dev/ttyACM1."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from camdiag_host.simboard import VirtualBoard

ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs"]


def _run(args, tmp_path, timeout=300):
    return subprocess.run(PYTEST + args + ["--hil-logs", str(tmp_path / "logs")], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          start_new_session=True)  # no controlling terminal: no operator


def test_two_boards_in_parallel_with_results_per_board(tmp_path):
    with VirtualBoard(options={"realtime": "0"}) as a, \
            VirtualBoard(options={"realtime": "0"}) as b:
        assert a.wait_ready(15) and b.wait_ready(15)
        junit = tmp_path / "junit.xml"
        res = _run(["hil_tests/test_smoke.py", "-k", "info_reports or returns_to or missing",
                    "--port", a.port, "--port", b.port, "--rig", "none", "-n", "2",
                    "--dist", "loadgroup", f"--junitxml={junit}"], tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    labels = [p.replace("/dev/", "").replace("/", "_") for p in (a.port, b.port)]
    summary = out[out.index("results per board"):]
    for label in labels:
        # both tests ran on each board; the sim-only one skipped on "real" ports
        assert f"{label}: 2 passed" in summary, summary
    assert "needs the virtual board" in out
    boards = {p.get("value") for p in ET.parse(junit).iter("property")
              if p.get("name") == "board"}
    assert boards == set(labels)
    for label in labels:
        assert (tmp_path / "logs" / f"{label}.log").stat().st_size > 0  # the console kept


def test_rigs_without_a_capability_skip_with_the_reason(tmp_path):
    sel = ["hil_tests/test_selftest.py", "-k", "cut_speaker", "--port", "sim://"]
    res = _run(sel + ["--rig", "manual"], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 skipped" in res.stdout and "no operator terminal" in res.stdout, res.stdout
    res = _run(sel + ["--rig", "serial-lines"], tmp_path)
    assert "1 skipped" in res.stdout and "rig 'serial-lines' cannot cut_speaker" in res.stdout
    res = _run(["hil_tests/test_button.py", "-k", "long_hold", "--port", "sim://", "--rig",
                "serial-lines"], tmp_path)
    assert "1 skipped" in res.stdout and "--rig-port" in res.stdout, res.stdout
    res = _run(sel + ["--rig", "none"], tmp_path)
    assert "1 skipped" in res.stdout and "rig 'none' cannot cut_speaker" in res.stdout
    res = _run(["hil_tests/test_wifi.py", "-k", "weak+0s", "--port", "sim://", "--rig",
                "manual"], tmp_path)
    assert "1 skipped" in res.stdout and "rig 'manual' cannot set_rssi_scenario" in \
        res.stdout, res.stdout
