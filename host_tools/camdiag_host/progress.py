"""A spinner with elapsed seconds on stderr, for anything that may take more than a second.

Only on a terminal (a pipe or a log file gets nothing), never with --quiet or --json."""

from __future__ import annotations

import sys
import threading
import time

FRAMES = "|/-\\"


class Spinner:
    def __init__(self, text: str, enabled: bool = True, stream=None, delay: float = 0.5):
        self.stream = stream or sys.stderr
        self.text = text
        self.enabled = enabled and self.stream.isatty()
        self.delay = delay  # nothing for work that ends sooner
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self) -> "Spinner":
        if self.enabled:
            self._t0 = time.monotonic()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        i = 0
        while not self._stop.is_set():
            t = time.monotonic() - self._t0
            # (\x1b[K: the rest of the line cleared, as the text may have got shorter)
            self.stream.write(f"\r{FRAMES[i % 4]} {self.text} {t:4.0f} s\x1b[K")
            self.stream.flush()
            i += 1
            self._stop.wait(0.2)
        self.stream.write("\r\x1b[2K")
        self.stream.flush()

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()


def spinner(args, text: str) -> Spinner:
    return Spinner(text, enabled=not (getattr(args, "quiet", False) or
                                      getattr(args, "json", False)))
