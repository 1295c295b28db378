# LED patterns on CPython and the MicroPython unix port.
from camdiag import led


def lit_ms(pattern, n_leds=1, span=1000, bars=0, which=0):
    on = 0
    for t in range(0, span):
        lv = led.level(pattern, t, n_leds, bars)
        if lv is not None and lv[which]:
            on += 1
    return on


def edges(pattern, span, n_leds=1, which=0, bars=0):
    prev = 0
    n = 0
    for t in range(span):
        lv = led.level(pattern, t, n_leds, bars)
        v = lv[which] if lv else 0
        if v and not prev:
            n += 1
        prev = v
    return n


def test_setup_is_a_slow_blink_and_armed_a_fast_flash():
    assert edges("setup", 3000) == 3 and lit_ms("setup", span=1000) == 500  # 1 Hz
    assert edges("reset_armed", 1000, 2, which=1) == 5  # 5 Hz on the red LED


def test_error_and_warning_match_esphome():
    assert lit_ms("error", 2, span=250, which=1) == 150
    assert lit_ms("warning", 2, span=1500, which=1) == 250


def test_timed_patterns_end():
    assert led.level("success", 1999, 1) == (1,)
    assert led.level("success", 2000, 1) is None
    assert led.level("setup", 10 ** 7, 1) is not None  # until replaced


def test_red_pattern_on_a_one_led_board_uses_that_led():
    assert led.level("error", 0, 1) == (1,)
    assert led.level("error", 0, 2) == (0, 1)


def test_wifi_bars_blink_the_count():
    for bars in range(0, 5):
        assert edges("wifi_bars", 1000 + bars * 250, bars=bars) == bars
