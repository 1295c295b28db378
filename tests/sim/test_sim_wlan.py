# The virtual board's station driver against the ESP32 port's, on the unix port (run by
# tests/test_on_micropython.py through tests/mp_runner.py). Source: ports/esp32/network_wlan.c
#   network_wlan_wifi_event_handler: every STA_DISCONNECTED stores its reason and calls
#     esp_wifi_connect() again while a connection is requested (endlessly by default);
#   network_wlan_status: 1010 when connected; 201, 210-212 as they are; 202 and 205 as 202;
#     8 as 1000; otherwise 1001 while requested; a reason only once the retries ran out.
# The scenario clock is replaced by a fake one, so 30 s of retries take no time.
import sim_network as net


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def __getattr__(self, name):  # sleep_ms and the rest from the real module
        import time

        return getattr(time, name)


_real_time = net.time
CLOCK = _Clock()


def _setup(scenario, reconnects=None):
    net.time = CLOCK
    CLOCK.now += 1000  # a fresh start, well away from the last test
    wlan = net.WLAN(net.STA_IF)
    wlan.active(False)
    wlan.disconnect()
    net._DRV["reason"] = 0
    net.set_scenario(scenario, t0=CLOCK.now)
    wlan.active(True)
    if reconnects is not None:
        wlan.config(reconnects=reconnects)
    else:
        wlan.config(reconnects=-1)
    wlan.connect("lab", "pw")
    return wlan


def _trace(wlan, seconds, step=0.25):
    seen = []
    t = 0.0
    while t < seconds:
        st = wlan.status()
        if not seen or seen[-1] != st:
            seen.append(st)
        CLOCK.now += step
        t += step
    return seen


def _done():
    net.time = _real_time


def test_a_good_ap_connects_after_association():
    w = _setup("steady_good")
    assert _trace(w, 2) == [1001, 1010]
    assert -60 < w.status("rssi") < -40
    _done()


def test_no_ap_is_1001_until_the_first_attempt_fails_then_201_for_good():
    w = _setup("no_ap")
    assert _trace(w, 30) == [1001, 201]
    _done()


def test_a_wrong_password_alternates_1001_and_202():
    w = _setup("wrong_password")
    seen = _trace(w, 30)
    assert seen[:4] == [1001, 202, 1001, 202], seen
    assert set(seen) == {1001, 202}
    _done()


def test_a_refusing_ap_never_shows_a_reason():
    w = _setup("refused")
    assert _trace(w, 30) == [1001]
    _done()


def test_a_beacon_timeout_is_never_visible():
    w = _setup("flapping")
    seen = _trace(w, 30, 0.1)
    assert 200 not in seen and 1010 in seen and 1001 in seen, seen
    _done()


def test_rssi_raises_when_not_connected():
    w = _setup("no_ap")
    try:
        w.status("rssi")
    except OSError:
        pass
    else:
        raise AssertionError("status('rssi') returned while not connected")
    _done()


def test_disconnect_reads_idle_and_does_not_retry():
    w = _setup("steady_good")
    _trace(w, 2)
    w.disconnect()
    assert _trace(w, 10) == [1000]
    _done()


def test_active_off_and_on_does_not_reconnect():
    w = _setup("steady_good")
    _trace(w, 2)
    w.active(False)
    w.active(True)
    assert _trace(w, 10) == [1000]
    _done()


def test_with_limited_reconnects_the_reason_passes_through():
    # config(reconnects=2): three attempts, then status() is the last reason itself
    w = _setup("refused", reconnects=2)
    assert w.config("reconnects") == 2
    assert _trace(w, 30) == [1001, 203]
    _done()


def test_a_scan_while_connecting_is_empty():
    w = _setup("no_ap")
    assert w.scan() == []
    _done()
