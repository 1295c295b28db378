"""labgrid farms: boards on many hosts, reserved and driven through a labgrid coordinator.

- `host`: `camdiag farm`, a farm host: N virtual boards (or, with --real, the exporter
  YAML for the boards plugged in), their control server, the exporter, a place per board.
- `control`: a virtual board's button and power switch as HTTP endpoints that labgrid's
  HttpDigitalOutput and NetworkPowerPort (model simplerest) drive, as a bench's HTTP relays.
- `places`: the client side, for the HIL plugin: reserve, acquire, resolve a place to a
  port URL, check it reaches the board it is tagged with, release.
- `rig`: `--rig labgrid`: press, hold and power cycle through the place's labgrid drivers.

labgrid itself (PyPI `labgrid`, gRPC coordinator) does the scheduling: nothing here
hands out boards on its own.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..errors import CamdiagError

DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid's own default
BOARD_TAG = "camdiag-sim"  # the tag value `camdiag farm` gives virtual boards (board=...)


def tool(name: str) -> str:
    """A labgrid command (labgrid-client, -exporter, -coordinator) beside this Python, or on
    PATH; a one-line error when labgrid is not installed."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise CamdiagError(f"{name} not found: labgrid is not installed (pip install "
                           "'camdiag[farm]', or `make setup`)")
    return found
