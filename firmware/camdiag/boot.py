"""Boot checks, run by /boot.py on every reset before main.py.

1. Finish a factory reset that a power cut interrupted (LED on, watchdog fed: the fill
   takes over a minute on a real board's 6 MB filesystem).
2. Safe mode: the button held at boot skips the application (REPL only), so a board whose
   app misbehaves can still be reached and fixed.
3. After a soft reset, the watchdog stays fed until the app takes over: the ESP-IDF task
   watchdog that machine.WDT armed runs on across a soft reset, but the machine.Timer that
   fed it is gone (ports/esp32/main.c: machine_timer_deinit_all), and after a raw-REPL soft
   reset (mpremote's), in safe mode or at the REPL main.py's app never starts: the board
   would reset itself within the watchdog's timeout. /boot.py re-arms the feed first thing
   (before this module is imported) and hands it in.
"""

import time

from camdiag import hw, store

SAFE_MODE = False
RESET_FINISHED = False
_WDT = []  # the watchdog and its feeder timer, after a soft reset


def _resetting(prof, t0):
    """feed() for a factory reset finished at boot: the LED shows it and the watchdog
    (armed before a soft reset) is fed."""
    from camdiag import led

    leds = hw.leds(prof) if prof is not None else []
    low = [c["active_low"] for c in prof["leds"]] if prof is not None else []

    def feed(done, total):
        if _WDT:
            _WDT[0].feed()
        levels = led.level("resetting", time.ticks_diff(time.ticks_ms(), t0), len(leds))
        for i, p in enumerate(leds):
            p.value(levels[i] ^ low[i])

    return feed


def run(carried=None):
    """carried: (WDT, feeder Timer) when /boot.py found a watchdog armed before a soft
    reset and feeds it."""
    global SAFE_MODE, RESET_FINISHED
    _WDT[:] = carried or ()
    prof = store.load_profile()
    if store.reset_pending():
        try:
            feed = _resetting(prof, time.ticks_ms())
            RESET_FINISHED = store.finish_interrupted_reset(feed)
        except OSError as e:
            store.note("could not finish an interrupted factory reset: %s" % e)
    else:
        store.finish_interrupted_reset()  # (tidies a fill file left at the very end)
    if prof is None:
        return
    pin = hw.button(prof)
    active = 0 if prof["button"]["active_low"] else 1
    held = 0
    for _ in range(5):  # 5 samples over 40 ms: a bounce is not a hold
        if pin.value() == active:
            held += 1
        time.sleep_ms(10)
    SAFE_MODE = held == 5
    if SAFE_MODE:
        print("camdiag: safe mode (button held at boot): application skipped, REPL only")
