"""Boot checks, run by /boot.py on every reset before main.py.

1. Finish a factory reset that a power cut interrupted.
2. Safe mode: the button held at boot skips the application (REPL only), so a board whose
   app misbehaves can still be reached and fixed.
"""

import time

from camdiag import hw, store

SAFE_MODE = False
RESET_FINISHED = False


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
    if SAFE_MODE:
        print("camdiag: safe mode (button held at boot): application skipped, REPL only")
