"""Shims so the pure-logic modules run unchanged on CPython and MicroPython."""

try:
    from micropython import const  # noqa: F401
    import micropython as _mp

    MICROPYTHON = True
except ImportError:  # CPython
    MICROPYTHON = False
    _mp = None

    def const(value):
        return value


def has_viper():
    """True where the viper kernels load (MicroPython built with the native emitters)."""
    if not MICROPYTHON:
        return False
    try:
        import camdiag.kernels_viper  # noqa: F401

        return True
    except (ImportError, SyntaxError, ValueError):
        return False


try:
    from time import ticks_ms, ticks_diff, ticks_add  # noqa: F401
except ImportError:  # CPython: same arithmetic as the ESP32 port (period 2**30)
    import time as _time

    _TICKS_PERIOD = 1 << 30
    _TICKS_HALF = _TICKS_PERIOD >> 1

    def ticks_ms():
        return int(_time.monotonic() * 1000) & (_TICKS_PERIOD - 1)

    def ticks_add(ticks, delta):
        return (ticks + delta) & (_TICKS_PERIOD - 1)

    def ticks_diff(end, start):
        return ((end - start + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF

