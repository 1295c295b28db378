# `time` for code running on the virtual board. On an ESP32 a sleep runs the scheduler
# (soft timer callbacks, e.g. a watchdog feeder) and notices Ctrl-C; the unix port's sleep
# does neither. Installed as sys.modules["time"] before boot.py runs; the sim's own models
# keep the plain unix time (a hung I2S read must stay hung, as in C).
#
# Ticks as on the ESP32: period 2**30 (py/mpconfig.h MICROPY_PY_TIME_TICKS_PERIOD, the
# ESP32's small-int range; the unix port's is 2**62), counted from the last chip reset and
# running on across a soft reset (ports/esp32/mphalport.c: esp_timer_get_time()), so
# ticks_diff spans only +-2**29 ms, 6.2 days. ticks_start_ms= starts them elsewhere, e.g.
# just before the wrap.
import _thread
import time as _t
from time import *  # noqa: F401,F403

import simctl

_MAIN = _thread.get_ident()
_SLICE_MS = 20
_PERIOD = 1 << 30
_MASK = _PERIOD - 1
_HALF = _PERIOD >> 1
# microseconds between the chip reset (the supervisor's ticks_t0) and this process's start
_BASE_US = int((_t.time() - float(simctl.OPTS.get("ticks_t0", _t.time()))) * 1000000) + \
    int(simctl.OPTS.get("ticks_start_ms", 0)) * 1000
_T0_US = _t.ticks_us()


def _elapsed_us():
    return _BASE_US + _t.ticks_diff(_t.ticks_us(), _T0_US)


def ticks_us():
    return _elapsed_us() & _MASK


def ticks_ms():
    return (_elapsed_us() // 1000) & _MASK


def ticks_cpu():
    return ticks_us()


def ticks_add(ticks, delta):
    return (ticks + delta) & _MASK


def ticks_diff(a, b):
    return ((a - b + _HALF) & _MASK) - _HALF


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
