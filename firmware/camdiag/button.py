"""Reset button: edges in, events out (pure logic; the pin is read elsewhere).

The pin IRQ handler only stores (ticks_ms, level) in an EdgeRing: on the ESP32 port pin
IRQs are soft (scheduled, queue depth 8, overflow drops edges silently), so the handler does
the least possible and counts its own overflows. The ButtonMachine consumes those edges and
the passing time in the main loop: debounce, click, double click, long press, hold to
reboot, factory reset armed at factory_reset_ms and executed on release, stuck (cancelled)
after stuck_ms, and "ignored until released once" when held at boot. All timings come from
board.json; time arithmetic goes through ticks_diff (injected, so tests can run the ESP32's
2**30 wrap-around on any port).
"""

from camdiag.compat import ticks_diff as _ticks_diff

# Events (the names are also what `camdiag button --watch` prints)
PRESS = "press"
RELEASE = "release"
CLICK = "click"
DOUBLE_CLICK = "double_click"
LONG_PRESS = "long_press"  # held past a click but released before the reboot threshold
REBOOT_CUE = "reboot_cue"  # still held at hold_reboot_ms: LED cue, reboot on release
REBOOT = "reboot"
RESET_ARMED = "factory_reset_armed"  # held at factory_reset_ms: fast flash, reset on release
FACTORY_RESET = "factory_reset"
STUCK = "stuck"  # held past stuck_ms: cancelled, nothing happens on release

_CUE_REBOOT = 1
_CUE_ARMED = 2
_CUE_STUCK = 4


class EdgeRing:
    """(ticks_ms, level) pairs written by the pin IRQ handler; no allocation in push()."""

    def __init__(self, size=16):
        if size & (size - 1):
            raise ValueError("ring size must be a power of two")
        self.mask = size - 1
        self.times = [0] * size  # small ints: storing them allocates nothing
        self.levels = bytearray(size)
        self.head = 0
        self.tail = 0
        self.overflows = 0

    def push(self, t, level):
        h = self.head
        n = (h + 1) & self.mask
        if n == self.tail:
            self.overflows += 1  # counted, never silent
            return
        self.times[h] = t
        self.levels[h] = 1 if level else 0
        self.head = n

    def __len__(self):
        return (self.head - self.tail) & self.mask


class ButtonMachine:
    """Consumes debounced-to-be edges and time; appends (event, ticks) to self.events."""

    def __init__(self, timings, now, pressed_at_boot=False, ticks_diff=None):
        self.diff = ticks_diff or _ticks_diff
        self.debounce = timings["debounce_ms"]
        self.click_max = timings["click_max_ms"]
        self.double_gap = timings["double_click_ms"]
        self.hold_reboot = timings["hold_reboot_ms"]
        self.factory_reset = timings["factory_reset_ms"]
        self.stuck = timings["stuck_ms"]
        self.boot_ignore = timings["boot_ignore_ms"]
        self.boot_at = now
        self.raw = bool(pressed_at_boot)
        self.raw_at = now
        self.pressed = bool(pressed_at_boot)
        # Held at boot is not a press: nothing counts until it has been released once.
        self.ignoring = bool(pressed_at_boot)
        self.down_at = now
        self.cues = 0
        self.first_click_up = None  # release time of a click that may become a double
        self.second_press = False
        self.events = []

    # -- inputs ------------------------------------------------------------------------
    def edge(self, t, pressed):
        """A raw level change at time t (from the IRQ ring, in time order)."""
        self.update(t)
        pressed = bool(pressed)
        if pressed != self.raw:
            self.raw = pressed
            self.raw_at = t

    def drain(self, ring, active_low=True):
        """Feed every edge waiting in an EdgeRing (pin levels -> pressed)."""
        while ring.tail != ring.head:
            i = ring.tail
            level = ring.levels[i]
            self.edge(ring.times[i], (level == 0) if active_low else (level == 1))
            ring.tail = (i + 1) & ring.mask

    def update(self, t):
        """Advance time to t: settle the debounced level, fire hold and click timeouts."""
        if self.raw != self.pressed and self.diff(t, self.raw_at) >= self.debounce:
            self._settle(self.raw, self.raw_at)
        self._timeouts(t)

    # -- internals ---------------------------------------------------------------------
    def _emit(self, event, t):
        self.events.append((event, t))

    def _settle(self, pressed, at):
        # A level held for debounce_ms is real; it began at `at` (durations count from it).
        self._timeouts(at)
        self.pressed = pressed
        if self.ignoring:
            if not pressed:
                self.ignoring = False
            return
        if self.diff(at, self.boot_at) < self.boot_ignore:
            self.ignoring = pressed  # a press this early is ignored until released
            return
        if pressed:
            self.down_at = at
            self.cues = 0
            if self.first_click_up is not None:
                self.second_press = True
            self._emit(PRESS, at)
            return
        self._emit(RELEASE, at)
        held = self.diff(at, self.down_at)
        if self.cues & _CUE_STUCK:
            self._flush_click(at)
            return
        if held >= self.factory_reset:
            self._flush_click(at)
            self._emit(FACTORY_RESET, at)
        elif held >= self.hold_reboot:
            self._flush_click(at)
            self._emit(REBOOT, at)
        elif held >= self.click_max:
            self._flush_click(at)
            self._emit(LONG_PRESS, at)
        elif self.second_press:
            self.first_click_up = None
            self.second_press = False
            self._emit(DOUBLE_CLICK, at)
        else:
            self.first_click_up = at

    def _flush_click(self, at):
        if self.first_click_up is not None:
            self._emit(CLICK, self.first_click_up)
            self.first_click_up = None
        self.second_press = False

    def _timeouts(self, t):
        if self.ignoring:
            return
        if self.raw != self.pressed:
            # An edge is still inside its debounce window: if it turns out real, the level
            # ended at that edge, so time counts only up to it.
            t = self.raw_at
        if self.pressed:
            held = self.diff(t, self.down_at)
            if held >= self.hold_reboot and not self.cues & _CUE_REBOOT:
                self.cues |= _CUE_REBOOT
                self._emit(REBOOT_CUE, t)
            if held >= self.factory_reset and not self.cues & _CUE_ARMED:
                self.cues |= _CUE_ARMED
                self._emit(RESET_ARMED, t)
            if held >= self.stuck and not self.cues & _CUE_STUCK:
                self.cues |= _CUE_STUCK
                self._emit(STUCK, t)
        elif self.first_click_up is not None and not self.second_press:
            if self.diff(t, self.first_click_up) > self.double_gap:
                self._emit(CLICK, self.first_click_up)
                self.first_click_up = None

    def take(self):
        """The events so far, oldest first; clears the queue."""
        ev = self.events
        self.events = []
        return ev
