"""HIL fixtures. The same tests run on a virtual board (default) or a bench (--port)."""

from __future__ import annotations

import pytest

from camdiag_host.link import DeviceLink
from camdiag_host.simboard import VirtualBoard, parse_sim_url


class Board:
    """A board under test: its port, and the virtual board behind it when there is one."""

    def __init__(self, port: str, sim: VirtualBoard | None, baud: int):
        self.port = port
        self.sim = sim
        self.baud = baud

    def link(self) -> DeviceLink:
        return DeviceLink(self.port, baud=self.baud)

    def call(self, name, args=None, timeout=60.0):
        with self.link() as link:
            return link.call(name, args, timeout=timeout)


@pytest.fixture(scope="module")
def board(hil_options):
    port = hil_options["ports"][0]
    if port.startswith("sim://"):
        opts = parse_sim_url(port)
        vb = VirtualBoard(board=opts.pop("board", None) or hil_options["board"] or "sim",
                          options=opts)
        with vb:
            assert vb.wait_ready(15), "virtual board did not start"
            yield Board(vb.port, vb, hil_options["baud"])
    else:
        yield Board(port, None, hil_options["baud"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that used a virtual board shows the board's log tail and its path."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        b = item.funcargs.get("board")
        if b is not None and b.sim is not None and b.sim.log_path.exists():
            tail = b.sim.log_path.read_bytes()[-2000:].decode(errors="replace")
            report.sections.append(("virtual board log " + str(b.sim.log_path), tail))
