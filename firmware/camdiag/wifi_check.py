"""Wi-Fi checks: RSSI window statistics, disconnect reasons, records (scan: wifi_scan).

Loaded when the host asks (rssi, scan, a self-test on a board with Wi-Fi configured) and
dropped again afterwards. The WLAN object is passed in, so all of it runs on CPython with a
fake. Long waits go through ``wait_ms``, which keeps the app's button and LED loop running
when the app is loaded (a scan or a 5 s window must not freeze them).
"""


from camdiag import record, wifi
from camdiag.record import check
from camdiag.record import meas as _meas
from camdiag.wifi_info import link_state

# ESP-IDF wifi_err_reason_t (and MicroPython's 1000/1001/1010 status codes), as one string:
# a dict of 45 small strings costs several KB of a board's heap, this costs its length.
# An unknown code is reported as "reason N".
_REASONS = ("|1000 idle, not connecting|1001 connecting|1010 connected"
            "|1 unspecified|2 authentication expired|3 deauthenticated (AP left)"
            "|4 association expired (AP lost us)|5 AP has too many stations"
            "|6 not authenticated|7 not associated|8 disassociated (station left)"
            "|9 associated but not authenticated|10 power capability unacceptable"
            "|11 supported channels unacceptable|12 BSS transition disassociation"
            "|13 invalid information element|14 MIC failure|15 4-way handshake timeout"
            "|16 group key update timeout|17 4-way handshake IE differs"
            "|18 invalid group cipher|19 invalid pairwise cipher|20 invalid AKMP"
            "|21 unsupported RSN IE version|22 invalid RSN IE capabilities"
            "|23 802.1X authentication failed|24 cipher suite rejected"
            "|200 beacon timeout (AP out of range)|201 no AP found"
            "|202 wrong password (authentication failed)|203 association failed"
            "|204 handshake timeout|205 connection failed|206 AP TSF reset|207 roaming"
            "|208 association comeback time too long|209 SA query timeout"
            "|210 no AP with compatible security|211 no AP within the authmode threshold"
            "|212 no AP within the RSSI threshold|")

# Which fix fits a reason: the password was refused, the AP is not there, or the link is
# weak/lost. Everything else gets the cheapest generic step. On the ESP32 port status()
# shows only 201, 202 (also for 205) and 210-212 while the driver retries, 1001 for all the
# rest (ports/esp32/network_wlan.c); the other codes pass through only with
# config(reconnects=n) once the retries ran out.
_PASSWORD = (2, 6, 14, 15, 16, 17, 23, 202, 204)
_NOT_FOUND = (201, 210, 211, 212)
_LOST = (3, 4, 7, 200, 203, 205, 206, 209)

ADVICE = {
    "wifi_not_configured": "No Wi-Fi is set up: add the camera to your network in the app "
                           "(the camera is in setup mode).",
    "wifi_password": "The router refused the password: re-enter the Wi-Fi password by "
                     "re-adding the camera in the app (at a bench: camdiag wifi-setup).",
    "wifi_no_ap": "The camera cannot see your network: check the router is on and "
                  "broadcasting on 2.4 GHz (the camera cannot use 5 GHz), then move the "
                  "camera closer.",
    "wifi_lost": "The link to the router keeps dropping: move the router or camera closer "
                 "and clear concrete, metal and large appliances from the path.",
    "wifi_down": "Restart the router and unplug the camera for 15 s; if it still cannot "
                 "connect, re-add the camera in the app.",
    "wifi_retrying": "The camera keeps trying to connect and the router does not say why: "
                     "restart the router, check it lets new devices join (no MAC filter, "
                     "not at its device limit, WPA2 on 2.4 GHz), then re-add the camera in "
                     "the app.",
    "wifi_weak": "The signal is too weak for two-way talk: move the router or camera "
                 "closer, clear concrete, metal and large appliances from the path, or "
                 "add a Wi-Fi extender.",
    "wifi_unstable": "The signal swings or drops: keep microwaves, baby monitors and "
                     "cordless phones away from the camera and router, and give the router "
                     "a fixed channel (1, 6 or 11).",
    "wifi_power_save": "Wi-Fi power saving is on, which delays audio: update the camera "
                       "firmware (it should turn power saving off).",
}

DIAGNOSIS = {
    "wifi_down": "the camera is not connected to Wi-Fi",
    "wifi_weak": "the Wi-Fi signal is too weak for two-way talk",
    "wifi_unstable": "the Wi-Fi signal is unstable",
}

FAULT_ORDER = ("wifi_down", "wifi_weak", "wifi_unstable")
FALLING_DB_MIN = 6  # a steadier fall than this (dB per minute) is worth a warning


def reason_text(code):
    """"no AP found (201)"; an unknown code keeps its number: "reason 77"."""
    if code is None:
        return None
    key = "|%d " % code
    i = _REASONS.find(key)
    if i < 0:
        return "reason %d" % code
    return "%s (%d)" % (_REASONS[i + len(key):_REASONS.index("|", i + 1)], code)


def down_reason(seen, link):
    """The most telling code for a link that is down: a reason seen in this window (the
    newest), else the one the app saw in this spell down, else what status() says now."""
    for st in reversed(seen):
        if st not in (wifi.STAT_IDLE, wifi.STAT_CONNECTING, wifi.STAT_GOT_IP, -1):
            return st
    return link.get("down_reason") or seen[-1]


def down_advice(status, configured):
    if not configured:
        return ADVICE["wifi_not_configured"]
    if status == wifi.STAT_CONNECTING:
        return ADVICE["wifi_retrying"]
    if status in _PASSWORD:
        return ADVICE["wifi_password"]
    if status in _NOT_FOUND:
        return ADVICE["wifi_no_ap"]
    if status in _LOST:
        return ADVICE["wifi_lost"]
    return ADVICE["wifi_down"]


def quality(dbm, warn, fail):
    if dbm is None:
        return "no signal"
    if dbm >= wifi.EXCELLENT_DBM:
        return "excellent"
    if dbm >= -60:
        return "good"
    if dbm >= warn:
        return "fair"
    if dbm >= fail:
        return "weak"
    return "very weak"


class Window:
    """Running RSSI statistics (integers only: nothing allocated per sample)."""

    def __init__(self):
        self.n = 0
        self.lost = 0  # polls while not connected
        self.s = 0
        self.ss = 0
        self.si = 0  # sum of index * dbm, for the trend
        self.lo = 0
        self.hi = 0

    def add(self, dbm):
        if dbm is None:
            self.lost += 1
            return
        i = self.n
        if i == 0 or dbm < self.lo:
            self.lo = dbm
        if i == 0 or dbm > self.hi:
            self.hi = dbm
        self.s += dbm
        self.ss += dbm * dbm
        self.si += i * dbm
        self.n = i + 1

    def mean(self):
        return self.s / self.n if self.n else None

    def stdev(self):
        if not self.n:
            return None
        m = self.s / self.n
        v = self.ss / self.n - m * m
        return v ** 0.5 if v > 0 else 0.0

    def slope(self):
        """Least-squares trend in dB per sample (0 with fewer than 2 samples)."""
        n = self.n
        if n < 2:
            return 0.0
        sx = n * (n - 1) // 2
        sxx = (n - 1) * n * (2 * n - 1) // 6
        return (n * self.si - sx * self.s) / (n * sxx - sx * sx)

    def slope_stderr(self):
        """The slope's standard error (dB per sample), from the fit's residuals: a steady
        link's readings wobble by a dB or two, and a slope fitted to that wobble is noise
        unless it stands well clear of this. None with fewer than 3 samples."""
        n = self.n
        if n < 3:
            return None
        sx = n * (n - 1) / 2
        sxx = (n - 1) * n * (2 * n - 1) / 6 - sx * sx / n  # centred sums
        sxy = self.si - sx * self.s / n
        syy = self.ss - self.s * self.s / n
        sse = syy - sxy * sxy / sxx
        return (max(0.0, sse) / (n - 2) / sxx) ** 0.5


def sample(wlan, n, period_ms, wait=wifi.wait_ms, limits=(wifi.WARN_DBM, wifi.FAIL_DBM)):
    """n readings, period_ms apart. Returns (Window, BarTracker, status codes seen).
    limits: (rssi_warn_dbm, rssi_fail_dbm) of the profile, for the bars."""
    w = Window()
    bt = wifi.BarTracker(*limits)
    seen = []
    for i in range(n):
        st, dbm = wifi.read(wlan)
        w.add(dbm)
        bt.update(dbm)
        if st not in seen:
            seen.append(st)
        if i + 1 < n:
            wait(period_ms)
    return w, bt, seen


def _check(name, outcome, meas, fault=None, advice=None, note=None):
    return check(name, outcome, meas, fault, DIAGNOSIS.get(fault),
                 advice or ADVICE.get(fault), note)


def _r(v, nd=1):
    return None if v is None else round(v, nd)


def signal_checks(wlan, lim, configured, n, period_ms, wait=wifi.wait_ms):
    """Checks and faults for the link and an RSSI window. Returns (checks, faults, summary)."""
    w, bt, seen = sample(wlan, n, period_ms, wait,
                         (lim["rssi_warn_dbm"], lim["rssi_fail_dbm"]))
    st = seen[-1]
    link = link_state() or {}
    try:
        pm = wlan.config("pm")
    except (OSError, ValueError):
        pm = None
    checks = []
    faults = []
    summary = {"status": st, "status_text": reason_text(st), "samples": w.n,
               "lost_samples": w.lost, "reconnects": link.get("reconnects"),
               "last_reason": link.get("last_reason"),
               "last_reason_text": reason_text(link.get("last_reason"))}
    if w.n == 0:
        reason = down_reason(seen, link)
        if reason == wifi.STAT_IDLE and link.get("last_reason"):
            reason = link["last_reason"]
        text = reason_text(reason)
        if reason == wifi.STAT_CONNECTING:
            text = "keeps trying to connect; the router gave no reason the camera can see " \
                   "(1001)"
        checks.append(_check("wifi_link", "fail",
                             [_meas("status", st, "code"), _meas("reason", text, "")],
                             "wifi_down", down_advice(reason, configured)))
        faults.append("wifi_down")
        return checks, faults, summary
    mean = w.mean()
    sd = w.stdev()
    warn, fail = lim["rssi_warn_dbm"], lim["rssi_fail_dbm"]
    lmeas = [_meas("status", st, "code"), _meas("reconnects", link.get("reconnects"), "")]
    if w.lost:  # connected, but not all the window: no PASS beside a dropping link
        checks.append(_check("wifi_link", "warn", lmeas + [_meas("down_polls", w.lost, "")],
                             note="the link dropped during the window (see wifi_stability)"))
    else:
        checks.append(_check("wifi_link", "pass", lmeas))
    # The trend (least-squares slope over the window) is reported only when it means
    # something: at least 10 readings, and the slope more than twice its standard error
    # (a steady link's wobble fits slopes of +-12 dB/min over a few seconds; those are not
    # shown). The limit applies to that fitted slope, extrapolated to a minute.
    trend = trend_se = None
    if w.n >= 10 and sd <= lim["rssi_stdev_max_db"]:  # (a step is no trend: see stability)
        b, se = w.slope(), w.slope_stderr()
        if abs(b) > 2 * se:
            trend, trend_se = b * 60000 / period_ms, se * 60000 / period_ms
    # percent from the mean as reported (one decimal), so the two agree
    pct = wifi.percent(round(_r(mean)))
    sig = [_meas("rssi_mean", _r(mean), "dBm", lo=fail), _meas("rssi_min", w.lo, "dBm"),
           _meas("rssi_max", w.hi, "dBm"), _meas("percent", pct, "%"),
           _meas("bars", bt.value, "bars")]
    if trend is not None:
        sig += [_meas("trend", _r(trend), "dB/min", lo=-FALLING_DB_MIN),
                _meas("trend_stderr", _r(trend_se), "dB/min")]
    if mean < fail:
        checks.append(_check("wifi_signal", "fail", sig, "wifi_weak"))
        faults.append("wifi_weak")
    elif mean < warn:
        checks.append(_check("wifi_signal", "warn", sig,
                             note="below %d dBm, the voice cell edge" % warn))
    elif trend is not None and trend <= -FALLING_DB_MIN and w.hi - w.lo >= 2 * wifi.HYST_DB:
        checks.append(_check("wifi_signal", "warn", sig,
                             note="falling %d dB/min: something moved into the path, or the "
                                  "camera is moving away from the router" % -trend))
    else:
        checks.append(_check("wifi_signal", "pass", sig))
    stab = [_meas("rssi_stdev", _r(sd), "dB", hi=lim["rssi_stdev_max_db"]),
            _meas("drops_in_window", w.lost, "polls", hi=0)]
    if sd > lim["rssi_stdev_max_db"] or w.lost:
        checks.append(_check("wifi_stability", "fail", stab, "wifi_unstable"))
        faults.append("wifi_unstable")
    else:
        checks.append(_check("wifi_stability", "pass", stab))
    if pm is not None and pm != 0:
        checks.append(_check("wifi_power_save", "warn", [_meas("pm", pm, "mode", hi=0)],
                             note=ADVICE["wifi_power_save"]))
    summary.update({"rssi_mean": _r(mean), "rssi_min": w.lo, "rssi_max": w.hi,
                    "rssi_stdev": _r(sd), "percent": pct,
                    "bars": bt.value, "quality": quality(mean, warn, fail)})
    return checks, faults, summary


# -- records and device calls ----------------------------------------------------------------
def service_rssi(seconds=None, sample_ms=None, log=False):
    from camdiag import hw, store

    prof = store.profile_or_raise()
    wlan = hw.wlan()
    ssid = store.wifi_ssid()
    lim = prof["wifi"]
    period = sample_ms or lim["rssi_sample_ms"]
    n = max(1, (seconds or lim["rssi_window_s"]) * 1000 // period)
    checks, faults, summary = signal_checks(wlan, lim, bool(ssid), n, period)
    summary["ssid"] = ssid
    summary["window_s"] = n * period / 1000
    return record.finish("wifi", prof, checks, faults, FAULT_ORDER, {"wifi": summary}, log)


def selftest_checks(prof, wlan, ssid):
    """The Wi-Fi part of a self-test on a board with Wi-Fi configured: a short window."""
    lim = prof["wifi"]
    period = lim["rssi_sample_ms"]
    checks, faults, summary = signal_checks(wlan, lim, bool(ssid),
                                            max(1, 1000 // period), period)
    return checks, faults, summary
