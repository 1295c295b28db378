"""`camdiag farm`: stand up a farm host on labgrid.

Virtual boards (default): starts N of them, their control server (button, power), writes
the exporter config, starts `labgrid-exporter` against the coordinator (or starts a local
`labgrid-coordinator` first), and creates one place per board, tagged
`board=camdiag-sim` and `unique_id=<the board's>`. Ctrl-C (or SIGTERM) stops it all and
deletes its places. `--real` prints the exporter YAML for the ESP32 boards plugged in here
(matched by udev ID_SERIAL_SHORT, served by the exporter through ser2net as RFC2217).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ..errors import CamdiagError
from . import BOARD_TAG, tool

READY_S = 30.0


def _listening(addr: str, timeout: float) -> bool:
    host, port = addr.rsplit(":", 1)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def client(coordinator: str, *args: str, timeout: float = 60.0) -> str:
    """Run labgrid-client against the coordinator; its stdout, or CamdiagError with its
    error line."""
    try:
        res = subprocess.run([tool("labgrid-client"), "-x", coordinator, *args],
                             capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CamdiagError(f"labgrid-client {' '.join(args)}: no answer from the "
                           f"coordinator at {coordinator} in {timeout:.0f} s") from None
    if res.returncode != 0:
        lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
        msg = lines[-1] if lines else f"exit {res.returncode}"
        raise CamdiagError(f"labgrid: {msg.removeprefix('labgrid-client: ')}")
    return res.stdout


SERIALS = ("raw", "rfc2217")


def exporter_config(places: dict, control, rfc2217: dict | None = None) -> dict:
    """The exporter's resources: per place, the board's serial port (its socket:// port as
    raw TCP, or its pty through an RFC2217 server, as ser2net serves a real tty), its
    button (HttpDigitalOutput) and its power switch (NetworkPowerPort, simplerest)."""
    out = {}
    for name, vb in places.items():
        if rfc2217:
            port, protocol = rfc2217[name].port, "rfc2217"
        else:
            port, protocol = int(vb.url.rsplit(":", 1)[1]), "raw"
        out[name] = {
            "NetworkSerialPort": {"host": "127.0.0.1", "port": port, "speed": 115200,
                                  "protocol": protocol},
            "HttpDigitalOutput": {"url": control.url(name, "button"), "body_asserted": "1",
                                  "body_deasserted": "0"},
            "NetworkPowerPort": {"model": "simplerest", "index": 0,
                                 "host": control.url(name, "power") + "/{value}"},
        }
    return out


def real_exporter_yaml(prefix: str = "camdiag") -> str:
    """Exporter YAML for the ESP32 boards plugged in here, one group (place) per board."""
    from ..ports import likely_esp32_ports

    found = [p for p in likely_esp32_ports() if p.serial]
    if not found:
        raise CamdiagError("no ESP32 board with a USB serial number found here "
                           "(`camdiag ports` lists what there is)")
    groups = {}
    for p in found:
        groups[f"{prefix}-{p.serial}"] = {
            "USBSerialPort": {"match": {"ID_SERIAL_SHORT": p.serial}, "speed": 115200}}
    head = ("# labgrid-exporter config for the boards on this host (camdiag farm --real).\n"
            "# Each USBSerialPort is served through ser2net as RFC2217: clients use\n"
            "# rfc2217://host:port?ign_set_control. ser2net raises DTR and RTS when it opens\n"
            "# a port: keep a serial-lines rig's USB-UART out of this file (drive button\n"
            "# and power with HttpDigitalOutput / ModbusTCPCoil relays and a NetworkPowerPort\n"
            "# instead; README, \"A labgrid farm\").\n")
    return head + yaml.safe_dump(groups, sort_keys=True)


class Farm:
    """N virtual boards published as labgrid places. start() ... stop()."""

    def __init__(self, boards: int = 2, coordinator: str | None = None,
                 prefix: str = BOARD_TAG, exporter: str | None = None,
                 options: dict | None = None, serial: str = "raw"):
        if boards < 1:
            raise CamdiagError("--boards: at least 1")
        if serial not in SERIALS:
            raise CamdiagError(f"--serial {serial}: one of {', '.join(SERIALS)}")
        self.serial = serial
        self.rfc2217: dict = {}
        self.n = boards
        self.coordinator = coordinator
        self.prefix = prefix
        self.exporter_name = exporter or f"farm-{socket.gethostname()}-{os.getpid()}"
        self.options = dict(options or {})
        self.dir: Path | None = None
        self.boards: dict = {}
        self.places: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.control = None

    def _spawn(self, argv: list[str], name: str) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "wb")  # noqa: SIM115 - kept for the process
        p = subprocess.Popen(argv, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def start(self) -> "Farm":
        from ..simboard import VirtualBoard
        from .control import ControlServer

        self.dir = Path(tempfile.mkdtemp(prefix="camdiag-farm-"))
        try:
            if self.coordinator is None:
                from ..qemuboard import free_port

                self.coordinator = f"127.0.0.1:{free_port()}"
                # (its state files, places.yaml and resources.yaml, go to its cwd: self.dir)
                self._spawn([tool("labgrid-coordinator"), "-l", self.coordinator],
                            "coordinator")
                if not _listening(self.coordinator, READY_S):
                    raise CamdiagError(f"labgrid-coordinator did not start (log: "
                                       f"{self.dir / 'coordinator.log'})")
            elif not _listening(self.coordinator, 5):
                raise CamdiagError(f"no labgrid coordinator at {self.coordinator}")
            for i in range(1, self.n + 1):
                vb = VirtualBoard(options=self.options).start()
                self.boards[f"{self.prefix}-{i}"] = vb
            for name, vb in self.boards.items():
                if not vb.wait_ready(30):
                    raise CamdiagError(f"virtual board {name} did not start (log: "
                                       f"{vb.log_path})")
            self.control = ControlServer(self.boards).start()
            if self.serial == "rfc2217":
                from .rfc2217 import Rfc2217Server

                self.rfc2217 = {name: Rfc2217Server(vb.port).start()
                                for name, vb in self.boards.items()}
            cfg = self.dir / "exporter.yaml"
            cfg.write_text(yaml.safe_dump(exporter_config(self.boards, self.control,
                                                          self.rfc2217)))
            self._spawn([tool("labgrid-exporter"), "-c", self.coordinator,
                         "-n", self.exporter_name, "--hostname", "127.0.0.1", str(cfg)],
                        "exporter")
            self._wait_resources()
            for name, vb in self.boards.items():
                self._place(name, vb)
        except BaseException:
            self.stop()
            raise
        return self

    def url(self, name: str) -> str:
        """The URL a client resolving the place gets."""
        if self.rfc2217:
            from .places import port_url

            return port_url("127.0.0.1", self.rfc2217[name].port, "rfc2217")
        return self.boards[name].url

    def _wait_resources(self) -> None:
        end = time.monotonic() + READY_S
        want = {f"{self.exporter_name}/{n}/NetworkSerialPort" for n in self.boards}
        while time.monotonic() < end:
            if self.procs[-1].poll() is not None:
                raise CamdiagError("labgrid-exporter exited: "
                                   + (self.dir / "exporter.log").read_text()[-300:])
            have = set(client(self.coordinator, "resources").split())
            if want <= have:
                return
            time.sleep(0.3)
        raise CamdiagError(f"the exporter's resources did not appear at {self.coordinator}")

    def _place(self, name: str, vb) -> None:
        existing = client(self.coordinator, "places").split()
        if name in existing:  # left by a farm that did not stop cleanly: take it over
            client(self.coordinator, "-p", name, "delete")
        client(self.coordinator, "-p", name, "create")
        self.places.append(name)
        client(self.coordinator, "-p", name, "add-match", f"{self.exporter_name}/{name}/*")
        client(self.coordinator, "-p", name, "set-tags", f"board={BOARD_TAG}",
               f"unique_id={vb._uid()}")

    def stop(self) -> None:
        for name in self.places:
            try:
                client(self.coordinator, "-p", name, "delete", timeout=15)
            except CamdiagError:
                pass  # (the coordinator may be gone already)
        self.places = []
        for p in reversed(self.procs):  # exporter first, then the coordinator
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        if self.control is not None:
            self.control.stop()
            self.control = None
        for server in self.rfc2217.values():
            server.stop()
        self.rfc2217 = {}
        for vb in self.boards.values():
            vb.stop()
        self.boards = {}
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "Farm":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def cmd_farm(args) -> int:
    if args.real:
        sys.stdout.write(real_exporter_yaml())
        return 0
    opts = {"realtime": "0"} if args.fast else {}
    farm = Farm(boards=args.boards, coordinator=args.coordinator, prefix=args.prefix,
                options=opts, serial=args.serial)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    farm.start()
    try:
        print(f"farm up: {len(farm.boards)} virtual boards, coordinator {farm.coordinator}, "
              f"exporter {farm.exporter_name}")
        for name, vb in farm.boards.items():
            print(f"  place {name}  board={BOARD_TAG} unique_id={vb._uid()}  "
                  f"({farm.url(name)})")
        print(f"try: labgrid-client -x {farm.coordinator} places   |   make hil "
              f"LG='--lg-coordinator {farm.coordinator} --lg-reserve board={BOARD_TAG} "
              f"--boards {len(farm.boards)}' RIG=labgrid")
        print("Ctrl-C to stop", flush=True)
        while not stop:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        farm.stop()
    print("\nfarm stopped: places deleted, exporter and boards stopped")
    return 0
