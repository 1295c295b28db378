"""An RFC2217 server for one serial port, one client at a time (`camdiag farm --serial
rfc2217`).

On a real farm the exporter serves each board's tty through ser2net as RFC2217. This does
the same for a virtual board's pty with pyserial's own server side (`serial.rfc2217.
PortManager`, as pyserial's examples/rfc2217_server.py uses it), with one difference that
matters for a farm: ser2net accepts several clients on a port at once and mixes their
traffic (labgrid's exclusive lock covers places, not URLs), so this server refuses a second
client while one is connected: it is closed at once, and its open fails.
"""

from __future__ import annotations

import logging
import socket
import threading

import serial
import serial.rfc2217

log = logging.getLogger("camdiag.farm.rfc2217")


class Rfc2217Server:
    """serve(port) -> the TCP port clients reach as rfc2217://127.0.0.1:N?ign_set_control."""

    def __init__(self, device: str, host: str = "127.0.0.1"):
        self.device = device
        self.host = host
        self.port = 0
        self.refused = 0  # second clients turned away (tests read it)
        self._stop = threading.Event()
        self._busy = threading.Lock()
        self._sock: socket.socket | None = None

    def start(self) -> "Rfc2217Server":
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(2)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if not self._busy.acquire(blocking=False):
                self.refused += 1
                conn.close()  # one client at a time: never two mixing their bytes
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        done = threading.Event()
        ser = None
        try:
            # (a pty may be gone for a moment while its board restarts: the client's open
            # then fails, and it retries as with a re-enumerating USB port)
            ser = _Pty(self.device, timeout=0.05)
            lines = _Sink(conn)
            manager = serial.rfc2217.PortManager(ser, lines, logger=None)
            reader = threading.Thread(target=self._to_client,
                                      args=(ser, lines, manager, done), daemon=True)
            reader.start()
            while not done.is_set() and not self._stop.is_set():
                data = conn.recv(4096)
                if not data:
                    break
                ser.write(b"".join(manager.filter(data)))
        except (OSError, serial.SerialException) as e:
            log.debug("rfc2217 client on %s ended: %s", self.device, e)
        finally:
            done.set()
            for c in (conn, ser):
                try:
                    if c is not None:
                        c.close()
                except (OSError, serial.SerialException):
                    pass
            self._busy.release()

    @staticmethod
    def _to_client(ser, lines, manager, done: threading.Event) -> None:
        try:
            while not done.is_set():
                data = ser.read(ser.in_waiting or 1)
                if data:
                    lines.write(b"".join(manager.escape(data)))
                manager.check_modem_lines()
        except (OSError, serial.SerialException, TypeError):
            pass  # (the pty went away: a board power-cycling)
        finally:
            done.set()


class _Pty(serial.Serial):
    """A pty as pyserial sees it, without modem lines (the ioctls fail with ENOTTY on a
    pty): DTR and RTS changes from the client go nowhere, and the lines read as a cable
    plugged in."""

    def _update_dtr_state(self):
        pass

    def _update_rts_state(self):
        pass

    @property
    def cts(self):
        return True

    @property
    def dsr(self):
        return True

    @property
    def ri(self):
        return False

    @property
    def cd(self):
        return True


class _Sink:
    """What PortManager writes its protocol answers to."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.conn.sendall(data)
