# Simulated `machine` module for the virtual board: same names and methods as the ESP32
# port's (checked against micropython-esp32-stubs), backed by the sim models.
import sys
import time
import simctl

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_EXIT_HARD_RESET = 12

import acoustic  # noqa: E402  (the speaker/mic model is hardware: present from power-on)

_AIR = acoustic.Air(simctl.OPTS, int(simctl.OPTS.get("rate", 16000)))


def _on_fault(msg):
    # {"kind": "fault", "faults": ["speaker_silent", ...]}: [] restores a healthy path
    _AIR.set_faults(msg.get("faults") or [])


simctl.CONTROL.on("fault", _on_fault)


_STALL_MS = int(simctl.OPTS.get("loop_stall_ms", 0))
_STALL_AT = 24  # the RX read before which the loop stalls (mid-recording)


def unique_id():
    uid = simctl.OPTS.get("uid", "a0b1c2d3e4f5")
    return bytes(int(uid[i : i + 2], 16) for i in range(0, 12, 2))


def reset_cause():
    return int(simctl.OPTS.get("reset_cause", PWRON_RESET))


def soft_reset():
    raise SystemExit


def reset():
    sys.exit(_EXIT_HARD_RESET)


def freq(hz=None):
    return 240000000


def idle():
    time.sleep_ms(1)


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._handler = None
        self._trigger = 0
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        self.pull = pull
        self._level = 1 if pull == self.PULL_UP else 0
        if value is not None:
            self._level = 1 if value else 0
        simctl.PINS[self.id] = self

    def value(self, v=None):
        if simctl.in_irq():  # from a handler: just the level (no host I/O in between)
            if v is None:
                return simctl.pin_level(self.id, self._level)
            self._level = 1 if v else 0
            simctl.pin_written(self.id, self._level)
            return None
        simctl.check_ctrl_c()
        if v is None:
            simctl.CONTROL.poll()
            return simctl.pin_level(self.id, self._level)
        self._level = 1 if v else 0
        simctl.pin_written(self.id, self._level)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, wake=None):
        # ports/esp32/machine_pin.c machine_pin_irq: handler, trigger, wake; no `hard`
        # (an unknown keyword is a TypeError, as there). The ISR only schedules the handler
        # (mp_sched_schedule): it always runs soft, between bytecodes.
        self._handler = handler
        self._trigger = trigger if handler is not None else 0
        simctl.irq_register(self, handler, self._trigger)
        return _PinIRQ(self)


class _PinIRQ:
    """The pin's irq object: calling it runs the ISR (schedules the handler); trigger()."""

    def __init__(self, pin):
        self.pin = pin

    def __call__(self):
        simctl.irq_fire(self.pin.id)

    def trigger(self, value=None):
        return self.pin._trigger


class I2S(acoustic.I2S):
    AIR = _AIR
    MIC_SLOT = simctl.OPTS.get("mic_slot", "left")

    def _started(self):
        simctl.CONTROL.poll()  # a wire the rig cut just now is cut for this stream

    def _reading(self):
        simctl.check_ctrl_c()
        if self._reads == _STALL_AT and _STALL_MS:
            # The capture loop stalls once (a GC, a flash write): on the firmware's own
            # thread, so the RX ring overruns by the shared clock, as on a board.
            time.sleep_ms(_STALL_MS)


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        simctl.wdt_start(timeout)

    def feed(self):
        simctl.wdt_feed()


class RTC:
    # memory() only (ports/esp32/machine_rtc.c), over simctl's RTC memory
    def memory(self, data=None):
        if data is None:
            return simctl.RTC_MEM[0]
        if len(data) > simctl.RTC_MEM_MAX:
            raise ValueError("buffer too long")
        simctl.RTC_MEM[0] = bytes(data)


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, **kw):
        self.id = id
        self.period = 0
        self.callback = None
        self.due = 0
        if kw:
            self.init(**kw)

    def init(self, *, mode=PERIODIC, period=-1, callback=None, freq=-1):
        self.deinit()
        # One hardware timer per id: a second Timer(0) object drives the same timer
        # (ports/esp32/machine_timer.c reuses the object of that group and index).
        for other in [t for t in simctl.TIMERS if t.id == self.id]:
            other.deinit()
        self.period = period if period > 0 else int(1000 / freq)
        self.callback = callback
        self.due = time.ticks_add(time.ticks_ms(), self.period)
        simctl.TIMERS.append(self)
        simctl.timer_started()

    def deinit(self):
        if self in simctl.TIMERS:
            simctl.TIMERS.remove(self)


class Signal:
    def __init__(self, pin, invert=False):
        self.pin = pin
        self.invert = invert

    def value(self, v=None):
        if v is None:
            return self.pin.value() ^ self.invert
        self.pin.value((1 if v else 0) ^ self.invert)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


def time_pulse_us(pin, level, timeout_us=1000000):
    return -1

