# The app's Wi-Fi task over a simulated day (its own module: it loads the whole app, and on
# the ESP32 port in QEMU the Wi-Fi logic tests and the app do not share one heap with their
# RAM disk). Runs on the MicroPython unix port and the ESP32 port (tests/mp_runner.py).
from camdiag import wifi


def test_24_hours_of_history_in_bounded_memory():
    """The app's Wi-Fi task for 24 simulated hours (a poll a second; the link down for the
    last 10 minutes of every 100):
    the ring wraps in its own buffer and the heap does not grow."""
    from fwtest import is_micropython, skip

    if not is_micropython():
        skip("the app module needs MicroPython's time.ticks_*")
    import gc

    from camdiag import app

    class Radio:
        def __init__(self):
            self.t = 0
            self.cur = None

        def status(self, what=None):
            if what is None:
                self.cur = None if (self.t // 600) % 10 == 9 else -60 - (self.t % 7)
                return 200 if self.cur is None else 1010
            return self.cur

    radio = Radio()
    st = app.STATE
    saved = dict(st)
    try:
        st.update({"profile": {"wifi": {"history_period_s": 30}}, "wlan": radio,
                   "link": wifi.LinkTracker(0), "bars_tracker": wifi.BarTracker(),
                   "history": wifi.History(2880), "wifi_at": 0, "hist_at": 0,
                   "hist_min": None, "hist_down": False})
        gc.collect()
        before = gc.mem_alloc()
        for s in range(1, 24 * 3600 + 1):
            radio.t = s
            app._wifi(s * 1000)
        gc.collect()
        grown = gc.mem_alloc() - before
        h = st["history"]
        assert h.n == 2880 and len(h.buf) == 2880, h.n
        # the last 6 h: the whole day as one list is 11.5 KB, more than the ESP32's heap
        # holds in one block beside this test's RAM disk (tests/test_on_qemu.py)
        vals = h.values(720)
        assert len(vals) == 720 and None in vals and min(v for v in vals if v is not None) >= -66
        link = st["link"].state(24 * 3600 * 1000, lambda a, b: a - b)
        # 14 outages of 600 s ended within the day
        assert link["reconnects"] == 14 and link["downtime_s"] == 14 * 600, link
        assert link["last_reason"] == 200
        assert grown < 512, grown
    finally:
        st.clear()
        st.update(saved)
