"""A farm host's control server: each virtual board's button and power switch over HTTP.

labgrid drives them through the resources `camdiag farm` exports for each place:
- `HttpDigitalOutput` at /<place>/button: PUT "1" presses (holds) the button, "0"
  releases it; GET reads "1" or "0" (labgrid's HttpDigitalOutputDriver).
- `NetworkPowerPort`, model `simplerest`, at /<place>/power/{value}: GET .../1 switches
  the board on, .../0 off (it stays off: the board process is gone); GET /<place>/power
  reads the state (labgrid/driver/power/simplerest.py).
On a real bench the same resources point at HTTP relays (README, "A labgrid farm").
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HELD_AT_POWER_ON_MS = 600_000  # a button held when the power comes on stays held till released


class _Board:
    def __init__(self, vb, pin: int):
        self.vb = vb
        self.pin = pin
        self.held = False
        self.lock = threading.Lock()

    def button(self, held: bool) -> None:
        with self.lock:
            self.held = held
            # active low: pressed pulls the pin to 0 (boards/*/board.json button.active_low)
            self.vb.inject("pin", pin=self.pin, steps=[[0, 0 if held else 1]])
            if not held:
                self.vb.options.pop("button_held_ms", None)

    def power(self, on: bool) -> None:
        with self.lock:
            if on:
                if self.held:  # powered on with the button held: safe mode, as on a bench
                    self.vb.options["button_held_ms"] = str(HELD_AT_POWER_ON_MS)
                self.vb.power_on()
            elif self.vb.powered():
                self.vb.power_off()


class ControlServer:
    """HTTP on 127.0.0.1 (or host): /<name>/button and /<name>/power for each board."""

    def __init__(self, boards: dict, host: str = "127.0.0.1", port: int = 0):
        from ..boards import load

        self.boards = {name: _Board(vb, load(vb.board)["button"]["pin"])
                       for name, vb in boards.items()}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the farm prints what matters
                pass

            def _reply(self, code: int, body: str = "") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _board(self):
                parts = self.path.strip("/").split("/")
                b = server.boards.get(parts[0]) if parts else None
                return b, parts[1:]

            def do_GET(self):  # noqa: N802 - http.server's names
                b, rest = self._board()
                if b is None or not rest:
                    return self._reply(404, "no such board")
                if rest == ["button"]:
                    return self._reply(200, "1" if b.held else "0")
                if rest[0] == "power":
                    if len(rest) == 1:
                        return self._reply(200, "1" if b.vb.powered() else "0")
                    if rest[1] in ("0", "1"):
                        b.power(rest[1] == "1")
                        return self._reply(200, rest[1])
                return self._reply(404, "unknown control")

            def do_PUT(self):  # noqa: N802
                b, rest = self._board()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if b is None or rest != ["button"] or body.strip() not in (b"0", b"1"):
                    return self._reply(404, "PUT /<board>/button with 0 or 1")
                b.button(body.strip() == b"1")
                return self._reply(200, body.strip().decode())

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "ControlServer":
        self.thread.start()
        return self

    def url(self, name: str, what: str) -> str:
        return f"http://{self.host}:{self.port}/{name}/{what}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
