"""`make demo`: the main job on a virtual board, as a technician would see it.

Runs `camdiag info` and `camdiag selftest` on a healthy virtual board, the self-test on
boards with a speaker fault and a blocked port, then the Wi-Fi checks on a camera at the
edge of its router's range and one on a crowded channel: passes and diagnoses.
"""

from __future__ import annotations

import sys

from . import cli

STEPS = [
    ("A virtual board: the real MicroPython unix port running camdiag on simulated "
     "hardware", ["info", "--port", "sim://?seed=1"]),
    ("Self-test on a healthy camera", ["selftest", "--port", "sim://?seed=1"]),
    ("Self-test on a camera whose speaker wire is cut",
     ["selftest", "--port", "sim://?fault=speaker_silent&seed=2"]),
    ("Self-test on a camera with a blocked sound port",
     ["selftest", "--port", "sim://?fault=muffled&seed=3"]),
    ("Wi-Fi signal of a camera far from its router (5 s window)",
     ["rssi", "--port", "sim://?ssid=HomeNet&rssi=weak&seed=4"]),
    ("Wi-Fi scan where the neighbours crowd the channel",
     ["scan", "--port", "sim://?ssid=HomeNet&scan=crowded&seed=5"]),
]


def main() -> int:
    for title, argv in STEPS:
        print(f"\n=== {title}")
        print("$ camdiag " + " ".join(a if "?" not in a else f"'{a}'" for a in argv), flush=True)
        rc = cli.main(argv)
        print(f"(exit code {rc})")
        if rc == 2:
            return rc
    print("\nNext: `camdiag sim` starts a board you can keep; `camdiag --help` lists commands.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
