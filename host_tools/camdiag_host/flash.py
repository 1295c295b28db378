"""`camdiag flash`: write a MicroPython image to the ESP32-S3 with esptool, then deploy
camdiag onto it. The image is checked first (an ESP image starts with the magic byte 0xE9);
the offset comes from board.json (`firmware_offset`)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from . import boards
from .errors import CamdiagError

ESP_IMAGE_MAGIC = 0xE9


def esp_for(port: str):
    """The esptool loader to use: None lets esptool connect to the port itself (tests
    replace this to fake the serial side)."""
    return None


def check_image(path: str | Path) -> bytes:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise CamdiagError(f"{p}: cannot read the firmware image ({e.strerror})") from None
    why = None
    if not data or data[0] != ESP_IMAGE_MAGIC:
        first = f"0x{data[0]:02x}" if data else "nothing"
        why = f"starts with {first}, an image starts with 0xe9"
    elif len(data) < 24:  # (esptool's image header: 8 bytes, the extended one 16 more)
        why = f"{len(data)} bytes, shorter than an image's 24-byte header"
    if why:
        raise CamdiagError(f"{p}: not an ESP32 firmware image ({why}): download the "
                           "ESP32-S3 .bin from micropython.org/download")
    return data


def check(port: str, firmware: str | Path) -> bytes:
    """The image and the port, before anything is said or done."""
    data = check_image(firmware)
    if port.startswith(("sim://", "qemu://")):
        raise CamdiagError(f"{port.split('?')[0]} is a virtual board: its MicroPython is not "
                           "flashed (the sim runs the unix port, the QEMU board its image "
                           "file); use camdiag deploy")
    return data


def write(port: str, firmware: str | Path, board: str, erase: bool = False,
          baud: int = 460800, quiet: bool = False, stub: bool = True) -> dict:
    import esptool

    data = check(port, firmware)
    prof = boards.load(board)
    if prof["chip"] == "sim":
        raise CamdiagError(f"board '{board}' is the virtual board: it is not flashed (its "
                           f"firmware comes from this checkout); use camdiag deploy")
    offset = prof["firmware_offset"]
    argv = ["--chip", prof["chip"], "--port", port, "--baud", str(baud)]
    if not stub:  # the ROM loader only: slower, for boards where the stub will not start
        argv.append("--no-stub")
    esp = esp_for(port)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
            if erase:
                esptool.main(argv + ["erase-flash"], esp=esp)
            esptool.main(argv + ["write-flash", "--flash-size", "keep", hex(offset),
                                 str(firmware)], esp=esp)
    except (esptool.FatalError, OSError, ValueError) as e:  # (ValueError: pyserial's URL)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CamdiagError(f"flashing {port} failed: {first} (hold BOOT and press RESET to "
                           f"enter the bootloader, then retry)") from None
    return {"bytes": len(data), "offset": offset, "chip": prof["chip"], "erased": erase}
