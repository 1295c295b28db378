"""The firmware tests again, on the real MicroPython unix port (catches what CPython allows),
and the virtual board's hardware models (tests/sim), which only run there."""

import re
import subprocess
from pathlib import Path

import pytest

from camdiag_host.simboard import micropython_binary

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.stem for p in (ROOT / "tests" / "firmware").glob("test_fw_*.py")) + \
    sorted(p.stem for p in (ROOT / "tests" / "sim").glob("test_sim_*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_firmware_module_on_unix_port(module):
    res = subprocess.run(
        [micropython_binary(), "-X", "heapsize=4M", str(ROOT / "tests" / "mp_runner.py"),
         str(ROOT), module],
        capture_output=True, text=True, timeout=600,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    last = out.strip().splitlines()[-1]
    assert re.match(r"[1-9]\d* passed, 0 failed, \d+ skipped$", last), out
