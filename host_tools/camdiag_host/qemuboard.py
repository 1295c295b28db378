"""The QEMU board: the real MicroPython ESP32 port in Espressif's QEMU, on a socket:// port.

What a user with ESP-IDF has (`idf_tools.py install qemu-xtensa`) plus the official
MicroPython ESP32_GENERIC image: the real REPL and raw REPL, LittleFS, machine.Pin/Timer/WDT,
Xtensa viper code with 32-bit integers, float32, the 2**30 ticks period and the real heap.
No I2S and no Wi-Fi (`network.WLAN(...).active(True)` crashes the guest), so its profile,
boards/esp32-qemu/board.json, has the radio off.

A board starts from a flash image as a factory would program it: 0xFF, the MicroPython
image at 0x1000, then camdiag deployed through the real raw REPL with `camdiag deploy`.
That image is built once per firmware and cached under build/qemu-images/; each board
boots a copy (or the file given as flash=, kept between runs).

Tools: `qemu=` (the qemu-system-xtensa binary), `rom=` (its ROM folder), `image=` (the
MicroPython .bin), else $CAMDIAG_QEMU / $CAMDIAG_QEMU_ROM / $CAMDIAG_QEMU_IMAGE, else
$CAMDIAG_QEMU_DIR or ../shared/esp32-qemu beside the checkout (qemu-system-xtensa, rom/,
firmware/*.bin).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from . import ROOT
from .errors import CamdiagError

QEMU_OPTIONS = ("qemu", "rom", "image", "flash", "board", "i2s", "icount")
# The guest's clock counts its own instructions (QEMU -icount, docs/devel/tcg-icount.rst):
# 2**3 ns each, 125 million a second, about an ESP32 at ESP32_GENERIC's 160 MHz (ESP-IDF's
# CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ; ports/esp32/boards/sdkconfig.240mhz is other boards').
# In real time instead (icount=off), a host too busy to run QEMU's vCPU thread looks to
# the guest like a stalled chip: under load the board restarted mid-test in CI, the
# acoustic model's RX ring overran (an i2s_fault verdict on a healthy board) and the I2S
# start skew the self-test measures by ticks_us came out 1-2 ms long. Counted, the same
# self-test gives the same figures with the host idle or with three busy loops beside it.
ICOUNT = "shift=3"
# i2s=model (default): the self-test's I2S is the acoustic model on the board; i2s=machine:
# the port's own machine.I2S, which QEMU does not emulate (a TX write never returns: the
# app's watchdog resets the board and the next boot logs an i2s_fault record)
I2S_CHOICES = ("model", "machine")
# The on-board acoustic model's options (boards/esp32-qemu/acoustic_i2s.py), as on sim://
MODEL_OPTIONS = ("fault", "seed", "snr", "realtime", "mic_slot", "sd_float")
FLASH_BYTES = 4 << 20
APP_OFFSET = 0x1000  # where the ESP32's second-stage bootloader image goes
# ports/esp32/partitions-4MiB.csv (ESP32_GENERIC): vfs, data, fat, 0x200000, 0x200000
VFS_OFFSET = 0x200000
VFS_BYTES = 0x200000
BANNER = b"MicroPython v"
APP_STARTED = b'"app_started"'  # camdiag's app, up (firmware/camdiag/app.py main)
HOW_TO_GET = ("install Espressif's QEMU (`idf_tools.py install qemu-xtensa`, plus `apt-get "
              "install libfdt1 libslirp0`) and the MicroPython ESP32_GENERIC image, then give "
              "them as qemu://?qemu=...&rom=...&image=... or set CAMDIAG_QEMU_DIR to a folder "
              "holding qemu-system-xtensa, rom/ and firmware/*.bin")


# Run on the board (raw REPL): a RAM disk at /ram, for code that should not load from the
# emulated flash, where every read costs ~10 ms (tests/test_on_qemu.py, `make bench`).
RAMDISK = """
import vfs, sys
class RAMBlockDev:
    # a bytearray per block: the ESP32's heap grows in separate areas, and one block
    # of 100 KB may not fit in any of them (py/gc.c gc_try_add_heap)
    def __init__(self, block_size, num_blocks):
        self.block_size = block_size
        self.blocks = [bytearray(block_size) for _ in range(num_blocks)]
    def readblocks(self, n, buf, off=0):
        bs = self.block_size
        mv = memoryview(buf)
        i = 0
        while i < len(buf):
            a = off + i
            b = self.blocks[n + a // bs]
            k = min(len(buf) - i, bs - a % bs)
            mv[i:i + k] = b[a % bs:a % bs + k]
            i += k
    def writeblocks(self, n, buf, off=None):
        bs = self.block_size
        off = off or 0
        i = 0
        while i < len(buf):
            a = off + i
            b = self.blocks[n + a // bs]
            k = min(len(buf) - i, bs - a % bs)
            b[a % bs:a % bs + k] = buf[i:i + k]
            i += k
    def ioctl(self, op, arg):
        if op == 4: return len(self.blocks)
        if op == 5: return self.block_size
        if op == 6: return 0
_bd = RAMBlockDev(512, {blocks})
vfs.VfsLfs2.mkfs(_bd)
vfs.mount(vfs.VfsLfs2(_bd), "/ram")
import os
for d in {dirs}:
    os.mkdir(d)
"""


def parse_qemu_url(url: str) -> dict:
    """`qemu://?image=x.bin` -> {"image": "x.bin"}; unknown options are refused."""
    parts = urlsplit(url)
    if parts.scheme != "qemu":
        raise CamdiagError(f"not a QEMU board URL: {url}")
    opts = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key in opts:
        if key not in QEMU_OPTIONS + MODEL_OPTIONS:
            raise CamdiagError(f"unknown QEMU board option '{key}' in {url}: use "
                               f"{', '.join(QEMU_OPTIONS + MODEL_OPTIONS)}")
    if opts.get("i2s", "model") not in I2S_CHOICES:
        raise CamdiagError(f"i2s={opts['i2s']} in {url}: use i2s={' or i2s='.join(I2S_CHOICES)}")
    icount = opts.get("icount", ICOUNT)
    if icount not in ("off", "auto") and not re.fullmatch(r"shift=([0-9]|10)", icount):
        raise CamdiagError(f"icount={icount} in {url}: use icount=shift=N (N 0-10), "
                           "icount=auto or icount=off (real time)")
    from .simboard import check_model

    check_model(opts, url)
    return opts


def find_tools(opts: dict | None = None) -> tuple[Path, Path, Path]:
    """(qemu binary, ROM folder, MicroPython image); CamdiagError with how to get them."""
    opts = opts or {}
    base = Path(os.environ.get("CAMDIAG_QEMU_DIR") or ROOT.parent / "shared" / "esp32-qemu")
    qemu = Path(opts.get("qemu") or os.environ.get("CAMDIAG_QEMU") or base / "qemu-system-xtensa")
    rom = Path(opts.get("rom") or os.environ.get("CAMDIAG_QEMU_ROM") or base / "rom")
    image = opts.get("image") or os.environ.get("CAMDIAG_QEMU_IMAGE")
    if not image:
        found = sorted((base / "firmware").glob("ESP32_GENERIC*.bin")) if base.is_dir() else []
        image = found[-1] if found else base / "firmware" / "ESP32_GENERIC.bin"
    image = Path(image)
    for what, path in (("QEMU binary", qemu), ("QEMU ROM folder", rom),
                       ("MicroPython image", image)):
        if not path.exists():
            raise CamdiagError(f"no {what} at {path}: {HOW_TO_GET}")
    return qemu, rom, image


def available() -> str | None:
    """None when a QEMU board can start here, else why not (one line)."""
    try:
        qemu, _rom, _image = find_tools()
    except CamdiagError as e:
        return str(e)
    res = subprocess.run([str(qemu), "--version"], capture_output=True, text=True)
    if res.returncode != 0:
        first = (res.stderr or res.stdout).strip().splitlines()
        return f"{qemu} does not run: {first[0] if first else res.returncode} ({HOW_TO_GET})"
    return None


def blank_flash(image: Path) -> bytearray:
    fw = image.read_bytes()
    if not fw or fw[0] != 0xE9:
        raise CamdiagError(f"{image}: not an ESP32 application image (no 0xE9 magic byte)")
    flash = bytearray(b"\xff" * FLASH_BYTES)
    flash[APP_OFFSET:APP_OFFSET + len(fw)] = fw
    return flash


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (QEMU's serial port, a farm's coordinator)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuBoard:
    """One emulated ESP32. `url` is its socket:// port (one client at a time)."""

    def __init__(self, board: str = "esp32-qemu", options: dict | None = None,
                 flash: str | Path | None = None, deploy_firmware: bool = True):
        self.options = dict(options or {})
        self.board = self.options.pop("board", None) or board
        self.qemu, self.rom, self.image = find_tools(self.options)
        keep = flash or self.options.get("flash")
        self.flash = Path(keep) if keep else None
        self.deploy_firmware = deploy_firmware
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.log_path: Path | None = None

    # -- images ----------------------------------------------------------------------
    def _factory_image(self) -> Path:
        """MicroPython at 0x1000 and camdiag on its LittleFS, as a factory programs a board:
        the filesystem is built on the host by the unix port's own VfsLfs2 (the virtual
        board's image builder: same 4 KB blocks and read/prog sizes as the port mounts
        with) and written at the vfs partition. Built once per firmware, cached.

        (Deploying through the emulated REPL instead leaves LittleFS with a long metadata
        log, and the emulated SPI flash makes every small read slow: a listdir of the
        package then took 30 s in QEMU. `camdiag deploy --port qemu://` is still tested.)"""
        from . import simboard

        h = hashlib.sha256(self.image.read_bytes())
        cache = ROOT / "build" / "qemu-images"
        cache.mkdir(parents=True, exist_ok=True)
        fs = cache / f"{self.board}-{os.getpid()}.lfs"
        model = {k: self.options[k] for k in MODEL_OPTIONS if k in self.options}
        try:
            audio = {"driver": self.options["i2s"]} if "i2s" in self.options else None
            simboard.make_flash_image(fs, self.board, VFS_BYTES // 4096, audio=audio,
                                      files={"/model.json": json.dumps(model).encode()})
            h.update(fs.read_bytes())
            out = cache / f"{self.board}-{h.hexdigest()[:20]}.bin"
            if not out.exists():
                flash = blank_flash(self.image)
                flash[VFS_OFFSET:VFS_OFFSET + VFS_BYTES] = fs.read_bytes()
                tmp = out.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(flash)
                os.replace(tmp, out)  # atomic: parallel workers may race to build it
        finally:
            fs.unlink(missing_ok=True)
        return out

    # -- life cycle ------------------------------------------------------------------
    def start(self, timeout: float = 300.0) -> "QemuBoard":
        self.dir = Path(tempfile.mkdtemp(prefix="camdiag-qemu-"))
        self.log_path = self.dir / "qemu.log"
        if self.flash is None:
            flash = self.dir / "flash.bin"
            if self.deploy_firmware:
                shutil.copyfile(self._factory_image(), flash)
            else:
                flash.write_bytes(blank_flash(self.image))
        else:
            flash = self.flash
            if not flash.exists():  # a board of one's own: programmed once, kept
                if self.deploy_firmware:
                    shutil.copyfile(self._factory_image(), flash)
                else:
                    flash.write_bytes(blank_flash(self.image))
        port = free_port()
        self.url = f"socket://127.0.0.1:{port}"
        cmd = [str(self.qemu), "-L", str(self.rom), "-nographic", "-machine", "esp32",
               "-drive", f"file={flash},if=mtd,format=raw",
               "-serial", f"tcp:127.0.0.1:{port},server,nowait", "-monitor", "none"]
        icount = self.options.get("icount", ICOUNT)
        if icount != "off":
            cmd += ["-icount", icount]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        self._wait_booted(port, timeout)
        return self

    def _wait_booted(self, port: int, timeout: float) -> None:
        """Until the board is up: camdiag's app announces itself (an `app_started` event),
        a board without it (or in safe mode) shows the REPL banner, which the port prints
        only after boot.py and main.py (ports/esp32/main.c). QEMU listens at once; in it
        every flash read costs ~10 ms (one FreeRTOS tick), so booting from LittleFS takes
        a while."""
        end = time.monotonic() + timeout
        seen = b""
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise CamdiagError(f"QEMU exited ({self.proc.returncode}): "
                                   f"{self.log_path.read_text(errors='replace')[-300:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.settimeout(0.5)
                    while time.monotonic() < end:
                        try:
                            chunk = s.recv(4096)
                        except socket.timeout:
                            continue
                        if not chunk:
                            break
                        seen = (seen + chunk)[-4096:]
                        if APP_STARTED in seen or BANNER in seen:
                            return
            except OSError:
                time.sleep(0.2)
        tail = seen[-200:].decode(errors="replace")
        self.stop()
        raise CamdiagError(f"the QEMU board did not boot in {timeout:.0f} s (last output: "
                           f"{tail!r})")

    def wait_booted(self, timeout: float = 300.0) -> None:
        """After a reset: until the app announces itself again (or the REPL banner)."""
        self._wait_booted(int(self.url.rsplit(":", 1)[1]), timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "QemuBoard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_for_url(url: str) -> QemuBoard:
    return QemuBoard(options=parse_qemu_url(url)).start()
