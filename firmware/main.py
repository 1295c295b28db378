# camdiag main.py: the application. Ctrl-C (or a host session) returns to the REPL.
#
# The names host sessions use are interned here, while the heap is whole: camdiag_host's
# link binds `_s` and `_b`, its deploy snippet `_h` and `_r`. A name first interned later
# may need the next qstr pool, and pools double (py/qstr.c qstr_add: 1280 entries, about
# 14 KB on the 64-bit virtual board, 7.7 KB on an ESP32): a heap split by the boot's
# warm-up has no such block, and the call failed with "MemoryError: memory allocation
# failed, allocating 1280 bytes" (qstr_add reports the entries, not the bytes).
import camdiag.boot as _b
from camdiag import service as _s  # noqa: F401 - stays loaded once a host has called anyway

_h = _r = None

if not _b.SAFE_MODE:
    import camdiag.app

    camdiag.app.main()
