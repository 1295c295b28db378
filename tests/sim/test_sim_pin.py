# The virtual board's pin IRQs and timers against the ESP32 port's, on the unix port (run by
# tests/test_on_micropython.py through tests/mp_runner.py). Sources:
#   ports/esp32/machine_pin.c: irq(handler, trigger, wake), no `hard`; the GPIO ISR only
#     calls mp_sched_schedule(handler, pin);
#   ports/esp32/mpconfigport.h: MICROPY_SCHEDULER_DEPTH 8 (an edge finding it full is lost).
import time

import sim_machine
import simctl

PIN = 21  # a pin no other model uses


def _script(steps):
    """Drive PIN as the host's button script does: [(ms from now, level), ...]."""
    now = time.ticks_ms()
    simctl._SCRIPT[PIN] = [(time.ticks_add(now, d), lvl) for d, lvl in steps]


def _pin():
    _script([(-1, 1)])
    return sim_machine.Pin(PIN, sim_machine.Pin.IN, sim_machine.Pin.PULL_UP)


def _off(p):
    p.irq(handler=None)
    simctl._SCRIPT.pop(PIN, None)


def test_irq_takes_no_hard_keyword():
    p = _pin()
    try:
        p.irq(handler=lambda pin: None, hard=True)
    except TypeError:
        pass
    else:
        raise AssertionError("irq(hard=True) accepted: the ESP32 port raises TypeError")
    irq = p.irq(handler=lambda pin: None, trigger=sim_machine.Pin.IRQ_FALLING)
    assert irq.trigger() == sim_machine.Pin.IRQ_FALLING
    _off(p)


def test_a_handler_runs_between_bytecodes_of_code_that_touches_no_peripheral():
    p = _pin()
    seen = []
    p.irq(handler=lambda pin: seen.append(time.ticks_ms()),
          trigger=sim_machine.Pin.IRQ_FALLING | sim_machine.Pin.IRQ_RISING)
    _script([(-1, 1), (30, 0), (60, 1)])
    t0 = time.ticks_ms()
    n = 0
    while time.ticks_diff(time.ticks_ms(), t0) < 200:  # pure Python: no Pin, no sleep
        n += 1
    _off(p)
    assert len(seen) == 2, seen
    assert 25 <= time.ticks_diff(seen[0], t0) <= 60, (t0, seen)  # as the edge came


def test_trigger_selects_edges():
    p = _pin()
    seen = []
    p.irq(handler=lambda pin: seen.append(pin.value()), trigger=sim_machine.Pin.IRQ_FALLING)
    _script([(-1, 1), (20, 0), (40, 1), (60, 0), (80, 1)])
    time.sleep_ms(150)
    _off(p)
    assert seen == [0, 0], seen


def test_the_scheduler_queue_holds_eight_edges_the_rest_are_lost():
    p = _pin()
    calls = []

    def handler(pin):
        if not calls:  # while this (soft) handler runs, ten more edges come in
            for _ in range(10):
                simctl.irq_fire(PIN)
        calls.append(1)

    p.irq(handler=handler)
    lost = simctl._IRQ_STATE["lost"]
    simctl.irq_fire(PIN)
    time.sleep_ms(20)
    _off(p)
    assert len(calls) == 1 + simctl.SCHED_DEPTH, len(calls)
    assert simctl._IRQ_STATE["lost"] - lost == 10 - simctl.SCHED_DEPTH


def test_a_timer_callback_runs_between_bytecodes_too():
    # ports/esp32/machine_timer.c: the timer ISR schedules the callback like a pin IRQ, so a
    # watchdog-feeding timer runs while the board executes a long stretch of plain Python
    # (a deploy's file writes, a host's exec), not only when a peripheral is touched
    seen = []
    t = sim_machine.Timer(3)
    t.init(mode=sim_machine.Timer.PERIODIC, period=20, callback=lambda tm: seen.append(1))
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < 200:
        pass
    t.deinit()
    assert 6 <= len(seen) <= 11, len(seen)
