"""LED patterns (pure logic): pattern name + time since it started -> level per LED.

Conventions (shared/REFERENCE.md): setup mode slow blink (~1 Hz); factory reset armed fast
flash (~5 Hz); error on 150 ms of every 250 ms; warning 250 ms in 1500 ms; success solid
for 2 s. Boards have one LED or two (green + red); a red pattern on a one-LED board uses
the only LED.
"""

GREEN = 0
RED = 1

# name: (period_ms, on_ms, led, lasts_ms or 0 for until replaced)
PATTERNS = {
    "off": (1000, 0, GREEN, 0),
    "setup": (1000, 500, GREEN, 0),  # setup mode / no Wi-Fi configured: slow blink
    "idle": (3000, 60, GREEN, 0),  # running normally: a short blip every 3 s
    "reboot_cue": (1000, 1000, GREEN, 0),  # held past hold_reboot_ms: solid, reboot on release
    "reset_armed": (200, 100, RED, 0),  # held past factory_reset_ms: fast flash (5 Hz)
    # factory reset in progress: red, dark 100 ms a second (the fill takes over a minute on
    # a 6 MB filesystem: the blink shows the camera is busy, not hung)
    "resetting": (1000, 900, RED, 0),
    "success": (1000, 1000, GREEN, 2000),  # solid for 2 s
    "error": (250, 150, RED, 2000),  # ESPHome error pattern, for 2 s
    "warning": (1500, 250, RED, 3000),  # ESPHome warning pattern
    "selftest_running": (400, 200, GREEN, 0),
    "selftest_passed": (1000, 1000, GREEN, 2000),
    "selftest_failed": (250, 150, RED, 3000),
}

BAR_BLINK_MS = 250  # Wi-Fi bars: n blinks of 150 ms, 250 ms apart, then 1 s dark


def level(pattern, elapsed_ms, n_leds, bars=0):
    """Tuple of LED levels (1 = lit) for `pattern` at elapsed_ms; None when it has ended."""
    if pattern == "wifi_bars":
        span = bars * BAR_BLINK_MS + 1000
        if elapsed_ms >= 2 * span:
            return None
        t = elapsed_ms % span
        lit = 1 if (t < bars * BAR_BLINK_MS and t % BAR_BLINK_MS < 150) else 0
        return (lit,) + (0,) * (n_leds - 1)
    period, on, led, lasts = PATTERNS[pattern]
    if lasts and elapsed_ms >= lasts:
        return None
    lit = 1 if (elapsed_ms % period) < on else 0
    out = [0] * n_leds
    out[led if led < n_leds else 0] = lit
    return tuple(out)
