# `select` for code running on the virtual board: poll() and ipoll() wait in slices and
# see Ctrl-C between them, as the ESP32's do (extmod/modselect.c poll_poll_internal runs
# mp_event_wait_ms, which handles pending exceptions, while it waits); the sim's sockets
# (sim_socket) are polled through their unix sockets. Installed as sys.modules["select"].
import select as _real
from select import *  # noqa: F401,F403

import simctl
import time as _t

_SLICE_MS = 20


class _Poll:
    def __init__(self):
        self._p = _real.poll()
        self._objs = {}  # the unix object polled -> what the caller registered

    def register(self, obj, mask=POLLIN | POLLOUT):  # noqa: F405
        inner = getattr(obj, "_s", obj)
        self._objs[id(inner)] = obj
        self._p.register(inner, mask)

    def modify(self, obj, mask):
        self._p.modify(getattr(obj, "_s", obj), mask)

    def unregister(self, obj):
        inner = getattr(obj, "_s", obj)
        self._objs.pop(id(inner), None)
        self._p.unregister(inner)

    def poll(self, timeout=-1):
        start = _t.ticks_ms()
        while True:
            left = _SLICE_MS if timeout < 0 else \
                min(_SLICE_MS, timeout - _t.ticks_diff(_t.ticks_ms(), start))
            got = self._p.poll(max(0, left))
            if got or (timeout >= 0 and left <= 0):
                return [(self._objs.get(id(t[0]), t[0]), t[1]) for t in got]
            simctl.check_ctrl_c()
            if timeout >= 0 and _t.ticks_diff(_t.ticks_ms(), start) >= timeout:
                return []

    def ipoll(self, timeout=-1, flags=0):
        return iter(self.poll(timeout))


def poll():
    return _Poll()
