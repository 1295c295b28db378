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


def pytest_configure(config):
    config.addinivalue_line("markers", "sim: needs the virtual board's fault injection")


def pytest_collection_modifyitems(config, items):
    ports = config.getoption("--port") or ["sim://"]
    if all(p.startswith("sim://") for p in ports):
        return
    skip = pytest.mark.skip(reason="needs the virtual board (fault injection); --port is a "
                                   "real board")
    for item in items:
        if "sim" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def hil_options(request):
    cfg = request.config
    return {
        "ports": cfg.getoption("--port") or ["sim://"],
        "board": cfg.getoption("--board"),
        "baud": cfg.getoption("--baud"),
        "rig": cfg.getoption("--rig"),
    }
