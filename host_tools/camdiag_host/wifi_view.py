"""Text views of Wi-Fi results: signal bar, sparkline, scan table, the live --watch line."""

from __future__ import annotations

import json
import sys
import time

SPARK = "▁▂▃▄▅▆▇█"
SPARK_LO, SPARK_HI = -95, -35  # dBm mapped onto the 8 levels


def spark(values: list, width: int | None = None) -> str:
    """One character per reading; a gap (space... shown as '·') where the link was down."""
    if width is not None and len(values) > width:
        values = values[-width:]
    out = []
    for v in values:
        if v is None:
            out.append("·")
            continue
        x = (min(max(v, SPARK_LO), SPARK_HI) - SPARK_LO) / (SPARK_HI - SPARK_LO)
        out.append(SPARK[min(len(SPARK) - 1, int(x * len(SPARK)))])
    return "".join(out)


def bar(bars: int) -> str:
    return "▮" * bars + "▯" * (4 - bars)


def reading_line(r: dict) -> str:
    if r.get("rssi") is None:
        from camdiag.wifi_check import reason_text

        return f"not connected: {reason_text(r.get('status'))}"
    return f"{r['rssi']:4d} dBm {r['percent']:3d}% {bar(r['bars'])}"


def format_scan(rec: dict) -> str:
    sc = rec["scan"]
    own = sc.get("own") or {}
    lines = [f"  {'SSID':24} {'BSSID':17} {'CH':>3} {'RSSI':>5}  AUTH"]
    for ap in sc["aps"]:
        mark = ""
        if own and ap["bssid"] == own.get("bssid"):
            mark = "  <- this camera's network"
        elif sc.get("ssid") and ap["ssid"] == sc["ssid"]:
            mark = "  <- same network (extender/mesh)"
        name = "(hidden network)" if ap.get("hidden") or not ap["ssid"] else ap["ssid"]
        lines.append(f"  {name[:24]:24} {ap['bssid']:17} {ap['channel']:3d} "
                     f"{ap['rssi']:5d}  {ap['auth']}{mark}")
    scores = ", ".join(f"ch {k}: {v}" for k, v in sorted(sc["scores"].items(),
                                                        key=lambda kv: int(kv[0])))
    lines.append("")
    lines.append(f"  congestion (weighted neighbours) {scores}; quietest of 1/6/11: "
                 f"{sc['suggested_channel']}")
    return "\n".join(lines)


def _span(seconds: float) -> str:
    """A duration as a person says it: 45 s, 2 min 36 s, 3 h 5 min."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def format_history(h: dict, width: int = 96) -> str:
    if not h.get("running"):
        return "RSSI history: the application is not running (no history kept)"
    vals = h["values"]
    if not vals:
        return (f"RSSI history: no sample yet (one every {h['period_s']} s, "
                f"{h['capacity']} kept)")
    got = [v for v in vals if v is not None]
    span_s = len(vals) * h["period_s"]
    shown = vals[-width:]
    lines = [f"RSSI history: last {_span(span_s)}, one value per {h['period_s']} s "
             f"(the weakest of the period; · = link down), {h['count']} recorded"]
    lines.append("  " + spark(shown))
    if got:
        lines.append(f"  min {min(got)} dBm, max {max(got)} dBm, down in "
                     f"{len(vals) - len(got)} of {len(vals)} periods")
    link = h.get("link") or {}
    if link:
        from camdiag.wifi_check import reason_text

        lines.append(f"  reconnects {link['reconnects']}, downtime {link['downtime_s']} s, "
                     f"last disconnect: {reason_text(link['last_reason']) or '-'}")
    return "\n".join(lines)


def watch(link, seconds: float | None, as_json: bool, period: float = 1.0,
          out=None) -> int:
    """Live reading: on a terminal one line redrawn in place (value, bars, sparkline of the
    last 40 readings); otherwise (a pipe, a log) a line per reading."""
    out = out or sys.stdout
    tty = out.isatty() and not as_json
    hist: list = []
    end = time.monotonic() + seconds if seconds else None
    try:
        while end is None or time.monotonic() < end:
            t = time.monotonic()
            r = link.call("rssi_read", timeout=10)
            hist.append(r.get("rssi"))
            if as_json:
                r["host_time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")  # (a log spans days)
                print(json.dumps(r), file=out, flush=True)
            elif tty:
                out.write(f"\r\x1b[2K{reading_line(r)}  {spark(hist, 40)}")
                out.flush()
            else:
                print(f"{time.strftime('%H:%M:%S')}  {reading_line(r)}", file=out, flush=True)
            time.sleep(max(0.0, period - (time.monotonic() - t)))
    except KeyboardInterrupt:
        pass
    if tty:
        out.write("\n")
    return 0
