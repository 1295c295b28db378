"""The device application: one 20 ms loop for the button, the LEDs and the Wi-Fi link.

The button pin's IRQ handler only stores (ticks_ms, level) in an EdgeRing; the loop feeds the
ButtonMachine, acts on its events and drives the LED pattern. Every button event is also
printed as a line `#camdiag-event# {json}` that `camdiag button --watch` follows on the
console without interrupting the app.

A host session interrupts the app with Ctrl-C (it returns to the REPL quietly) and ends by
calling ``resume()``, which re-enters the loop with the same state: nothing the app keeps in
RAM (ring, machine, last verdict) is lost to a host session.
"""

import json
import sys
import time

from camdiag import button as btn
from camdiag import led as ledp
from camdiag import hw, store, wifi

TICK_MS = 20  # the loop's period: edges drained, timeouts checked, LED pattern stepped
EVENT_MARKER = "#camdiag-event# "

RING = btn.EdgeRing(16)
# A chip reset drops native USB, and the host's tty with what it had not yet read
# (ports/esp32/modmachine.c mp_machine_reset() is esp_restart(): what shared/tinyusb/
# mp_usbd_cdc.c still holds is not sent). The reboot event gets this long to go out.
REBOOT_DRAIN_MS = 250
ACTIONS_KEPT = 8  # recent actions kept for `camdiag button` (bounded: the app runs for months)

STATE = {"profile": None, "started": False, "pin": None, "leds": None,
         "machine": None, "active_low": True, "ticks": 0, "pattern": "setup",
         "pattern_at": 0, "base": "setup", "bars": 0, "verdict": None, "actions": [],
         "buffers": None, "warmed": 0, "next": None, "busy": False, "in_tick": False, "post": None,
         # watchdog: fed by the loop (beat) or, while a host session pauses the app, by a
         # soft timer
         "wdt": None, "wdt_timer": None, "beat": 0, "paused": False, "reset_tenth": -1,
         # Wi-Fi task: link polled every WIFI_POLL_MS; the history keeps the weakest
         # reading of each history period (0 = down at some poll)
         "wlan": None, "link": None, "history": None, "bars_tracker": None,
         "wifi_at": 0, "hist_at": 0, "hist_min": None, "hist_down": False}
WIFI_POLL_MS = 1000


def _pressed(level):
    return (level == 0) if STATE["active_low"] else (level == 1)


def _irq(pin):
    # Runs as a (soft) IRQ: store and return, nothing else.
    RING.push(time.ticks_ms(), pin.value())


def _setup():
    if STATE["started"]:
        return
    from camdiag import hw

    prof = store.load_profile()
    STATE["profile"] = prof
    if prof is not None:
        # (each step once: a host session's Ctrl-C may interrupt _setup, and the link's
        # resume() runs it again)
        if STATE["buffers"] is None:
            try:
                hw.prepare_audio(prof)
                STATE["buffers"] = _reserve(prof)  # first, while the heap is whole
            except MemoryError:
                # Run on without it: a self-test then allocates (and says so if it cannot).
                store.note("self-test buffers could not be reserved at boot (heap too small)")
                STATE["buffers"] = False
        _warm()  # goes on where a host session's Ctrl-C stopped it
        pin = hw.button(prof)
        STATE["pin"] = pin
        STATE["leds"] = hw.leds(prof)
        STATE["active_low"] = prof["button"]["active_low"]
        STATE["machine"] = btn.ButtonMachine(prof["timings"], time.ticks_ms(),
                                             _pressed(pin.value()))
        pin.irq(handler=_irq, trigger=pin.IRQ_FALLING | pin.IRQ_RISING)
        _watchdog(prof)
    cfg = store.load_config()
    wcfg = cfg.get("wifi") or {}
    STATE["base"] = "idle" if wcfg.get("ssid") else "setup"
    if prof is not None:
        heartbeat()  # each step of the set-up is a beat: its imports read flash, and on
        _wifi_setup(prof, wcfg)  # the QEMU board every flash read costs ~10 ms
        heartbeat()
    show(STATE["base"])
    STATE["started"] = True


def _watchdog(prof):
    ms = prof["timings"]["watchdog_ms"]
    if not ms or STATE["wdt"] is not None:
        return
    from camdiag import hw

    STATE["beat"] = time.ticks_ms()
    STATE["wdt"] = hw.watchdog(ms)
    STATE["wdt_timer"] = hw.timer(max(100, ms // 4), _wdt_timer)


def _wdt_timer(_t):
    # Soft timer callback: allocates nothing. Feeds while the loop beats, or while a host
    # session has paused the app (the REPL waits, device calls run Python); never during a
    # C call that hangs (the scheduler does not run), which is what the watchdog is for.
    st = STATE
    if st["paused"] or time.ticks_diff(time.ticks_ms(), st["beat"]) < \
            st["profile"]["timings"]["watchdog_ms"] // 2:
        st["wdt"].feed()


def heartbeat():
    """The loop is alive (also called per audio block by a self-test the app runs)."""
    STATE["beat"] = time.ticks_ms()


def resetting(done, total):
    """Called per flash sector by a factory reset's free-space fill (over a minute on a
    6 MB filesystem): the loop is busy but alive, so the watchdog is fed, the LED shows the
    reset, and every tenth of the way is an event line."""
    now = time.ticks_ms()
    STATE["beat"] = now
    if STATE["pattern"] != "resetting":
        show("resetting")
    _leds(now)
    if done is None:  # (past the fill: compacting metadata)
        return
    tenth = done * 10 // total if total else 10
    if tenth != STATE["reset_tenth"]:
        STATE["reset_tenth"] = tenth
        _emit("factory_reset_progress:%d" % (tenth * 10), now)


def _wifi_setup(prof, wcfg):
    """Connect when configured (the ESP32 reconnects by itself), and set up the bookkeeping:
    history ring preallocated here, at boot, like the self-test buffers."""
    from camdiag import hw

    now = time.ticks_ms()
    if STATE["history"] is None:
        STATE["history"] = wifi.History(prof["wifi"]["history_len"])
    STATE["link"] = wifi.LinkTracker(now)
    lim = prof["wifi"]  # the bars say what the verdict's words do, at the same limits
    STATE["bars_tracker"] = wifi.BarTracker(lim["rssi_warn_dbm"], lim["rssi_fail_dbm"])
    STATE["wifi_at"] = STATE["hist_at"] = now
    if not wcfg.get("ssid"):
        return
    wlan = hw.wlan()
    STATE["wlan"] = wlan
    try:
        wlan.active(True)
        wlan.config(pm=wlan.PM_NONE)  # power saving adds latency to real-time audio
        if not wlan.isconnected():
            wlan.connect(wcfg["ssid"], wcfg.get("password", ""))
    except OSError as e:
        store.note("Wi-Fi could not start: %s" % e)


def _wifi(now):
    """The Wi-Fi task: poll the link, keep the bars tracker and the history ring."""
    if time.ticks_diff(now, STATE["wifi_at"]) < WIFI_POLL_MS:
        return
    STATE["wifi_at"] = now
    hw.uptime_s()  # read every second: uptime stays right past the 6.2-day ticks wrap
    wlan = STATE["wlan"]
    st, dbm = wifi.read(wlan) if wlan is not None else (wifi.STAT_IDLE, None)
    STATE["link"].update(now, st, time.ticks_diff)
    STATE["bars_tracker"].update(dbm)
    if dbm is None:
        STATE["hist_down"] = True
    elif STATE["hist_min"] is None or dbm < STATE["hist_min"]:
        STATE["hist_min"] = dbm
    hist = STATE["history"]
    period_ms = STATE["profile"]["wifi"]["history_period_s"] * 1000
    late = time.ticks_diff(now, STATE["hist_at"])
    if late >= period_ms:
        # keep the period's phase; after a long pause (a host session) start afresh
        STATE["hist_at"] = now if late >= 2 * period_ms else time.ticks_add(
            STATE["hist_at"], period_ms)
        hist.push(None if STATE["hist_down"] else STATE["hist_min"])
        hist.last_ms = now
        STATE["hist_min"] = None
        STATE["hist_down"] = False


# Modules loaded for device calls and dropped afterwards (service._TRANSIENT). Loading a
# .mpy interns its names into qstr pools that are never freed; if the first self-test or
# scan does that, months into a run, the pools land wherever the heap has room and split it
# for good. Loaded once at boot, they sit at the start of the heap with the other boot data.
WARM = ("kernels_viper", "selftest", "capture", "plan", "kernels", "analysis", "diagnosis",
        "record", "wifi_info", "wifi_check", "wifi_scan", "netcheck")


def _warm():
    import sys

    import camdiag

    # A host link's Ctrl-C may land in the middle of an import here (about 1 s after
    # boot). The module it was loading is dropped all the same (finally), and the next
    # _setup goes on from that module: a warm-up cut short used to leave a half-loaded
    # module on the heap and skip the rest for good, so the first self-test interned its
    # names mid-heap and failed with MemoryError.
    if not __file__.endswith(".mpy"):
        # From .py sources each preload is a compile on the board: its garbage would split
        # the heap around the names it interns, the opposite of what the warm-up is for.
        # (Frozen firmware needs none: its names and code live in flash.)
        return
    while STATE["warmed"] < len(WARM):  # one at a time: all together would not fit
        m = WARM[STATE["warmed"]]
        before = list(sys.modules)
        try:
            __import__("camdiag." + m)
        except MemoryError:
            store.note("boot: heap too small to preload camdiag.%s" % m)
        except (ImportError, SyntaxError, ValueError):
            pass  # e.g. viper on a port without native code: the self-test uses portable
        finally:
            camdiag.unload_new(before)  # (keeps kernels_viper: loaded once, for good)
        STATE["warmed"] += 1


def _reserve(prof):
    """The self-test's capture buffers, allocated once while the heap is whole: a 10 KB
    block asked for after hours of app activity may not be found (capture.Buffers)."""
    import camdiag
    from camdiag.capture import Buffers
    from camdiag.plan import Plan

    try:
        plan = Plan(prof)
        return Buffers(plan.block, plan.capture_frames)
    finally:  # (a Ctrl-C here too must not leave the modules loaded)
        plan = Plan = Buffers = None  # noqa: F841 - let unload() free the modules
        camdiag.unload(("camdiag.capture", "camdiag.plan", "camdiag.kernels"))


def show(pattern, bars=0):
    STATE["pattern"] = pattern
    STATE["pattern_at"] = time.ticks_ms()
    STATE["bars"] = bars


def _leds(now):
    leds = STATE["leds"]
    if not leds:
        return
    elapsed = time.ticks_diff(now, STATE["pattern_at"])
    levels = ledp.level(STATE["pattern"], elapsed, len(leds), STATE["bars"])
    if levels is None:  # a timed pattern ended: what was queued, else the base pattern
        nxt = STATE["next"]
        STATE["next"] = None
        if nxt:
            show(nxt[0], nxt[1])
        else:
            show(STATE["base"])
        levels = ledp.level(STATE["pattern"], 0, len(leds), STATE["bars"])
    prof = STATE["profile"]
    for i, p in enumerate(leds):
        lit = levels[i]
        p.value(lit ^ 1 if prof["leds"][i]["active_low"] else lit)


def _emit(event, t):
    sys.stdout.write(EVENT_MARKER)
    sys.stdout.write(json.dumps({"event": event, "ticks": t}))
    sys.stdout.write("\n")


def _act(event):
    """What each gesture does on the camera."""
    acts = STATE["actions"]
    acts.append(event)
    if len(acts) > ACTIONS_KEPT:
        del acts[0]
    if event == btn.CLICK:  # status: last self-test verdict, then the Wi-Fi bars
        v = STATE["verdict"]
        show("selftest_passed" if v in (None, "healthy") else "selftest_failed")
        n = STATE["bars_tracker"].value if STATE["bars_tracker"] else 0
        STATE["next"] = ("wifi_bars", n) if n else None
    elif event == btn.DOUBLE_CLICK and STATE["busy"]:
        _emit("busy", time.ticks_ms())  # a host call is running (scan...): no self-test now
    elif event == btn.DOUBLE_CLICK:
        show("selftest_running")
        _leds(time.ticks_ms())
        _selftest("button")
    elif event == btn.REBOOT_CUE:
        show("reboot_cue")
    elif event == btn.RESET_ARMED:
        show("reset_armed")
    elif event == btn.STUCK:
        show("error")
        try:  # a stuck button is worth a line in the diagnostics log
            from camdiag import hw

            store.append_record({"schema": 1, "kind": "button", "outcome": "warn",
                                 "verdict": "stuck", "faults": [],
                                 "uptime_s": hw.uptime_s(),
                                 "summary": "reset button held past stuck_ms: ignored"})
        except OSError as e:
            store.note("could not log a stuck button: %s" % e)
    elif event == btn.REBOOT:
        from camdiag import hw

        time.sleep_ms(REBOOT_DRAIN_MS)
        hw.reboot()
    elif event == btn.FACTORY_RESET:
        show("resetting")
        _leds(time.ticks_ms())
        store.factory_reset(resetting)
        from camdiag import hw

        hw.reboot()  # boots into setup mode: no Wi-Fi configured


def tick(now):
    """One pass of the loop (also called by tests with a fake clock)."""
    STATE["in_tick"] = True
    try:
        _tick(now)
    finally:
        STATE["in_tick"] = False


def _tick(now):
    STATE["ticks"] += 1
    STATE["beat"] = now
    m = STATE["machine"]
    if m is not None:
        m.drain(RING, STATE["active_low"])
        m.update(now)
        for event, t in m.take():
            _emit(event, t)
            if event not in (btn.PRESS, btn.RELEASE):
                _act(event)
        pin = STATE["pin"]
        if pin is not None and len(RING) == 0:
            # Safety net: soft IRQs can be dropped (queue full); a level that differs from
            # the machine's last raw level with no edge waiting means an edge was lost.
            pressed = _pressed(pin.value())
            if pressed != m.raw:
                m.edge(now, pressed)
    if STATE["link"] is not None:
        _wifi(now)
    _leds(now)


# Every chip reset starts the audio path from nothing, so each gets the power-on self-test,
# "other" (0: USB, JTAG, eFuse, glitch, unknown) included. A soft reset (the chip ran on)
# and a deep-sleep wake (a camera saving power) do not.
POST_CAUSES = ("power_on", "hard_reset", "watchdog", "other")


def _post():
    """Power-on self-test (audio only: Wi-Fi is still connecting), into the results log."""
    prof = STATE["profile"]
    if prof is None or not prof["post_on_boot"]:
        return
    from camdiag import hw

    cause = hw.identity()["reset_cause"]
    if cause not in POST_CAUSES:
        return
    interrupted = store.take_mark(store.SELFTEST_RUNNING)
    retried = store.take_mark(store.SELFTEST_RETRIED)
    if interrupted and (cause != "power_on" or retried):
        # The last self-test never finished: the watchdog cut a hang, or a panic or glitch
        # reset the chip mid-audio, or power went twice in a row (a supply that sags under
        # the speaker's load; a brownout reads as power-on on the ESP32). Report it, do not
        # run into it again: that would be a boot loop.
        from camdiag import selftest

        rec = selftest.hung_record(prof, "power_on, twice" if cause == "power_on" else cause)
        selftest = None  # noqa: F841
        _log_post(rec)
        return
    if interrupted:  # power lost once mid-test: most likely the plug; test again, once
        store.mark(store.SELFTEST_RETRIED)
    show("selftest_running")
    _leds(time.ticks_ms())
    rec = _selftest("boot")
    store.take_mark(store.SELFTEST_RETRIED)
    if rec is not None:
        STATE["post"] = rec["verdict"]


def _announce(rec):
    """A self-test the app ran: remembered for a click, an event line, the LED pattern."""
    STATE["verdict"] = rec["verdict"]
    _emit("selftest_" + rec["outcome"] + ":" + rec["verdict"], time.ticks_ms())
    show("selftest_passed" if rec["outcome"] in ("pass", "warn") else "selftest_failed")


def _log_post(rec):
    import camdiag
    from camdiag import record

    store.append_record(record.compact(rec))
    STATE["post"] = rec["verdict"]
    _announce(rec)
    camdiag.unload(("camdiag.selftest", "camdiag.record", "camdiag.diagnosis"))


def _selftest(trigger):
    """Run a logged self-test from the app; show and announce its verdict."""
    import sys

    import camdiag

    before = list(sys.modules)
    rec = None
    try:
        from camdiag import selftest

        rec = selftest.service_selftest(log=True, wifi=trigger != "boot", trigger=trigger,
                                        feed=heartbeat)
        selftest = None  # noqa: F841
        _announce(rec)
    except Exception as e:  # a failing self-test must not stop the app
        store.note("%s self-test failed: %s" % (trigger, e))
        show("error")
    finally:  # also when a host session's Ctrl-C cuts it short: back to the boot heap
        camdiag.unload_new(before)
    return rec


def spin(ms):
    """Run the loop for ms from inside a host call (a scan, an RSSI window, a talk-path
    check), so the button and LEDs keep working; heavy gestures wait (STATE busy)."""
    if STATE["in_tick"]:  # called from an action of the loop itself (a self-test)
        time.sleep_ms(ms)
        return
    end = time.ticks_add(time.ticks_ms(), ms)
    STATE["busy"] = True
    try:
        while True:
            now = time.ticks_ms()
            left = time.ticks_diff(end, now)
            if left <= 0:
                return
            tick(now)
            time.sleep_ms(min(left, TICK_MS))
    finally:
        STATE["busy"] = False


def main():
    """The loop: a tick every TICK_MS until Ctrl-C (a host session) returns to the REPL.

    One plain loop, not asyncio tasks: the button, LED and Wi-Fi work all run on the same
    20 ms tick, and asyncio's scheduler would cost ~4 KB of heap for nothing."""
    _setup()
    STATE["paused"] = False
    heartbeat()
    try:
        if store.reset_pending():
            # a factory reset a host session started and then left (its Ctrl-C): it is
            # finished now, LED and watchdog as for the button, then the chip restarts
            show("resetting")
            store.finish_interrupted_reset(resetting)
            from camdiag import hw

            hw.reboot()
        if STATE["post"] is None:
            _emit("app_started", time.ticks_ms())  # once per boot: hosts know it is up
            STATE["post"] = "skipped"  # once per boot, even if a host session interrupts it
            _post()
        while True:
            now = time.ticks_ms()
            tick(now)
            left = TICK_MS - time.ticks_diff(time.ticks_ms(), now)
            if left > 0:
                time.sleep_ms(left)
    except KeyboardInterrupt:
        STATE["paused"] = True  # a host session: the watchdog timer feeds meanwhile


def resume():
    """Back into the loop after a host session (not in safe mode: the app stays off)."""
    from camdiag import boot

    if not boot.SAFE_MODE:
        main()
