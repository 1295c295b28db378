"""Wi-Fi signal figures (pure logic).

Percent as ESPHome/Tasmota/Windows: clamp(2 * (dBm + 100), 0, 100). Bars as ESPHome:
4 >= -50 dBm, 3 >= -65, 2 >= -85, else 1 while connected, 0 when not.
"""

_BARS = ((-50, 4), (-65, 3), (-85, 2))


def percent(dbm):
    return max(0, min(100, 2 * (dbm + 100)))


def bars(dbm):
    """Signal bars 1-4 for a connected link at dbm (0 is for "not connected")."""
    for threshold, n in _BARS:
        if dbm >= threshold:
            return n
    return 1


def link_bars(wlan):
    """Bars for the board's WLAN: 0 when not connected (never a leaked OSError)."""
    try:
        if not wlan.isconnected():
            return 0
        return bars(wlan.status("rssi"))
    except OSError:
        return 0
