"""Serial ports, with the ones likely to be an ESP32 board marked by USB VID:PID."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# USB-serial IDs seen on ESP32 boards (shared/REFERENCE.md).
ESP32_USB_IDS = {
    # the chip's own USB-Serial-JTAG (ESP32-S3/C3/C6): ROM, esptool, a UART-REPL firmware
    (0x303A, 0x1001): "ESP32-S3 USB-Serial-JTAG",
    # MicroPython's TinyUSB CDC on the S3's USB-OTG port (ports/esp32/mpconfigport.h:
    # USB_TUSB_PID = 0x4000 | CDC bit): re-enumerates at every chip reset, after boot.py
    (0x303A, 0x4001): "MicroPython native USB (ESP32-S3)",
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x1A86, 0x7523): "WCH CH340",
    (0x1A86, 0x55D4): "WCH CH9102",
    (0x0403, 0x6001): "FTDI FT232R",
}


@dataclass
class PortInfo:
    device: str
    description: str
    vid_pid: str | None
    likely_esp32: bool
    chip: str | None
    serial: str | None = None  # the USB serial number (udev ID_SERIAL_SHORT)

    def as_dict(self) -> dict:
        return asdict(self)


def list_ports() -> list[PortInfo]:
    from serial.tools import list_ports as lp

    out = []
    for p in sorted(lp.comports(), key=lambda p: p.device):
        vid_pid = None
        chip = None
        if p.vid is not None and p.pid is not None:
            vid_pid = "%04x:%04x" % (p.vid, p.pid)
            chip = ESP32_USB_IDS.get((p.vid, p.pid)) or _tinyusb(p.vid, p.pid)
        out.append(PortInfo(p.device, p.description or "", vid_pid, chip is not None, chip,
                            getattr(p, "serial_number", None)))
    return out


def _tinyusb(vid: int, pid: int) -> str | None:
    """MicroPython's auto PID on Espressif's VID: 0x4000 | CDC | MSC << 1 | HID << 2 | ...
    (a firmware built with more USB classes): a CDC among them is the REPL."""
    if vid == 0x303A and pid & 0xFF00 == 0x4000 and pid & 1:
        return "MicroPython native USB (ESP32-S3, PID %04x)" % pid
    return None


def likely_esp32_ports() -> list[PortInfo]:
    return [p for p in list_ports() if p.likely_esp32]


def auto_port() -> tuple[str, str]:
    """The one likely ESP32 board attached: (device, description). With none or several,
    a CamdiagError saying what was found and how to choose."""
    from .errors import CamdiagError

    ports = list_ports()
    likely = [p for p in ports if p.likely_esp32]
    if len(likely) == 1:
        return likely[0].device, likely[0].chip or likely[0].description
    if not likely:
        seen = ", ".join(p.device for p in ports) or "no serial ports at all"
        raise CamdiagError(f"no ESP32 board found (ports: {seen}): plug the camera in with a "
                           f"data cable, or give --port (sim:// for a virtual board)")
    listed = ", ".join(f"{p.device} ({p.chip})" for p in likely)
    raise CamdiagError(f"several ESP32 boards attached: {listed}; choose one with --port")
