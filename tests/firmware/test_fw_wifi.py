# Wi-Fi logic: figures, bars with hysteresis, history ring, link bookkeeping, window
# statistics, reason decoding, scan summary, talk-path verdicts. Runs on CPython (pytest)
# and on the MicroPython unix port (tests/mp_runner.py).
from camdiag import netcheck, wifi, wifi_check, wifi_scan

LIM = {"rssi_warn_dbm": -67, "rssi_fail_dbm": -75, "rssi_stdev_max_db": 4.0,
       "congestion_max": 3.0, "upload_min_mbps": 2.0, "rtt_max_ms": 100.0,
       "jitter_max_ms": 30.0, "loss_max_pct": 1.0}


class FakeWlan:
    """status()/status('rssi') from a list of readings (None = not connected)."""

    def __init__(self, readings, down_status=201, pm=0):
        self.readings = list(readings)
        self.i = 0
        self.cur = None
        self.down_status = down_status
        self.pm = pm

    def status(self, what=None):
        # a poll is status() then, when connected, status("rssi"): one reading per poll
        if what is None:
            self.cur = self.readings[min(self.i, len(self.readings) - 1)]
            self.i += 1
            return self.down_status if self.cur is None else 1010
        if self.cur is None:
            raise OSError("STA is not connected")
        return self.cur

    def config(self, key):
        return self.pm


def test_percent_and_bars():
    assert [wifi.percent(d) for d in (-110, -100, -75, -50, -30)] == [0, 0, 50, 100, 100]
    assert [wifi.bars(d) for d in (-45, -50, -51, -67, -68, -75, -76, -95)] == \
        [4, 4, 3, 3, 2, 2, 1, 1]
    assert [wifi.bars(d, -60, -70) for d in (-60, -61, -70, -71)] == [3, 2, 2, 1]


def test_the_bars_say_what_the_words_say():
    # one bar count per word of the verdict, fewer bars for a worse word (-70 dBm "weak"
    # and -80 "very weak" were both 2 bars)
    from camdiag import wifi_check

    words = ("very weak", "weak", "fair", "good", "excellent")
    seen = {}
    for d in range(-100, -20):
        seen.setdefault(wifi_check.quality(d, -67, -75), set()).add(wifi.bars(d))
    assert all(len(b) == 1 for b in seen.values()), seen
    counts = [seen[w].pop() for w in words]
    assert counts == sorted(counts) and counts[0] < counts[1] < counts[2], counts


def test_read_never_leaks_oserror():
    class Raises:
        def status(self, what=None):
            raise OSError("Wifi Not Started")

    assert wifi.read(Raises()) == (-1, None)
    assert wifi.read(FakeWlan([None], down_status=202)) == (202, None)
    assert wifi.read(FakeWlan([-60])) == (1010, -60)


def test_bar_tracker_hysteresis():
    t = wifi.BarTracker()
    assert t.update(-66) == 3
    # wobbling between -68 and -70 (up to 3 dB under the -67 threshold) keeps 3 bars
    assert [t.update(d) for d in (-68, -70, -67, -70, -69)] == [3, 3, 3, 3, 3]
    assert t.update(-71) == 2  # more than 3 dB below: down
    assert [t.update(d) for d in (-69, -68, -70)] == [2, 2, 2]  # up needs -67 again
    assert t.update(-67) == 3
    assert t.update(-95) == 1  # a big drop goes straight down
    assert t.update(None) == 0  # not connected
    assert t.update(-40) == 4


def test_history_ring_wraps_in_its_buffer():
    h = wifi.History(16)
    assert h.values() == [] and len(h) == 0
    for i in range(40):
        h.push(None if i % 7 == 0 else -50 - i)
    assert len(h.buf) == 16 and len(h) == 16 and h.n == 40
    want = [None if i % 7 == 0 else -50 - i for i in range(24, 40)]
    assert h.values() == want
    assert h.values(last=3) == want[-3:]
    h.push(-200)  # clamped into the byte, never 0 (0 means "down")
    h.push(50)
    assert h.values(last=2) == [-127, 50 if 50 + 128 <= 255 else 127]


def test_history_push_allocates_nothing():
    from fwtest import is_micropython, skip

    if not is_micropython():
        skip("micropython.heap_lock() exists only on MicroPython")
    import micropython

    h = wifi.History(64)
    micropython.heap_lock()
    try:
        for i in range(200):
            h.push(-40 - (i & 31))
        h.push(None)
    finally:
        micropython.heap_unlock()
    assert h.n == 201


def test_link_tracker_counts_reconnects_and_downtime():
    def diff(a, b):
        return a - b

    lt = wifi.LinkTracker(0)
    lt.update(1000, 1001, diff)  # connecting
    lt.update(2000, 1010, diff)  # up
    lt.update(12000, 200, diff)  # beacon timeout
    lt.update(15000, 1001, diff)
    lt.update(17000, 1010, diff)  # back
    st = lt.state(27000, diff)
    assert st["connected"] and st["reconnects"] == 1 and st["last_reason"] == 200
    assert st["downtime_s"] == 5 and st["connected_s"] == 10 and st["uptime_connected_s"] == 20
    lt.update(28000, 202, diff)
    assert lt.state(30000, diff)["last_reason"] == 202
    assert not lt.state(30000, diff)["connected"]


def test_window_statistics():
    w = wifi_check.Window()
    for v in (-60, -62, None, -64, -66):
        w.add(v)
    assert w.n == 4 and w.lost == 1 and w.lo == -66 and w.hi == -60
    assert w.mean() == -63.0
    # (to float32's precision: the ESP32's floats are single precision)
    assert abs(w.stdev() - 5 ** 0.5) < 1e-5
    assert abs(w.slope() - (-2.0)) < 1e-5
    assert wifi_check.Window().mean() is None


def test_reason_text_keeps_unknown_numbers():
    assert wifi_check.reason_text(201) == "no AP found (201)"
    assert wifi_check.reason_text(202).startswith("wrong password")
    assert wifi_check.reason_text(15) == "4-way handshake timeout (15)"
    assert wifi_check.reason_text(77) == "reason 77"
    assert wifi_check.reason_text(2000) == "reason 2000"
    assert wifi_check.reason_text(None) is None


def test_down_advice_fits_the_reason():
    a = wifi_check.down_advice
    assert "password" in a(202, True) and "password" in a(15, True)
    assert "2.4 GHz" in a(201, True) and "2.4 GHz" in a(210, True)
    assert "closer" in a(200, True)
    assert "add the camera" in a(1000, False)
    assert "Restart the router" in a(999, True)
    assert "keeps trying to connect" in a(1001, True)


class StatusSeq(FakeWlan):
    """Down all the time, status() walking through codes (as the ESP32 port shows them)."""

    def __init__(self, codes):
        FakeWlan.__init__(self, [None])
        self.codes = codes

    def status(self, what=None):
        if what is None:
            self.i += 1
            return self.codes[(self.i - 1) % len(self.codes)]
        raise OSError("STA is not connected")


def test_a_down_link_is_judged_by_the_most_telling_code():
    # ports/esp32/network_wlan.c: a wrong password reads 1001 and 202 in turn (ESP-IDF's
    # reasons 15 and 205), so the last reading alone would often say only "connecting"
    dr = wifi_check.down_reason
    assert dr([1001, 202, 1001], {}) == 202
    assert dr([201, 1001], {}) == 201
    assert dr([1001], {"down_reason": 202}) == 202  # the app saw it earlier in this spell
    assert dr([1001], {"down_reason": None}) == 1001
    assert dr([1000], {}) == 1000
    checks, faults, s = wifi_check.signal_checks(StatusSeq([1001, 202]), LIM, True, 4, 200,
                                                 lambda ms: None)
    assert faults == ["wifi_down"] and "password" in checks[0]["advice"]
    checks, faults, s = wifi_check.signal_checks(StatusSeq([1001]), LIM, True, 4, 200,
                                                 lambda ms: None)
    reason = checks[0]["measurements"][1]["value"]
    assert faults == ["wifi_down"] and reason.startswith("keeps trying to connect"), reason
    assert "lets new devices join" in checks[0]["advice"]


def test_the_link_tracker_keeps_the_reason_of_this_spell_down_only():
    def diff(a, b):
        return a - b

    lt = wifi.LinkTracker(0)
    lt.update(1000, 1001, diff)
    lt.update(2000, 202, diff)
    lt.update(3000, 1001, diff)
    assert lt.state(3000, diff)["down_reason"] == 202
    lt.update(4000, 1010, diff)
    st = lt.state(4000, diff)
    assert st["down_reason"] is None and st["last_reason"] == 202
    lt.update(5000, 1001, diff)  # down again (a beacon timeout: not visible)
    assert lt.state(5000, diff)["down_reason"] is None


def _sig(readings, n=None, down_status=201, pm=0):
    wl = FakeWlan(readings, down_status, pm)
    return wifi_check.signal_checks(wl, LIM, True, n or len(readings), 200, lambda ms: None)


def test_signal_verdicts():
    checks, faults, s = _sig([-52, -53, -52, -51, -52])
    assert faults == [] and all(c["outcome"] == "pass" for c in checks)
    assert s["bars"] == 3 and s["quality"] == "good" and s["percent"] == 96
    checks, faults, s = _sig([-70, -71, -70, -69, -70])
    assert faults == [] and [c["outcome"] for c in checks if c["name"] == "wifi_signal"] == \
        ["warn"]
    checks, faults, s = _sig([-80, -81, -79, -80])
    assert faults == ["wifi_weak"] and s["quality"] == "very weak"
    checks, faults, s = _sig([-60, -50, -70, -52, -68, -49, -71])
    assert faults == ["wifi_unstable"] and s["rssi_stdev"] > 4
    checks, faults, s = _sig([-66, -66, None, None, -65])
    assert faults == ["wifi_unstable"] and s["lost_samples"] == 2
    checks, faults, s = _sig([None, None], down_status=202)
    assert faults == ["wifi_down"] and "password" in checks[0]["advice"]
    checks, faults, s = _sig([-52] * 3, pm=2)
    assert faults == [] and checks[-1]["name"] == "wifi_power_save"
    assert checks[-1]["outcome"] == "warn"


def test_falling_signal_warns_before_it_is_weak():
    readings = [-55 - i for i in range(12)]  # -1 dB per 200 ms sample
    checks, faults, s = _sig(readings)
    sig = [c for c in checks if c["name"] == "wifi_signal"][0]
    assert faults == [] and sig["outcome"] == "warn" and "falling" in sig["note"]


CROWDED = [
    (b"home", b"\xa0\x00\x00\x00\x00\x01", 6, -51, 3, False),
    (b"home", b"\xa0\x00\x00\x00\x00\x02", 11, -70, 3, False),
    (b"n1", b"\x20\x00\x00\x00\x00\x01", 6, -60, 3, False),
    (b"n2", b"\x20\x00\x00\x00\x00\x02", 6, -65, 4, False),
    (b"n3", b"\x20\x00\x00\x00\x00\x03", 7, -58, 3, False),
    (b"n4", b"\x20\x00\x00\x00\x00\x04", 5, -62, 3, False),
    (b"n5", b"\x20\x00\x00\x00\x00\x05", 1, -85, 0, False),
    (b"\xff\xfe", b"\x20\x00\x00\x00\x00\x06", 11, -80, 42, False),
    (b"", b"\x20\x00\x00\x00\x00\x07", 1, -88, 11, True),  # hidden, WPA3-Ent-192
]


def test_scan_summary():
    s = wifi_scan.summarize(CROWDED, "home", 3.0)
    rssis = [ap["rssi"] for ap in s["aps"]]
    assert rssis == sorted(rssis, reverse=True) and s["count"] == 9
    hidden = [ap for ap in s["aps"] if ap["hidden"]]
    assert [(ap["ssid"], ap["auth"]) for ap in hidden] == [("", "auth 11")]
    assert s["own"]["bssid"] == "a0:00:00:00:00:01" and s["own"]["channel"] == 6
    assert [ap["channel"] for ap in s["same_ssid"]] == [11]
    assert s["congested"] and s["suggested_channel"] == 1 and s["move"]
    assert s["scores"][1] < s["scores"][11] < s["scores"][6]
    auths = [ap["auth"] for ap in s["aps"]]
    assert "auth 42" in auths and "WPA2-PSK" in auths  # unknown modes keep their number
    checks, faults = wifi_scan.scan_checks(s, LIM, True)
    assert faults == ["wifi_congested"] and "channel to 1" in checks[0]["advice"]
    clean = [CROWDED[0], CROWDED[6]]
    s = wifi_scan.summarize(clean, "home", 3.0)
    assert not s["congested"] and s["congestion"] == 0.0
    assert wifi_scan.scan_checks(s, LIM, True)[1] == []
    s = wifi_scan.summarize(clean, "elsewhere", 3.0)
    assert s["own"] is None
    checks, faults = wifi_scan.scan_checks(s, LIM, True)
    assert faults == [] and checks[0]["outcome"] == "warn"


def test_overlapping_neighbour_weighs_more_than_a_cochannel_one():
    same = wifi_scan.congestion([{"bssid": "x", "channel": 6, "rssi": -60}], 6)
    next_door = wifi_scan.congestion([{"bssid": "x", "channel": 7, "rssi": -60}], 6)
    far = wifi_scan.congestion([{"bssid": "x", "channel": 11, "rssi": -40}], 6)
    assert next_door > same > far == 0.0


def test_echo_stats_and_talk_verdicts():
    mean, mx, jit, loss = netcheck.echo_stats([10.0, 12.0, None, 11.0, 15.0])
    assert (mean, mx, loss) == (12.0, 15.0, 20.0)
    assert abs(jit - (2 + 1 + 4) / 3) < 1e-9
    assert netcheck.echo_stats([None, None])[0] is None
    checks, faults = netcheck.checks_for(LIM, (20.0, 262144, 0.1), (8.0, 12.0, 1.0, 0.0), [])
    assert faults == [] and len(checks) == 4
    checks, faults = netcheck.checks_for(LIM, (1.0, 262144, 2.1), (150.0, 190.0, 45.0, 4.0),
                                         [])
    assert sorted(faults) == ["net_high_rtt", "net_jitter", "net_lossy", "net_slow_upload"]
    checks, faults = netcheck.checks_for(LIM, None, None, [("net_upload", "refused")])
    assert faults == [] and checks[0]["outcome"] == "error"


class _Ticks2_30:
    """time.ticks_* of the ESP32 port: period 2**30 (ticks_diff spans +-6.2 days)."""

    PERIOD = 1 << 30

    def __init__(self, start):
        self.now = start

    def ticks_ms(self):
        return self.now % self.PERIOD

    def ticks_add(self, t, d):
        return (t + d) % self.PERIOD

    def ticks_diff(self, a, b):
        return (a - b + self.PERIOD // 2) % self.PERIOD - self.PERIOD // 2


def test_link_durations_stay_right_past_6_days_and_the_ticks_wrap():
    t = _Ticks2_30((1 << 30) - 3600 * 1000)  # an hour before the wrap
    lt = wifi.LinkTracker(t.ticks_ms())
    lt.update(t.ticks_ms(), 1010, t.ticks_diff)  # connected
    hour = 3600 * 1000
    for _ in range(8 * 24):  # 8 days of polls (the app polls every second)
        t.now += hour
        lt.update(t.ticks_ms(), 1010, t.ticks_diff)
    st = lt.state(t.ticks_ms(), t.ticks_diff)
    assert st["connected"] and st["connected_s"] == 8 * 24 * 3600, st
    assert st["uptime_connected_s"] == 8 * 24 * 3600 and st["downtime_s"] == 0, st


def test_uptime_stays_right_past_6_days_and_the_ticks_wrap():
    from fwtest import is_micropython, skip

    if not is_micropython():
        skip("camdiag.hw needs MicroPython's time.ticks_* at import")
    from camdiag import hw

    real = hw.time
    t = _Ticks2_30((1 << 30) - 10 * 1000)
    hw.time = t
    try:
        hw._UPTIME[:] = [t.ticks_ms(), 0, 0]  # a boot 10 s before the wrap
        for _ in range(9 * 24 * 60):  # 9 days, read every minute
            t.now += 60 * 1000 + 7  # with odd milliseconds, kept across readings
            hw.uptime_s()
        assert hw.uptime_s() == 9 * 24 * 3600 + (9 * 24 * 60 * 7) // 1000
    finally:
        hw.time = real
