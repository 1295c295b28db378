"""Boot checks, run by /boot.py on every reset before main.py.

1. Finish a factory reset that a power cut interrupted.
2. Safe mode: the button held at boot skips the application (REPL only), so a board whose
   app misbehaves can still be reached and fixed.
3. After a soft reset, keep the watchdog fed until the app takes over: the ESP-IDF task
   watchdog that machine.WDT armed runs on across a soft reset, but the machine.Timer that
   fed it is gone (ports/esp32/main.c: machine_timer_deinit_all), and after a raw-REPL soft
   reset (mpremote's), in safe mode or at the REPL main.py's app never starts: the board
   would reset itself within the watchdog's timeout.
"""

import time

from camdiag import hw, store

SAFE_MODE = False
RESET_FINISHED = False
_WDT = []  # the watchdog and its feeder timer, after a soft reset


def _feed(_timer):
    _WDT[0].feed()  # a soft timer callback: allocates nothing


def run():
    global SAFE_MODE, RESET_FINISHED
    try:
        RESET_FINISHED = store.finish_interrupted_reset()
    except OSError as e:
        store.note("could not finish an interrupted factory reset: %s" % e)
    prof = store.load_profile()
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
    ms = prof["timings"]["watchdog_ms"]
    if ms and hw.identity()["reset_cause"] == "soft_reset":
        # (the app's own watchdog set-up replaces both: the same WDT, timer 0)
        _WDT[:] = [hw.watchdog(ms)]
        _WDT.append(hw.timer(max(100, ms // 4), _feed))
    if SAFE_MODE:
        print("camdiag: safe mode (button held at boot): application skipped, REPL only")
