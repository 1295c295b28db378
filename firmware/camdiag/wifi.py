"""Wi-Fi signal figures the app keeps resident (pure logic, no hardware imports).

Percent as ESPHome/Tasmota/Windows: clamp(2 * (dBm + 100), 0, 100). Bars say what the
verdict's words say (wifi_check.quality), at the profile's two limits: 4 >= -50 dBm
(excellent), 3 >= rssi_warn_dbm (-67, the voice cell edge: good or fair), 2 >=
rssi_fail_dbm (-75: weak, talk at risk), else 1 (very weak) while connected, 0 when
not. (ESPHome's -65/-85 gave -70 "weak" and -80 "very weak" the same 2 bars.) The
BarTracker adds HYST_DB of hysteresis so a reading wobbling around a threshold does not
flap the bars.
The heavier parts (reason table, window statistics, scan summary, records) live in
wifi_check, loaded only when the host asks.
"""

from camdiag.compat import const

EXCELLENT_DBM = const(-50)
WARN_DBM = const(-67)  # the profile's defaults (profile.py rssi_warn_dbm, rssi_fail_dbm)
FAIL_DBM = const(-75)
HYST_DB = const(3)  # a bar is lost only when the reading falls 3 dB below its threshold

STAT_IDLE = const(1000)
STAT_CONNECTING = const(1001)
STAT_GOT_IP = const(1010)

NO_SAMPLE = const(0)  # history byte for "not connected" (dBm is stored as dBm + 128)


def wait_ms(ms):
    """Sleep, keeping the app's button/LED loop alive when the app runs (a scan, an RSSI
    window or a talk-path check must not freeze them)."""
    import sys
    import time

    app = sys.modules.get("camdiag.app")
    if app is not None and app.STATE["started"]:
        app.spin(ms)
    else:
        time.sleep_ms(ms)


def percent(dbm):
    return max(0, min(100, 2 * (dbm + 100)))


def bars(dbm, warn=WARN_DBM, fail=FAIL_DBM):
    """Signal bars 1-4 for a connected link at dbm (0 is for "not connected")."""
    if dbm >= EXCELLENT_DBM:
        return 4
    if dbm >= warn:
        return 3
    if dbm >= fail:
        return 2
    return 1


class BarTracker:
    """Bars with hysteresis: up to level n as soon as dbm >= its threshold, down only when
    dbm < threshold - HYST_DB. So readings that stay within HYST_DB of each other change
    the bars at most once, whatever the thresholds."""

    def __init__(self, warn=WARN_DBM, fail=FAIL_DBM, hyst=HYST_DB):
        self.warn, self.fail, self.hyst = warn, fail, hyst
        self.value = 0  # 0 = not connected

    def update(self, dbm):
        if dbm is None:
            self.value = 0
            return 0
        cur = self.value
        new = bars(dbm, self.warn, self.fail)
        if cur and new < cur:
            # going down: only when the reading is below the lower threshold by hyst
            held = bars(dbm + self.hyst, self.warn, self.fail)
            new = min(cur, held)
        self.value = new
        return new


def read(wlan):
    """(status code, dBm or None): never a leaked OSError (not connected, radio off)."""
    try:
        st = wlan.status()
        if st != STAT_GOT_IP:
            return st, None
        return st, wlan.status("rssi")
    except OSError:
        return -1, None


class History:
    """RSSI history in one preallocated bytearray: a byte per period (dBm + 128; 0 = not
    connected). 2880 x 30 s = 24 h in 2.8 KB. push() allocates nothing."""

    def __init__(self, length):
        self.buf = bytearray(length)
        self.n = 0  # samples ever pushed
        self.last_ms = None  # ticks of the newest sample (set by the app)

    def push(self, dbm):
        v = NO_SAMPLE if dbm is None else max(1, min(255, dbm + 128))
        self.buf[self.n % len(self.buf)] = v
        self.n += 1

    def __len__(self):
        return min(self.n, len(self.buf))

    def values(self, last=0):
        """Oldest first; None where the link was down."""
        size = len(self.buf)
        count = len(self)
        if last and last < count:
            count = last
        # one list of the final size: appending would regrow it (a 2880-value history is
        # 11.5 KB of list on an ESP32; growing by doubling asks for a second, larger block)
        out = [None] * count
        first = self.n - count
        for i in range(count):
            v = self.buf[(first + i) % size]
            if v != NO_SAMPLE:
                out[i] = v - 128
        return out


class LinkTracker:
    """Connection bookkeeping from periodic status polls (Tasmota's LinkCount/Downtime):
    reconnects, time connected, downtime, the last disconnect reason.

    On an ESP32 a reason is seldom visible: status() shows 201, 202 and 210-212 only, and
    1001 for everything else while the driver retries (ports/esp32/network_wlan.c), so a
    wrong password reads 1001 and 202 in turn. The reason seen in the present spell down is
    kept, so a one-second look at the link still knows it.

    Times are added up at each poll rather than taken since the last change: ticks_diff
    spans only 6.2 days on an ESP32 (ticks period 2**30), a camera stays online longer."""

    def __init__(self, now_ms):
        self.up = False
        self.at = now_ms  # ticks of the last poll
        self.connects = 0
        self.last_reason = None  # an ESP-IDF reason / status code
        self.down_reason = None  # the same, seen in the present spell down (None while up)
        self.down_ms = 0  # total time down after the first connect
        self.up_ms = 0
        self.cur_ms = 0  # time in the present state (up or down)

    def update(self, now_ms, status, ticks_diff):
        up = status == STAT_GOT_IP
        span = ticks_diff(now_ms, self.at)
        self.at = now_ms
        if self.up:
            self.up_ms += span
        elif self.connects:
            self.down_ms += span
        self.cur_ms += span
        if up != self.up:
            if up:
                self.connects += 1
                self.down_reason = None
            self.up = up
            self.cur_ms = 0
        if not up and status not in (STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP, -1):
            self.last_reason = status
            self.down_reason = status

    def state(self, now_ms, ticks_diff):
        span = ticks_diff(now_ms, self.at)
        up_ms = self.up_ms + (span if self.up else 0)
        down_ms = self.down_ms + (span if not self.up and self.connects else 0)
        return {"connected": self.up, "reconnects": max(0, self.connects - 1),
                "connected_s": (self.cur_ms + span) // 1000 if self.up else 0,
                "uptime_connected_s": up_ms // 1000, "downtime_s": down_ms // 1000,
                "last_reason": self.last_reason, "down_reason": self.down_reason}
