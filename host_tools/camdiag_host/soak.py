"""`make soak`: many self-tests in a row on a virtual board at the ESP32-S3 heap cap.

Prints the heap after gc.collect() every 100 runs and the verdicts counted; exit 1 on any
MemoryError, a non-healthy verdict or heap growth. `python -m camdiag_host.soak N` for N
runs (default 1000)."""

from __future__ import annotations

import sys
import time

from .link import DeviceLink
from .simboard import HEAP_KB, VirtualBoard

MEM = "import gc\ngc.collect()\nprint(gc.mem_alloc(), gc.mem_free())"


def main(argv: list[str] | None = None) -> int:
    runs = int((argv or sys.argv[1:] or ["1000"])[0])
    verdicts: dict[str, int] = {}
    errors = 0
    t0 = time.monotonic()
    with VirtualBoard(options={"realtime": "0", "ssid": "soak"}) as vb:
        vb.wait_ready(15)
        time.sleep(1.5)
        with DeviceLink(vb.port) as link:
            link.call("selftest", {"log": False})  # first run: names interned once
            base = [int(v) for v in link.exec_raw(MEM)[0].split()]
            print(f"virtual board heap {HEAP_KB} KB; after the first self-test: "
                  f"{base[0]} bytes in use, {base[1]} free", flush=True)
            for i in range(1, runs + 1):
                try:
                    rec = link.call("selftest", {"log": i % 10 == 0}, timeout=60)
                    verdicts[rec["verdict"]] = verdicts.get(rec["verdict"], 0) + 1
                except Exception as e:  # noqa: BLE001 - counted and shown, the soak goes on
                    errors += 1
                    print(f"  run {i}: {e}", flush=True)
                if i % 100 == 0 or i == runs:
                    used, free = (int(v) for v in link.exec_raw(MEM)[0].split())
                    print(f"  {i:5d} self-tests  heap {used} bytes in use "
                          f"({used - base[0]:+d}), {free} free  "
                          f"{time.monotonic() - t0:6.0f} s", flush=True)
    grown = used - base[0]
    print(f"{runs} self-tests: {verdicts}, {errors} errors, heap growth {grown:+d} bytes, "
          f"{time.monotonic() - t0:.0f} s")
    ok = errors == 0 and set(verdicts) <= {"healthy"} and grown <= 1024
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
