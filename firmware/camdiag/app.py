"""The device application: asyncio tasks (button, LED, RSSI history) after boot.

A host session interrupts it with Ctrl-C (the app returns to the REPL quietly) and ends
by calling ``resume()``, which re-enters the loop with the same state: nothing the app
keeps in RAM (RSSI history, last verdict) is lost to a host session.
"""

import asyncio

from camdiag import store

TICK_MS = 20  # the main loop's period: button sampling and LED pattern steps

STATE = {"running": False, "profile": None, "started": False, "button": None, "leds": None,
         "led_on": False, "ticks": 0}


def _setup():
    if STATE["started"]:
        return
    from camdiag import hw

    prof = store.load_profile()
    STATE["profile"] = prof
    if prof is not None:
        from camdiag import selftest

        try:
            selftest.reserve(prof)  # first, while the heap is whole
        except MemoryError:
            # Run on without it: a self-test then allocates (and says so if it cannot).
            store.note("self-test buffers could not be reserved at boot (heap too small)")
        STATE["button"] = hw.button(prof)
        STATE["leds"] = hw.leds(prof)
    STATE["started"] = True


async def _tick_loop():
    # One loop drives the peripherals: the button's level is sampled every tick (the
    # state machine consumes its edges) and the LED pattern advances.
    while True:
        STATE["ticks"] += 1
        button = STATE["button"]
        if button is not None:
            button.value()
        leds = STATE["leds"]
        if leds and STATE["ticks"] % 25 == 0:  # idle heartbeat: 1 Hz blink (setup mode)
            STATE["led_on"] = not STATE["led_on"]
            leds[0].value(1 if STATE["led_on"] else 0)
        await asyncio.sleep_ms(TICK_MS)


async def _main():
    _setup()
    await _tick_loop()


def main():
    STATE["running"] = True
    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        pass
    finally:
        STATE["running"] = False
        asyncio.new_event_loop()


def resume():
    main()
