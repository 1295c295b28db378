"""Properties of the Wi-Fi logic under hypothesis, with numpy as the independent reference."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from camdiag import netcheck, wifi, wifi_check, wifi_scan

dbm = st.integers(min_value=-100, max_value=-20)
maybe_dbm = st.one_of(st.none(), dbm)


@given(st.lists(maybe_dbm, min_size=1, max_size=300))
def test_window_statistics_match_numpy(readings):
    w = wifi_check.Window()
    for r in readings:
        w.add(r)
    got = np.array([r for r in readings if r is not None], dtype=float)
    assert w.lost == len(readings) - len(got) and w.n == len(got)
    if not len(got):
        assert w.mean() is None and w.stdev() is None
        return
    assert abs(w.mean() - got.mean()) < 1e-9
    assert abs(w.stdev() - got.std()) < 1e-6
    assert (w.lo, w.hi) == (got.min(), got.max())
    if len(got) >= 2:
        assert abs(w.slope() - np.polyfit(np.arange(len(got)), got, 1)[0]) < 1e-6
    if len(got) >= 3:  # the slope's standard error, as numpy's fit covariance gives it
        _, cov = np.polyfit(np.arange(len(got)), got, 1, cov="unscaled")
        resid = got - np.polyval(np.polyfit(np.arange(len(got)), got, 1), np.arange(len(got)))
        se = np.sqrt(cov[0, 0] * (resid @ resid) / (len(got) - 2))
        assert abs(w.slope_stderr() - se) < 1e-6 * max(1.0, se)


def test_a_steady_link_rarely_shows_a_trend():
    """-52 +- 1 dBm for 10 s at 0.5 s a reading (the issue's six runs gave -12.5 to +11.8
    dB/min, every one printed): a fitted slope that stands twice its standard error clear of
    zero is rare, about one window in twenty; 1000 windows, a fixed seed."""
    import random

    rng = random.Random(20261201)
    shown = 0
    for _ in range(1000):
        w = wifi_check.Window()
        for _ in range(20):
            w.add(-52 + rng.choice((-1, 0, 1)))
        shown += abs(w.slope()) > 2 * w.slope_stderr()
    assert shown < 100, shown  # (two standard errors: ~5 %; was every window)


@given(dbm, st.integers(min_value=0, max_value=wifi.HYST_DB), st.data())
def test_readings_within_3_db_never_flap_the_bars(start, width, data):
    """Whatever came before, readings that stay within HYST_DB of each other never flap the
    bars: once the band's readings arrive, the bars move one way only (settling from an
    earlier level), never back to a level they left."""
    t = wifi.BarTracker()
    for r in data.draw(st.lists(maybe_dbm, max_size=5)):  # any history
        t.update(r)
    band = st.integers(min_value=start, max_value=start + width)
    seq = data.draw(st.lists(band, min_size=1, max_size=60))
    shown = [t.update(r) for r in seq]
    steps = [b - a for a, b in zip(shown, shown[1:], strict=False) if b != a]
    assert all(s > 0 for s in steps) or all(s < 0 for s in steps), (seq, shown)
    # and a reading repeated keeps the bars where they are
    assert t.update(seq[-1]) == shown[-1]


def test_a_wobble_around_a_threshold_keeps_its_bars():
    for threshold in (wifi.EXCELLENT_DBM, wifi.WARN_DBM, wifi.FAIL_DBM):
        for first in (threshold, threshold - 1):
            t = wifi.BarTracker()
            t.update(first)
            shown = {t.update(threshold - k % (wifi.HYST_DB + 1)) for k in range(50)}
            assert len(shown) == 1, (threshold, first, shown)


@given(st.lists(maybe_dbm, max_size=100))
def test_bar_tracker_stays_between_plain_bars(seq):
    t = wifi.BarTracker()
    for r in seq:
        b = t.update(r)
        if r is None:
            assert b == 0
        else:
            assert wifi.bars(r) <= b <= wifi.bars(r + wifi.HYST_DB)


@given(st.integers(min_value=1, max_value=64), st.lists(maybe_dbm, max_size=300))
def test_history_ring_keeps_the_newest_within_its_buffer(cap, pushes):
    h = wifi.History(cap)
    for p in pushes:
        h.push(p)
    assert len(h.buf) == cap  # the memory bound: the buffer never grows
    assert h.values() == pushes[-cap:] if pushes else h.values() == []
    assert len(h) == min(cap, len(pushes))


def test_history_default_is_24_hours_in_under_4_kb():
    from camdiag_host.boards import load

    w = load("esp32s3-devkit")["wifi"]
    assert w["history_len"] * w["history_period_s"] >= 24 * 3600
    assert len(wifi.History(w["history_len"]).buf) <= 4096


@given(st.integers(min_value=-(2 ** 31), max_value=2 ** 31))
def test_reason_text_always_names_the_code(code):
    t = wifi_check.reason_text(code)
    assert str(code) in t and "\n" not in t


ap = st.fixed_dictionaries({"bssid": st.sampled_from(["a", "b", "c", "d"]),
                            "channel": st.integers(1, 13), "rssi": dbm})


@given(st.lists(ap, max_size=20), ap, st.integers(1, 13))
def test_another_neighbour_never_lowers_congestion(aps, extra, channel):
    assert wifi_scan.congestion(aps + [extra], channel) >= wifi_scan.congestion(aps, channel)


@given(st.lists(st.tuples(st.binary(max_size=32), st.binary(min_size=6, max_size=6),
                          st.integers(1, 13), dbm, st.integers(0, 12), st.just(False)),
                max_size=30))
def test_scan_summary_of_any_table(raw):
    s = wifi_scan.summarize(raw, "x", 3.0)
    rssis = [a["rssi"] for a in s["aps"]]
    assert rssis == sorted(rssis, reverse=True) and s["count"] == len(raw)
    assert s["scores"][s["suggested_channel"]] == min(s["scores"].values())


@given(st.lists(st.one_of(st.none(), st.floats(0.01, 5000)), min_size=1, max_size=200))
def test_echo_stats_match_numpy(rtt):
    mean, mx, jit, loss = netcheck.echo_stats(rtt)
    got = np.array([r for r in rtt if r is not None])
    assert abs(loss - 100 * (len(rtt) - len(got)) / len(rtt)) < 1e-9
    if not len(got):
        assert mean is None
        return
    assert abs(mean - got.mean()) < 1e-6 * max(1, got.mean()) and mx == got.max()
    ref = np.abs(np.diff(got)).mean() if len(got) > 1 else 0.0
    assert abs(jit - ref) < 1e-6 * max(1.0, ref)
