"""Small Wi-Fi device calls: one reading (for --watch), the app's history, the IP config.
Kept apart from wifi_check so a reading a second does not load the whole checker."""

import sys
import time

from camdiag import wifi


def _app():
    return sys.modules.get("camdiag.app")


def link_state():
    """The app's connection bookkeeping (reconnects, downtime...), when the app runs."""
    app = _app()
    if app is None or app.STATE.get("link") is None:
        return None
    return app.STATE["link"].state(time.ticks_ms(), time.ticks_diff)


def service_rssi_read():
    """One reading, for `camdiag rssi --watch` (bars from the app's tracker when it runs)."""
    from camdiag import hw

    st, dbm = wifi.read(hw.wlan())
    app = _app()
    tracker = app.STATE.get("bars_tracker") if app is not None else None
    bars = tracker.update(dbm) if tracker is not None else (wifi.bars(dbm) if dbm else 0)
    return {"status": st, "rssi": dbm,
            "percent": None if dbm is None else wifi.percent(dbm), "bars": bars}


def service_ifconfig():
    from camdiag import hw

    ip, mask, gw, dns = hw.wlan().ifconfig()
    return {"ip": ip, "netmask": mask, "gateway": gw, "dns": dns}


def service_rssi_history(last=0):
    app = _app()
    hist = app.STATE.get("history") if app is not None else None
    if hist is None:
        return {"running": False, "values": []}
    age = None
    if hist.last_ms is not None:
        age = time.ticks_diff(time.ticks_ms(), hist.last_ms) // 1000
    prof = app.STATE["profile"]
    return {"running": True, "period_s": prof["wifi"]["history_period_s"],
            "capacity": len(hist.buf), "count": hist.n, "newest_age_s": age,
            "values": hist.values(last), "link": link_state()}
