# `time` for code running on the virtual board. On an ESP32 a sleep runs the scheduler
# (soft timer callbacks, e.g. a watchdog feeder) and notices Ctrl-C; the unix port's sleep
# does neither. Installed as sys.modules["time"] before boot.py runs; the sim's own models
# keep the plain unix time (a hung I2S read must stay hung, as in C).
import _thread
import time as _t
from time import *  # noqa: F401,F403

import simctl

_MAIN = _thread.get_ident()
_SLICE_MS = 20


def sleep_ms(ms):
    if _thread.get_ident() != _MAIN:  # other threads (a Wi-Fi scan) just sleep
        _t.sleep_ms(ms)
        return
    end = _t.ticks_add(_t.ticks_ms(), int(ms))
    while True:
        simctl.check_ctrl_c()
        left = _t.ticks_diff(end, _t.ticks_ms())
        if left <= 0:
            return
        _t.sleep_ms(min(left, _SLICE_MS))


def sleep(s):
    sleep_ms(int(s * 1000))


def sleep_us(us):
    if us >= 1000 * _SLICE_MS:
        sleep_ms(us // 1000)
    else:
        _t.sleep_us(us)
