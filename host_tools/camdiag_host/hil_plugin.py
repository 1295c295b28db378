"""pytest plugin for the HIL suite (registered as `camdiag_hil`): options and fixtures."""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    g = parser.getgroup("camdiag", "camdiag hardware-in-the-loop")
    g.addoption("--port", action="append", default=None,
                help="board port (repeatable); default sim:// (a virtual board)")
    g.addoption("--board", default=None, help="board profile name")
    g.addoption("--baud", type=int, default=115200)
    g.addoption("--rig", default="sim", choices=["sim", "manual", "serial-lines", "none"])


@pytest.fixture(scope="session")
def hil_options(request):
    cfg = request.config
    return {
        "ports": cfg.getoption("--port") or ["sim://"],
        "board": cfg.getoption("--board"),
        "baud": cfg.getoption("--baud"),
        "rig": cfg.getoption("--rig"),
    }
