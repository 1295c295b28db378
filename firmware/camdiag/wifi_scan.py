"""Wi-Fi scan summary: access points by RSSI, the own AP and its mesh nodes, a congestion
score per channel and a suggested channel among 1/6/11 (pure logic; the WLAN is passed in).
Loaded only for a scan and dropped afterwards."""

from camdiag import record
from camdiag.record import meas as _meas
from camdiag.wifi import wait_ms

ADVICE = "Many networks share your channel: change the router's 2.4 GHz channel to %s."
DIAGNOSIS = "the Wi-Fi channel is crowded"

AUTH = ("open", "WEP", "WPA-PSK", "WPA2-PSK", "WPA/WPA2-PSK", "WPA2-Enterprise", "WPA3-PSK",
        "WPA2/WPA3-PSK", "WAPI-PSK", "OWE")


def _mac(b):
    return ":".join("%02x" % x for x in b)


def _text(b):
    if isinstance(b, str):
        return b
    try:
        return b.decode()
    except UnicodeError:
        return repr(b)


def weight(dbm):
    """How much a neighbour counts: 0 at -95 dBm (below the noise), 1 at -50 and up."""
    return max(0.0, min(1.0, (dbm + 95) / 45))


def overlap(a, b):
    """Co-channel neighbours share airtime politely (CSMA); a partly overlapping channel is
    interference the radio cannot defer to, so it weighs more (REFERENCE: 1/6/11)."""
    d = abs(a - b)
    if d == 0:
        return 1.0
    if d < 5:
        return 1.5 * (5 - d) / 4
    return 0.0


def congestion(aps, channel, skip_bssid=None):
    total = 0.0
    for ap in aps:
        if ap["bssid"] == skip_bssid:
            continue
        total += weight(ap["rssi"]) * overlap(channel, ap["channel"])
    return total


def summarize(raw, own_ssid, limit):
    """Scan tuples -> summary dict (APs sorted by RSSI, own AP, congestion, suggestion)."""
    aps = []
    for t in raw:
        a = t[4]
        # a hidden network's SSID comes back as b'' (ports/esp32/network_wlan.c); an auth
        # mode newer than this table (ESP-IDF adds them) keeps its number
        aps.append({"ssid": _text(t[0]), "bssid": _mac(t[1]), "channel": t[2], "rssi": t[3],
                    "auth": AUTH[a] if 0 <= a < len(AUTH) else "auth %d" % a,
                    "hidden": not t[0]})
    aps.sort(key=lambda ap: -ap["rssi"])
    own = None
    same = []
    for ap in aps:
        if own_ssid and ap["ssid"] == own_ssid:
            if own is None:
                own = ap
            else:
                same.append(ap)
    skip = own["bssid"] if own else None
    scores = {}
    for ch in (1, 6, 11):
        scores[ch] = round(congestion(aps, ch, skip), 2)
    best = min((1, 6, 11), key=lambda c: scores[c])
    out = {"aps": aps, "count": len(aps), "own": own, "same_ssid": same,
           "scores": scores, "suggested_channel": best}
    if own is not None:
        score = round(congestion(aps, own["channel"], skip), 2)
        out["congestion"] = score
        out["congested"] = score > limit
        # suggest a move only when it clearly helps (a third of the limit better)
        out["move"] = score > limit and scores[best] < score - limit / 3
    return out


def scan_raw(wlan, wait=wait_ms, max_ms=15000):
    """wlan.scan() (2-3 s) in a thread while the caller keeps waiting in short steps, so the
    app's loop keeps running; the GIL is released during an ESP32 scan. Without _thread it
    blocks. The interface is never switched off and on again: active(False) + active(True)
    does not reconnect a station (ports/esp32/network_wlan.c), so a camera that is trying
    to connect would stay offline. While it connects, ESP-IDF refuses the scan
    (esp_wifi_scan_start: ESP_ERR_WIFI_STATE) and the port returns []: scan_checks says so.
    An interface that is off (no Wi-Fi set up) is switched on for the scan only."""
    was_active = wlan.active()
    if not was_active:
        wlan.active(True)
    try:
        return _threaded_scan(wlan, wait, max_ms)
    finally:
        if not was_active:
            wlan.active(False)


def _threaded_scan(wlan, wait, max_ms):
    box = [None, None]  # result, error

    def work():
        try:
            box[0] = wlan.scan()
        except Exception as e:  # handed to the caller's thread
            box[1] = e

    try:
        import _thread

        _thread.start_new_thread(work, ())
    except (ImportError, OSError, RuntimeError):
        work()
    waited = 0
    while box[0] is None and box[1] is None:
        if waited >= max_ms:
            raise OSError("Wi-Fi scan did not finish in %d s" % (max_ms // 1000))
        wait(50)
        waited += 50
    if box[1] is not None:
        raise box[1]
    return box[0]


def scan_checks(summary, lim, configured, connecting=False):
    checks = []
    faults = []
    own = summary.get("own")
    meas = [_meas("networks", summary["count"], "")]
    if connecting and not summary["count"]:
        checks.append(record.check("wifi_scan", "skip", meas,
                                   note="the camera is still trying to connect, and ESP32 "
                                   "Wi-Fi refuses a scan meanwhile: run the scan again once "
                                   "it is connected, or check the link with camdiag rssi"))
        return checks, faults
    if own is None:
        checks.append(record.check("wifi_scan", "warn" if configured else "pass", meas,
                                   note="own network not seen in the scan" if configured
                                   else None))
        return checks, faults
    score = summary["congestion"]
    meas += [_meas("channel", own["channel"], ""),
             _meas("congestion", score, "", hi=lim["congestion_max"]),
             _meas("same_ssid_nodes", len(summary["same_ssid"]), "")]
    if summary["congested"]:
        best = summary["suggested_channel"] if summary["move"] else "1, 6 or 11"
        checks.append(record.check("wifi_channel", "fail", meas, "wifi_congested", DIAGNOSIS,
                                   ADVICE % best))
        faults.append("wifi_congested")
    else:
        checks.append(record.check("wifi_channel", "pass", meas))
    return checks, faults


def service_scan(log=False):
    from camdiag import hw, store

    prof = store.profile_or_raise()
    wlan = hw.wlan()
    ssid = store.wifi_ssid()
    lim = prof["wifi"]
    summary = summarize(scan_raw(wlan), ssid, lim["congestion_max"])
    summary["ssid"] = ssid
    connecting = bool(ssid) and not wlan.isconnected()
    checks, faults = scan_checks(summary, lim, bool(ssid), connecting)
    return record.finish("scan", prof, checks, faults, ["wifi_congested"], {"scan": summary},
                         log)
