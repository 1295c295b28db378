"""The GC heap as the ESP32 port grows it: one 64 KB area at boot, more added as
allocations fail, each a separate block of the ESP-IDF heap, so no allocation spans two
(ports/esp32/mpconfigport.h MICROPY_GC_INITIAL_HEAP_SIZE, py/gc.c gc_try_add_heap). The
firmware's buffers, self-tests and Wi-Fi checks must work within that."""

import pytest

from camdiag_host.simboard import HEAP_AREA1_KB

pytestmark = pytest.mark.sim  # the area split is the virtual board's model
SIM_OPTIONS = {"ssid": "lab"}

LARGEST = """
import gc
gc.collect()
free = gc.mem_free()
lo, hi = 1024, free
while hi - lo > 512:
    mid = (lo + hi) // 2
    try:
        b = bytearray(mid)
        b = None
        lo = mid
    except MemoryError:
        hi = mid
    gc.collect()
print(free, lo)
"""


def test_no_block_spans_two_heap_areas(dut):
    # After a raw-REPL soft reset (boot.py ran, the app did not): most of the heap is free,
    # in two areas; the largest block is the larger area's, far below the free total (on
    # one unix-port region it was nearly all of it).
    with dut.link() as link:
        link.transport.exit_raw_repl()
        link.transport.enter_raw_repl(soft_reset=True)
        out, err = link.exec_raw(LARGEST)
        assert not err, err
    free, largest = (int(x) for x in out.split())
    assert free > 90 * 1024, free
    assert largest <= HEAP_AREA1_KB * 1024 and largest < free - 16 * 1024, (free, largest)
    dut.wait_app(timeout=30)


def test_the_firmware_works_in_split_areas(dut):
    for _ in range(5):
        assert dut.call("selftest", {"log": True})["verdict"] == "healthy"
    assert dut.call("rssi", {"seconds": 2, "log": True})["outcome"] in ("pass", "warn")
    info = dut.call("info")
    assert info["problems"] == [], info
