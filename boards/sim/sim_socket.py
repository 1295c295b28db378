# `socket` for code running on the virtual board. On an ESP32 a blocking socket call waits
# in slices of SOCKET_POLL_US (100 ms), checking for Ctrl-C between them
# (ports/esp32/modsocket.c: _socket_settimeout sets retries = timeout / SOCKET_POLL_US,
# and each retry calls check_for_exceptions()); a timeout is OSError(ETIMEDOUT). The unix
# port's socket blocks in the kernel and sees no Ctrl-C until it returns, so netcheck ran
# to its end. Installed as sys.modules["socket"] (rom.py); select.poll learns these
# sockets in sim_select.
import errno
import socket as _real
from socket import *  # noqa: F401,F403

import simctl
import time as _t

_SLICE_S = 0.1  # SOCKET_POLL_US
_WAIT = (errno.EAGAIN, errno.ETIMEDOUT, getattr(errno, "EWOULDBLOCK", errno.EAGAIN))


class socket:
    def __init__(self, af=AF_INET, kind=SOCK_STREAM, proto=0):  # noqa: F405
        self._s = _real.socket(af, kind, proto)
        self._timeout = None  # None: blocking forever, as on the ESP32
        self._s.settimeout(_SLICE_S)

    def settimeout(self, t):
        self._timeout = t
        self._s.settimeout(0 if t == 0 else _SLICE_S)

    def setblocking(self, flag):
        self.settimeout(None if flag else 0)

    def _retry(self, op, *args):
        """op(*args) until it does not time out: a slice at a time, Ctrl-C checked between
        them, until this socket's own timeout is spent."""
        start = _t.ticks_ms()
        while True:
            try:
                return op(*args)
            except OSError as e:
                if e.errno not in _WAIT or self._timeout == 0:
                    raise
            simctl.check_ctrl_c()
            if self._timeout is not None and \
                    _t.ticks_diff(_t.ticks_ms(), start) >= self._timeout * 1000:
                raise OSError(errno.ETIMEDOUT)

    def connect(self, addr):
        self._s.settimeout(self._timeout)  # (one step: over loopback it never blocks)
        try:
            self._s.connect(addr)
        finally:
            self._s.settimeout(0 if self._timeout == 0 else _SLICE_S)

    def send(self, buf):
        return self._retry(self._s.send, buf)

    def write(self, buf):
        mv = memoryview(buf)
        done = 0
        while done < len(mv):
            done += self._retry(self._s.send, mv[done:])
        return done

    sendall = write

    def sendto(self, buf, addr):
        return self._retry(self._s.sendto, buf, addr)

    def recv(self, n):
        return self._retry(self._s.recv, n)

    def recvfrom(self, n):
        return self._retry(self._s.recvfrom, n)

    def read(self, n=-1):
        return self.recv(n if n > 0 else 4096)

    def readline(self):
        line = bytearray()
        while not line.endswith(b"\n"):
            b = self.recv(1)
            if not b:
                break
            line += b
        return bytes(line)

    def bind(self, addr):
        self._s.bind(addr)

    def listen(self, n=1):
        self._s.listen(n)

    def setsockopt(self, *args):
        self._s.setsockopt(*args)

    def fileno(self):
        return self._s.fileno()

    def close(self):
        self._s.close()
