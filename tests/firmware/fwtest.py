# Helpers for firmware tests that run under pytest (CPython) and tests/mp_runner.py
# (the MicroPython unix port): plain asserts, no pytest imports.


def raises(exc_type, fn, *args, **kwargs):
    """Call fn; assert it raises exc_type; return the exception."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc_type.__name__, fn))


def board_json(name):
    import json

    base = __file__.rsplit("/", 3)[0] if "/" in __file__ else "../.."
    with open(base + "/boards/%s/board.json" % name) as f:
        return json.loads(f.read())


class Skip(Exception):
    """Raised by a test that needs a feature this platform lacks (reported as SKIP)."""


def skip(reason):
    try:
        import pytest

        pytest.skip(reason)
    except ImportError:
        raise Skip(reason)


def is_micropython():
    import sys

    return sys.implementation.name == "micropython"


def profile(name="sim"):
    from camdiag import profile as _p

    return _p.validate(board_json(name), name)


class FakeTx:
    """I2S TX stand-in: accepts blocks, keeps nothing (allocation-free)."""

    def __init__(self):
        self.blocks = 0

    def write(self, buf):
        self.blocks += 1
        return len(buf)

    def deinit(self):
        pass


class FakeRx:
    """I2S RX stand-in: 32-bit stereo frames of a square-ish wave plus a counter in the
    low bits, in the left slot (allocation-free)."""

    def __init__(self):
        self.n = 0

    def readinto(self, buf):
        n = self.n
        for i in range(0, len(buf), 8):
            v = ((n * 7) & 0x3FFF) - 0x2000
            w = (v << 16) | ((n & 0xFF) << 8)
            buf[i] = w & 0xFF
            buf[i + 1] = (w >> 8) & 0xFF
            buf[i + 2] = (w >> 16) & 0xFF
            buf[i + 3] = (w >> 24) & 0xFF
            buf[i + 4] = 0
            buf[i + 5] = 0
            buf[i + 6] = 0
            buf[i + 7] = 0
            n += 1
        self.n = n
        return len(buf)

    def deinit(self):
        pass
