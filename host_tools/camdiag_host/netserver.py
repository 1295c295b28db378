"""`camdiag netserver`: the far end of the talk-path check (firmware/camdiag/netcheck.py).

One port number, two protocols:
- TCP: ``CAMDIAG UP <n> [<ms>]\\n`` then bytes; read for ms milliseconds from the first
  byte or until n bytes, whichever comes first (iperf3's timed test); answers {"bytes",
  "seconds"} timed from the first to the last byte read here (the receiver's view of the
  upload), then drains what the sender still sends until it closes.
- UDP: every datagram is echoed back to its sender.

Scenarios make every verdict reachable on a bench or over loopback: throttle the upload,
drop, delay or jitter the echoes (seeded, so a run can be repeated).
"""

from __future__ import annotations

import heapq
import json
import random
import socket
import threading
import time

SCENARIOS = {
    "good": {},
    "slow_upload": {"throttle_mbps": 1.0},
    "lossy": {"drop_pct": 10.0},
    "laggy": {"delay_ms": 150.0},
    "jittery": {"delay_ms": 10.0, "jitter_ms": 120.0},
}
DEFAULT_PORT = 5201
MAX_UPLOAD = 64 * 1024 * 1024


class NetServer:
    def __init__(self, bind: str = "0.0.0.0", port: int = DEFAULT_PORT,
                 throttle_mbps: float | None = None, drop_pct: float = 0.0,
                 delay_ms: float = 0.0, jitter_ms: float = 0.0, seed: int = 1,
                 log=None):
        self.bind = bind
        self.throttle_mbps = throttle_mbps
        self.drop_pct = drop_pct
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.rng = random.Random(seed)
        self.log = log or (lambda msg: None)
        self.stats = {"uploads": 0, "echoed": 0, "dropped": 0}
        self._stop = threading.Event()
        self._queue: list = []  # (due, n, data, addr)
        self._qcond = threading.Condition()
        self._n = 0
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.tcp.bind((bind, port))
            self.udp.bind((bind, self.tcp.getsockname()[1]))
        except OSError as e:
            self.tcp.close()
            self.udp.close()
            from .errors import CamdiagError

            raise CamdiagError(f"netserver: cannot listen on {bind}:{port}: {e.strerror}") \
                from None
        self.port = self.tcp.getsockname()[1]
        self.tcp.listen(4)
        self.tcp.settimeout(0.2)
        self.udp.settimeout(0.2)

    @classmethod
    def scenario(cls, name: str, **kw) -> "NetServer":
        if name not in SCENARIOS:
            from .errors import CamdiagError

            raise CamdiagError(f"unknown netserver scenario '{name}': use "
                               f"{', '.join(SCENARIOS)}")
        return cls(**{**SCENARIOS[name], **kw})

    def start(self) -> "NetServer":
        for target in (self._accept, self._echo, self._send_due):
            threading.Thread(target=target, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._qcond:
            self._qcond.notify_all()
        self.tcp.close()
        self.udp.close()

    def __enter__(self) -> "NetServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- TCP upload ----------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.tcp.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._upload, args=(conn, addr), daemon=True).start()

    def _upload(self, conn: socket.socket, addr) -> None:
        with conn:
            conn.settimeout(30)
            try:
                f = conn.makefile("rb")
                head = f.readline(64).split()
                if len(head) not in (3, 4) or head[:2] != [b"CAMDIAG", b"UP"]:
                    self.log(f"{addr[0]}: not a camdiag upload, closed")
                    return
                n = int(head[2])
                window = int(head[3]) / 1000 if len(head) == 4 else None
                if not 0 < n <= MAX_UPLOAD or (window is not None and not 0 < window <= 60):
                    return
                got = 0
                t0 = None
                rate = self.throttle_mbps * 1e6 / 8 if self.throttle_mbps else None
                while got < n and (t0 is None or window is None
                                   or time.perf_counter() - t0 < window):
                    chunk = f.read1(min(16384, n - got)) if rate is None else \
                        f.read1(min(4096, n - got))
                    if not chunk:
                        break
                    if t0 is None:
                        t0 = time.perf_counter()
                    got += len(chunk)
                    if rate is not None:  # read no faster than the throttled rate
                        ahead = got / rate - (time.perf_counter() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
                secs = time.perf_counter() - (t0 or time.perf_counter())
                conn.sendall(json.dumps({"bytes": got, "seconds": round(secs, 6)}).encode()
                             + b"\n")
                self.stats["uploads"] += 1
                self.log(f"{addr[0]}: upload {got} B in {secs:.3f} s = "
                         f"{got * 8 / max(secs, 1e-6) / 1e6:.1f} Mbit/s")
                if window is not None:  # the sender stops at the answer: take what is left
                    conn.settimeout(5)
                    try:
                        while f.read1(65536):
                            pass
                    except OSError:
                        pass
            except (OSError, ValueError) as e:
                self.log(f"{addr[0]}: upload aborted ({e})")

    # -- UDP echo ------------------------------------------------------------------------
    def _echo(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.udp.recvfrom(2048)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if self.drop_pct and self.rng.random() * 100 < self.drop_pct:
                self.stats["dropped"] += 1
                continue
            delay = self.delay_ms + (self.rng.random() * self.jitter_ms if self.jitter_ms
                                     else 0.0)
            if delay <= 0:
                self._send(data, addr)
                continue
            with self._qcond:
                self._n += 1
                heapq.heappush(self._queue, (time.monotonic() + delay / 1000, self._n, data,
                                             addr))
                self._qcond.notify()

    def _send(self, data: bytes, addr) -> None:
        try:
            self.udp.sendto(data, addr)
            self.stats["echoed"] += 1
        except OSError:
            pass

    def _send_due(self) -> None:
        while not self._stop.is_set():
            with self._qcond:
                while not self._queue and not self._stop.is_set():
                    self._qcond.wait(0.5)
                if self._stop.is_set():
                    return
                due, _, data, addr = self._queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._qcond.wait(wait)
                    continue
                heapq.heappop(self._queue)
            self._send(data, addr)


def local_address_towards(ip: str) -> str:
    """This host's address on the route to ip (what the board must connect to)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((ip, 9))
        return s.getsockname()[0]
    finally:
        s.close()
