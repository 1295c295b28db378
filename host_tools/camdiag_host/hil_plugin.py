"""pytest plugin for the HIL suite (registered as `camdiag_hil`): options, `dut` and `rig`.

One suite for virtual boards and real benches:
- ``--port`` (repeatable, default ``sim://``): with ``sim://`` every xdist worker runs its own
  virtual boards; with real ports every test runs once per board, each board's tests on one
  worker (``-n <boards> --dist loadgroup``), boards in parallel.
- ``--rig``: what can act on the board. sim (the virtual board's injection), manual (an
  operator at the bench is asked), serial-lines (a USB-UART's DTR/RTS wired to the button
  and a power relay, ``--rig-port``), none. A test names the capabilities it needs with
  ``@pytest.mark.rig("press_button", ...)``; a rig without one skips the test and says why.
- Per-board logs in ``--hil-logs`` (default build/hil), results per board in the summary
  and in JUnit XML (``--junitxml``, property ``board``).
- labgrid places instead of ports: ``--lg-place NAME`` (repeatable) or ``--lg-reserve
  'KEY=VALUE ...' --boards N``, at ``--lg-coordinator`` (labgrid's own pytest option;
  default $LG_COORDINATOR or 127.0.0.1:20408). The controller reserves and acquires them,
  resolves each to its port URL, runs one xdist worker per place (boards named by place)
  and releases them at the end, on failure and on Ctrl-C too (farm/places.py).
  ``--rig labgrid`` acts through each place's own drivers (farm/rig.py).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

# `camdiag` as a terminal runs it, Ctrl-C included, for tests that press Ctrl-C: a suite
# started in the background (as CI may start it) passes SIGINT on ignored, and restoring it
# in a preexec_fn is unsafe in a worker with threads (labgrid's gRPC ones: the child
# segfaulted between fork and exec).
CAMDIAG_AT_A_TERMINAL = [
    sys.executable, "-c",
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from camdiag_host.cli import main; sys.exit(main(sys.argv[1:]))"]

CAPABILITIES = ("press_button", "hold_at_boot", "cut_speaker", "cut_mic", "restore",
                "set_rssi_scenario", "power_cycle")
RIGS = ("sim", "manual", "serial-lines", "labgrid", "none")
LABELS: dict[str, str] = {}  # port URL -> place name, for ports that came from labgrid places


def pytest_addoption(parser):
    g = parser.getgroup("camdiag", "camdiag hardware-in-the-loop")
    g.addoption("--port", action="append", default=None,
                help="board port (repeatable: one xdist worker per board); default sim:// "
                     "(a virtual board per worker)")
    g.addoption("--board", default=None, help="board profile name")
    g.addoption("--baud", type=int, default=115200)
    g.addoption("--rig", default="sim", choices=RIGS,
                help="what acts on the board: sim, manual, serial-lines, none")
    g.addoption("--rig-port", default=None,
                help="serial-lines rig: the USB-UART whose DTR (button) and RTS (power "
                     "relay) lines are wired to the board (see README)")
    g.addoption("--hil-logs", default=None, help="per-board log folder (default build/hil)")
    g.addoption("--lg-place", action="append", default=None,
                help="a labgrid place to run on (repeatable: one worker per place)")
    g.addoption("--lg-reserve", default=None,
                help="reserve --boards places by tags, e.g. 'board=camdiag-sim'")
    g.addoption("--boards", type=int, default=1, help="with --lg-reserve: how many places")
    g.addoption("--lg-wait", type=float, default=60.0,
                help="seconds to wait for reserved places to be free (default 60)")


def _wants_places(config) -> bool:
    return bool(config.getoption("--lg-place") or config.getoption("--lg-reserve"))


def _place_count(config) -> int:
    return len(config.getoption("--lg-place") or []) + (
        config.getoption("--boards") if config.getoption("--lg-reserve") else 0)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """Places: one xdist worker per place, each board's tests on its worker."""
    if not _wants_places(config) or hasattr(config, "workerinput"):
        return
    if config.getoption("--port"):
        raise pytest.UsageError("--lg-place/--lg-reserve or --port, not both")
    n = _place_count(config)
    if n > 1 and config.pluginmanager.hasplugin("xdist") and \
            not getattr(config.option, "numprocesses", None):
        config.option.numprocesses = n
        config.option.dist = "loadgroup"
        # (xdist's own tryfirst cmdline_main, which turns numprocesses into workers, may
        # already have run: plugins from entry points are called in no fixed order)
        config.option.tx = ["popen"] * n


def pytest_configure(config):
    config.addinivalue_line("markers", "sim: needs the virtual board itself (its flash "
                            "image, its fault matrix)")
    config.addinivalue_line("markers", "rig(*capabilities): the rig actions the test needs "
                            f"({', '.join(CAPABILITIES)})")
    worker = getattr(config, "workerinput", None)
    if worker is not None and worker.get("camdiag_places"):
        import json

        places = json.loads(worker["camdiag_places"])
        # the controller chose loadgroup after parsing; a worker parses the command line
        # again, and xdist (remote.py setup_config) tags items with their group only if
        # that parse said loadgroup: else each board's tests would run on any worker
        config.option.loadgroup = True
    elif worker is None and _wants_places(config):
        places = _take_places(config)
    else:
        return
    LABELS.update({url: name for url, name, _c in places})
    config.option.port = [url for url, _n, _c in places]
    config._camdiag_places_json = places


def _sigterm_as_ctrl_c(_signum, _frame):
    # once: a second SIGTERM (`timeout` passes its own on, a supervisor repeats it) must not
    # cut short the release of the places the first one started
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _take_places(config) -> list:
    from .errors import CamdiagError
    from .farm.places import Places

    # (--lg-coordinator is labgrid's own pytest plugin's option, loaded with labgrid)
    lg = Places(config.getoption("lg_coordinator", None), wait_s=config.getoption("--lg-wait"))
    config._camdiag_lg = lg
    filters = (config.getoption("--lg-reserve") or "").split()
    try:
        taken = lg.take(config.getoption("--lg-place"), filters or None,
                        config.getoption("--boards"))
    except CamdiagError as e:
        raise pytest.UsageError(str(e)) from None
    import atexit
    import signal
    import sys

    atexit.register(lg.release)  # (also when the session dies before pytest_unconfigure)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # a SIGTERM (a CI timeout, `kill`) ends the session as Ctrl-C does: places released
        signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
    for p in taken:
        print(f"labgrid place {p.name}: {p.url} (acquired at {lg.coordinator})",
              file=sys.stderr)
    return [[p.url, p.name, lg.coordinator] for p in taken]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist: the workers get the places the controller took (they do not see options
    changed after the command line was parsed)."""
    import json

    places = getattr(node.config, "_camdiag_places_json", None)
    if places:
        node.workerinput["camdiag_places"] = json.dumps(places)


def pytest_unconfigure(config):
    lg = getattr(config, "_camdiag_lg", None)
    if lg is not None:
        for problem in lg.release():
            print(f"camdiag: {problem}")
        config._camdiag_lg = None


def _ports(config) -> list[str]:
    return config.getoption("--port") or ["sim://"]


def _is_sim(port: str) -> bool:
    return port.startswith("sim://")


def pytest_generate_tests(metafunc):
    """Several real boards: every test that uses the board runs once per board."""
    ports = [p for p in _ports(metafunc.config) if not _is_sim(p)]
    if len(ports) > 1 and "board_port" in metafunc.fixturenames:
        metafunc.parametrize("board_port", ports, scope="module",
                             ids=[_label(p) for p in ports])


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    ports = _ports(config)
    real = not all(_is_sim(p) for p in ports)
    skip_sim = pytest.mark.skip(reason="needs the virtual board (its flash image or fault "
                                       "matrix); --port is a real board")
    for item in items:
        if real and "sim" in item.keywords:
            item.add_marker(skip_sim)
        cs = getattr(item, "callspec", None)
        if cs is not None and "board_port" in cs.params:
            # xdist --dist loadgroup: one worker per board, each board's tests in order
            item.add_marker(pytest.mark.xdist_group(name=_label(cs.params["board_port"])))


def _label(port: str) -> str:
    if port in LABELS:
        return LABELS[port]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", port.replace("/dev/", "")).strip("_") or "board"


@pytest.fixture(scope="session")
def hil_options(request):
    cfg = request.config
    logs = Path(cfg.getoption("--hil-logs") or Path.cwd() / "build" / "hil")
    logs.mkdir(parents=True, exist_ok=True)
    return {
        "ports": _ports(cfg),
        "board": cfg.getoption("--board"),
        "baud": cfg.getoption("--baud"),
        "rig": cfg.getoption("--rig"),
        "rig_port": cfg.getoption("--rig-port"),
        "logs": logs,
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "gw0"),
    }


@pytest.fixture(scope="module")
def board_port(hil_options):
    return hil_options["ports"][0]


# -- the board under test --------------------------------------------------------------------
class ExpectFailed(AssertionError):
    pass


class Dut:
    """The device under test: device calls, code, and the raw console (write/expect)."""

    def __init__(self, port: str, baud: int, label: str, log_path: Path, sim=None,
                 board: str | None = None):
        self.port = port
        self.baud = baud
        self.label = label
        self.log_path = log_path
        self.sim = sim  # the VirtualBoard when there is one
        self.board = board
        self._console = None
        self._seen = b""

    # device calls ------------------------------------------------------------------
    def link(self):
        from .link import DeviceLink

        self.close_console()
        # (native USB re-enumerates at every reset: wait for the port to come back)
        return DeviceLink(self.port, baud=self.baud, log=None if self.sim else self.log_path,
                          port_wait=30)

    def call(self, name: str, args: dict | None = None, timeout: float = 60.0):
        with self.link() as link:
            return link.call(name, args, timeout=timeout)

    def exec(self, code: str, timeout: float = 30.0) -> str:
        """Run code in the raw REPL; returns what it printed (a device error fails)."""
        with self.link() as link:
            out, err = link.exec_raw(code, timeout=timeout)
        if err:
            raise AssertionError(f"{self.label}: code raised on the board:\n"
                                 f"{err.decode(errors='replace')}")
        return out.decode(errors="replace")

    def in_app(self) -> bool:
        return bool(self.call("button_status").get("app"))

    def wait_app(self, timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        last = "it answered that its app is not running"
        while time.monotonic() < end:
            try:
                if self.in_app():
                    return
            except Exception as e:  # noqa: BLE001 - still booting: try again
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.5)
        raise AssertionError(f"{self.label}: the application is not running after "
                             f"{timeout:.0f} s (last: {last}; log: {self.log_path})")

    def reboot(self) -> None:
        """Soft reset into the application (as `camdiag deploy` does)."""
        from .deploy import reboot_into_app

        link = self.link().open()
        reboot_into_app(link)
        if self.sim is not None:
            self.sim.wait_ready(15)

    # the console, with the application running ---------------------------------------
    def _open_console(self):
        if self._console is None:
            self._reopen_console(time.monotonic() + 30)
            self._seen = b""
        return self._console

    def _reopen_console(self, until: float):
        import serial

        while True:
            if os.path.exists(self.port) or "://" in self.port:
                try:
                    self._console = serial.serial_for_url(self.port, baudrate=self.baud,
                                                          timeout=0.1)
                    return self._console
                except (OSError, serial.SerialException):
                    pass
            if time.monotonic() > until:
                raise ExpectFailed(f"{self.label}: the console port {self.port} did not come "
                                   "back")
            time.sleep(0.1)

    def console(self) -> "Dut":
        """Start following the console now (what came before is dropped): call it before
        the action whose output `expect` is to see."""
        self._open_console().reset_input_buffer()
        self._seen = b""
        return self

    def close_console(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        self._open_console().write(data)

    EVENT = rb"#camdiag-event# (\{[^\r\n]*\})"

    def expect_event(self, name: str, timeout: float = 15.0) -> list[str]:
        """Follow the app's event lines until `name` (or a name starting with it) shows;
        returns every event seen on the way, in order."""
        import json

        seen = []
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            try:
                m = self.expect(self.EVENT, timeout=max(0.0, left))
            except ExpectFailed as e:
                raise ExpectFailed(f"{self.label}: no '{name}' event within {timeout} s "
                                   f"(events seen: {seen}); {e}") from None
            ev = json.loads(m.group(1))["event"]
            seen.append(ev)
            if ev == name or ev.startswith(name + ":"):
                return seen

    def expect(self, pattern, timeout: float = 10.0) -> re.Match:
        """Read the console until the regex matches; the failure shows the pattern, what
        arrived and where the board's log is."""
        con = self._open_console()
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        shown = pattern if isinstance(pattern, str) else pattern.decode()
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self._seen)
            if m:
                self._seen = self._seen[m.end():]
                return m
            if time.monotonic() > end:
                got = self._seen[-1500:].decode(errors="replace")
                raise ExpectFailed(f"{self.label}: expected /{shown}/ within {timeout} s; "
                                   f"got {len(self._seen)} bytes:\n{got}\n(board log: "
                                   f"{self.log_path})")
            try:
                chunk = con.read(512)
            except OSError:  # the port went away (native USB at a reset): follow it back
                self.close_console()
                con = self._reopen_console(end)
                continue
            if chunk:
                self._seen += chunk
                if self.sim is None:
                    with open(self.log_path, "ab") as f:
                        f.write(chunk)


@pytest.fixture(scope="module")
def dut(request, hil_options, board_port):
    """The board for this test module: a fresh virtual board (sim://...), or the real one."""
    from .simboard import VirtualBoard, parse_sim_url

    module = request.module.__name__.rsplit(".", 1)[-1]
    if _is_sim(board_port):
        opts = parse_sim_url(board_port)
        opts.setdefault("realtime", "0")
        opts.update(getattr(request.module, "SIM_OPTIONS", {}))
        label = f"sim-{hil_options['worker']}-{module}"
        log_path = hil_options["logs"] / f"{label}.log"
        log_path.unlink(missing_ok=True)
        vb = VirtualBoard(board=opts.pop("board", None) or hil_options["board"] or "sim",
                          options=opts, log_path=log_path)
        with vb:
            assert vb.wait_ready(15), f"virtual board did not start (log: {log_path})"
            d = Dut(vb.port, hil_options["baud"], label, log_path, sim=vb)
            d.wait_app()
            yield d
            d.close_console()
    else:
        label = _label(board_port)
        log_path = hil_options["logs"] / f"{label}.log"
        d = Dut(board_port, hil_options["baud"], label, log_path, board=hil_options["board"])
        yield d
        d.close_console()


@pytest.fixture(autouse=True)
def _board_back_in_app(request):
    """After every test that used the board, it must be back in its application."""
    yield
    if "dut" not in request.fixturenames:
        return
    d = request.getfixturevalue("dut")
    if getattr(request.node, "_hil_failed", False):
        return  # the failure is the story; do not pile a second one on it
    d.wait_app(timeout=30)


# -- rigs ---------------------------------------------------------------------------------
class Rig:
    name = "none"
    caps: frozenset = frozenset()

    def missing(self, needed) -> list[str]:
        return [c for c in needed if c not in self.caps]

    def why_not(self, needed) -> str | None:
        miss = self.missing(needed)
        if miss:
            return f"rig '{self.name}' cannot {', '.join(miss)}"
        return None

    def restore(self) -> None:
        """Undo every injected fault: healthy audio path, good radio, nothing pressed."""


class SimRig(Rig):
    """Drives the virtual board's injection: exact, repeatable, instant."""

    name = "sim"
    caps = frozenset(CAPABILITIES)

    def __init__(self, dut: Dut):
        self.dut = dut
        self.vb = dut.sim
        from .boards import load

        self.dut_pin = load(self.vb.board)["button"]["pin"]

    def press_button(self, ms: int, count: int = 1, gap_ms: int = 250) -> None:
        from .simboard import press_steps

        self.vb.inject("pin", pin=self.dut_pin, steps=press_steps(ms, count, gap_ms))

    def hold_at_boot(self, ms: int = 3000) -> None:
        """Power the board on with the button held (safe mode); released ms after boot.py
        has run, as a person holds it until the board is up (a fixed 3 s from power-on ran
        out before boot.py sampled the button on a loaded CI machine)."""
        self.vb.options["button_held_ms"] = "600000"
        try:
            self.power_cycle()
        finally:
            self.vb.options.pop("button_held_ms", None)
        self.vb.inject("pin", pin=self.dut_pin, steps=[[ms, 1]])

    def cut_speaker(self) -> None:
        self.vb.set_faults(["speaker_silent"])

    def cut_mic(self) -> None:
        self.vb.set_faults(["mic_dead"])

    def set_rssi_scenario(self, name: str, elapsed_s: float = 0.0) -> None:
        self.vb.set_radio(name, elapsed_s=elapsed_s)

    def set_scan_table(self, name: str) -> None:
        self.vb.set_radio(scan=name)

    def power_cycle(self) -> None:
        # (60 s: a bound for a board that never comes back, not a speed; a loaded CI
        # machine took more than 15 s)
        assert self.vb.power_cycle(60), "the virtual board did not power on again"

    def restore(self) -> None:
        self.vb.set_faults([])
        self.vb.set_radio("steady_good", "clean")


class ManualRig(Rig):
    """An operator at the bench does what the test asks (press, hold, cut a wire...)."""

    name = "manual"
    caps = frozenset(c for c in CAPABILITIES if c != "set_rssi_scenario")
    _SAY = {
        "press_button": "press the reset button {count} time(s), each for about {ms} ms, "
                        "quickly one after the other",
        "hold_at_boot": "hold the reset button, unplug and replug the camera's power, keep "
                        "holding for 3 s, then release",
        "cut_speaker": "unplug the speaker cable",
        "cut_mic": "unplug the microphone cable",
        "restore": "plug the speaker and microphone cables back in",
        "power_cycle": "unplug the camera's power for 3 s and plug it back in",
    }

    def __init__(self, config):
        self.config = config
        self.tty = None
        try:
            self.tty = open("/dev/tty", "r+")  # noqa: SIM115 - kept for the session
        except OSError:
            self.tty = None

    def why_not(self, needed) -> str | None:
        why = super().why_not(needed)  # what no operator can do comes first
        if why is None and needed and self.tty is None:
            why = ("manual rig: no operator terminal (non-interactive run); run "
                   "`make hil PORT=... RIG=manual` at the bench")
        return why

    def _ask(self, what: str, **kw) -> None:
        capman = self.config.pluginmanager.getplugin("capturemanager")
        text = self._SAY[what].format(**kw)
        if capman:
            capman.suspend_global_capture(in_=True)
        try:
            self.tty.write(f"\n[camdiag HIL] please {text}, then press Enter: ")
            self.tty.flush()
            self.tty.readline()
        finally:
            if capman:
                capman.resume_global_capture()

    def press_button(self, ms: int, count: int = 1, gap_ms: int = 250) -> None:
        self._ask("press_button", ms=ms, count=count)

    def hold_at_boot(self, ms: int = 3000) -> None:
        self._ask("hold_at_boot")

    def cut_speaker(self) -> None:
        self._ask("cut_speaker")

    def cut_mic(self) -> None:
        self._ask("cut_mic")

    def power_cycle(self) -> None:
        self._ask("power_cycle")

    def restore(self) -> None:
        pass  # asked for explicitly by tests that cut something (see test_rig_faults)


class SerialLinesRig(Rig):
    """A USB-UART's modem lines as bench wiring (README, "Bench rig"):
    DTR -> optocoupler across the reset button (DTR asserted = pressed);
    RTS -> relay in the camera's 5 V supply (RTS asserted = power off)."""

    name = "serial-lines"
    caps = frozenset({"press_button", "hold_at_boot", "power_cycle", "restore"})

    def __init__(self, rig_port: str | None):
        self.port = rig_port
        self.s = None
        self.error = None
        if not rig_port:
            self.error = "serial-lines rig: give the USB-UART wired to the button/power " \
                         "with --rig-port"
            return
        try:
            import serial

            self.s = serial.serial_for_url(rig_port, do_not_open=True)
            self.s.dtr = False
            self.s.rts = False
            self.s.open()
        except Exception as e:  # noqa: BLE001 - reported as the skip reason
            self.error = f"serial-lines rig: cannot open {rig_port}: {e}"

    def why_not(self, needed) -> str | None:
        why = super().why_not(needed)
        if why is None and needed and self.error:
            why = self.error
        return why

    def press_button(self, ms: int, count: int = 1, gap_ms: int = 250) -> None:
        for i in range(count):
            if i:
                time.sleep(gap_ms / 1000)
            self.s.dtr = True
            time.sleep(ms / 1000)
            self.s.dtr = False

    def power_cycle(self, off_s: float = 2.0) -> None:
        self.s.rts = True
        time.sleep(off_s)
        self.s.rts = False

    def hold_at_boot(self, ms: int = 3000) -> None:
        self.s.dtr = True
        try:
            self.power_cycle()
            time.sleep(ms / 1000)
        finally:
            self.s.dtr = False

    def restore(self) -> None:
        if self.s is not None:
            self.s.dtr = False
            self.s.rts = False


@pytest.fixture(scope="module")
def _rig_backend(request, hil_options, board_port):
    kind = hil_options["rig"]
    if kind == "sim":
        if not _is_sim(board_port):
            r = Rig()
            r.name = "sim (but --port is a real board: use --rig manual or serial-lines)"
            yield r
            return
        yield SimRig(request.getfixturevalue("dut"))
    elif kind == "manual":
        yield ManualRig(request.config)
    elif kind == "labgrid":
        from .farm.rig import LabgridRig

        r = LabgridRig(LABELS.get(board_port), getattr(request.config, "_camdiag_places_json",
                                                       None))
        yield r
        r.close()
    elif kind == "serial-lines":
        r = SerialLinesRig(hil_options["rig_port"])
        yield r
        if r.s is not None:
            r.s.close()
    else:
        yield Rig()


@pytest.fixture
def rig(request, _rig_backend):
    """The rig, checked against the test's @pytest.mark.rig(...) needs (skip with the
    reason when it lacks one); restored after the test."""
    needed = []
    for mark in request.node.iter_markers("rig"):
        needed.extend(mark.args)
    why = _rig_backend.why_not(needed)
    if why:
        pytest.skip(why)
    yield _rig_backend
    _rig_backend.restore()


# -- the fault table (build/faults.md; docs/faults.md by `make faults-doc`) ------------------
@pytest.fixture
def fault_table():
    """record(area, case, what_happened): a row of the fault table, written at session end."""
    from .faulttable import record

    return record


def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return  # xdist workers: the controller writes the table once
    from .faulttable import write_built

    write_built()


# -- results per board --------------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item._hil_failed = True
    d = item.funcargs.get("dut") if hasattr(item, "funcargs") else None
    if d is None and report.when != "setup":
        return
    if d is not None:
        if ("board", d.label) not in report.user_properties:
            report.user_properties.append(("board", d.label))
        if report.when == "call" and report.failed and d.log_path.exists():
            tail = d.log_path.read_bytes()[-2000:].decode(errors="replace")
            report.sections.append((f"board log {d.log_path} (tail)", tail))


def pytest_terminal_summary(terminalreporter):
    per: dict[str, dict[str, int]] = {}
    for key in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(key, []):
            if getattr(rep, "when", "call") != "call" and key == "passed":
                continue
            board = dict(getattr(rep, "user_properties", [])).get("board")
            if board is None:
                continue
            per.setdefault(board, {}).setdefault(key, 0)
            per[board][key] += 1
    if not per:
        return
    tr = terminalreporter
    tr.write_sep("-", "results per board")
    for board in sorted(per):
        counts = ", ".join(f"{n} {k}" for k, n in sorted(per[board].items()))
        tr.write_line(f"{board}: {counts}")

