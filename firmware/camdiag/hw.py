"""Hardware glue: the only module that touches `machine` and `network`.

Builds the peripherals from the board profile with the ESP32 port's real constructors
(checked against micropython-esp32-stubs). The virtual board supplies `machine` and
`network` modules with the same names, so nothing above this module can tell.
"""

import time

# Uptime: [ticks at the last reading, whole seconds, ms past them]. ticks_diff spans only
# +-2**29 ms (6.2 days) with the ESP32's ticks period of 2**30, so the time is added up at
# each reading (the app's Wi-Fi task reads it every second) instead of taken since boot;
# seconds and ms apart, so no count outgrows a small int (2**30 ms is 12 days).
_UPTIME = [time.ticks_ms(), 0, 0]

# machine.reset_cause() on the ESP32 port (ports/esp32/modmachine.c): power-on and brownout
# read 1, machine.reset() and a panic 2, any watchdog 3; USB, JTAG, eFuse, clock/power
# glitch and unknown resets all read 0, which says only "the chip was reset".
RESET_CAUSES = {0: "other", 1: "power_on", 2: "hard_reset", 3: "watchdog", 4: "deepsleep",
                5: "soft_reset"}


def _i2s(profile, side, mode, bits, fmt):
    a = profile["audio"]
    if a["driver"] == "none":
        raise OSError("this board has no usable I2S (board.json audio.driver is none)")
    if a["driver"] == "model":
        # the QEMU board: an acoustic model on the board stands in for the speaker and mic
        # (boards/esp32-qemu/acoustic_i2s.py), with the same constructor and methods
        from acoustic_i2s import I2S, Pin
    else:
        from machine import I2S, Pin
    c = a[side]
    return I2S(c["id"], sck=Pin(c["sck"]), ws=Pin(c["ws"]), sd=Pin(c["sd"]),
               mode=getattr(I2S, mode), bits=bits, format=getattr(I2S, fmt),
               rate=a["rate"], ibuf=c["ibuf"])


def prepare_audio(profile):
    """At boot: a board whose I2S is a model on the board (audio.driver "model") builds it
    now, before the self-test's buffers are reserved, as hardware is there from power-on."""
    if profile["audio"]["driver"] == "model":
        import acoustic_i2s  # noqa: F401


def i2s_tx(profile):
    # MONO: the ESP32 port writes each sample to both slots, so the amp plays it whatever
    # its SD_MODE slot selection (mono TX needs MicroPython >= 1.23).
    return _i2s(profile, "tx", "TX", 16, "MONO")


def i2s_rx(profile):
    # The RX hardware always reads 32-bit stereo frames; keep both slots so the self-test
    # can see which one the mic drives.
    return _i2s(profile, "rx", "RX", 32, "STEREO")


def button(profile):
    from machine import Pin

    b = profile["button"]
    pull = Pin.PULL_UP if b["pull_up"] else None
    return Pin(b["pin"], Pin.IN, pull)


def leds(profile):
    from machine import Pin

    out = []
    for led in profile["leds"]:
        p = Pin(led["pin"], Pin.OUT)
        p.value(1 if led["active_low"] else 0)
        out.append(p)
    return out


def wlan():
    from camdiag import store

    prof = store.load_profile()
    if prof is not None and not prof["wifi"]["radio"]:
        raise OSError("this board has no Wi-Fi radio (board.json wifi.radio is false)")
    import network

    return network.WLAN(network.STA_IF)


# The armed watchdog's timeout, kept for /boot.py in RTC memory (ports/esp32/machine_rtc.c:
# RTC_NOINIT, so a soft reset keeps it; a chip reset keeps it too, and /boot.py clears it
# then, as the chip reset stopped the watchdog). After a soft reset the task watchdog runs
# on but the Timer that fed it is gone (ports/esp32/main.c: machine_timer_deinit_all), so
# /boot.py feeds it before anything reads flash (see firmware/boot.py).
WDT_NOTE = b"camdiag-wdt:"


def watchdog(timeout_ms):
    import machine

    w = machine.WDT(timeout=timeout_ms)
    machine.RTC().memory(WDT_NOTE + str(timeout_ms).encode())
    return w


def timer(period_ms, callback):
    """A periodic soft timer (ESP32: hardware timer 0, callback run by the scheduler)."""
    from machine import Timer

    t = Timer(0)
    t.init(mode=Timer.PERIODIC, period=period_ms, callback=callback)
    return t


def identity():
    import machine

    uid = machine.unique_id()
    cause = machine.reset_cause()
    return {
        "unique_id": "".join("%02x" % b for b in uid),
        "reset_cause": RESET_CAUSES.get(cause, str(cause)),
    }


def uptime_s():
    """Seconds since boot, right beyond the ticks wrap as long as it is read at least
    every 6.2 days. Allocates nothing."""
    u = _UPTIME
    now = time.ticks_ms()
    ms = u[2] + time.ticks_diff(now, u[0])
    u[0] = now
    if ms >= 1000:
        u[1] += ms // 1000
        ms %= 1000
    u[2] = ms
    return u[1]


def reboot():
    import machine

    machine.reset()
