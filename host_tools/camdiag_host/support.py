"""`camdiag report`: everything support needs about one camera, in one folder.

report.json (schema camdiag-report/1; secrets redacted) and report.html (one file, works
offline: the plots are inline SVG). The verdict and the one fix to try first, cheapest
first (power-cycle before re-add before factory reset before replace), go to stdout.
"""

from __future__ import annotations

import html
import json
import math
import time
from pathlib import Path

import numpy as np

from . import __version__

SCHEMA = "camdiag-report/1"
SECRET_KEYS = ("password", "passwd", "psk", "key", "secret", "token")
TONES_HZ = (500, 1031, 3150)
OUTCOME_RANK = {"pass": 0, "skip": 0, "warn": 1, "fail": 2, "error": 3}
# cheapest first: what a fix asks the owner to do
COST = (("unplug", 0), ("restart", 0), ("power", 0), ("retest", 0), ("clean", 1),
        ("move", 1), ("keep", 1), ("channel", 1), ("pause", 1), ("check", 1),
        ("re-enter", 2), ("re-add", 2), ("add the camera", 2), ("update", 2),
        ("factory reset", 3), ("reseat", 3), ("replace", 4))

# required keys and their types: what tests and scripts may rely on
REPORT_SPEC = {"schema": str, "created": str, "camdiag_host": str, "port": str,
               "device": dict, "selftest": dict, "wifi": (dict, type(None)),
               "scan": (dict, type(None)), "netcheck": (dict, type(None)),
               "rssi_history": (dict, type(None)), "log": list, "outcome": str,
               "verdict": str, "fix": str, "findings": list, "spectrum": dict}


def redact(obj):
    """A copy with every secret-looking key's value replaced (defence in depth: the board
    never sends the password, and this keeps it so)."""
    if isinstance(obj, dict):
        return {k: ("<redacted>" if any(s in str(k).lower() for s in SECRET_KEYS) and
                    k not in ("password_set",) else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def validate(report: dict) -> None:
    """Raise ValueError naming the first key that breaks REPORT_SPEC."""
    for key, kind in REPORT_SPEC.items():
        if key not in report:
            raise ValueError(f"report.json: missing {key}")
        if not isinstance(report[key], kind):
            raise ValueError(f"report.json: {key}: wrong type {type(report[key]).__name__}")
    if report["schema"] != SCHEMA:
        raise ValueError(f"report.json: schema {report['schema']!r}, expected {SCHEMA}")
    for f in report["findings"]:
        if not {"source", "fault", "outcome", "fix", "cost"} <= set(f):
            raise ValueError(f"report.json: findings: incomplete entry {f}")


def cost(advice: str) -> int:
    first = advice.lower().split(":")[-1] if ":" in advice[:60] else advice.lower()
    best = None
    for word, c in COST:
        i = first.find(word)
        if i >= 0 and (best is None or i < best[0]):
            best = (i, c)
    return best[1] if best else 2


def findings(records: dict) -> list[dict]:
    out = []
    for source, rec in records.items():
        if not rec or rec.get("outcome") in ("pass", None):
            continue
        for c in rec.get("checks", []):
            if c.get("fault") or c["outcome"] in ("warn", "error"):
                fix = c.get("advice") or c.get("note") or ""
                out.append({"source": source, "check": c["name"],
                            "fault": c.get("fault") or c["outcome"], "outcome": c["outcome"],
                            "fix": fix, "cost": cost(fix) if fix else 9})
    # failures before warnings, then the cheapest fix first
    out.sort(key=lambda f: (-OUTCOME_RANK.get(f["outcome"], 0), f["cost"]))
    return out


def spectrum(pcm16: bytes, rate: int) -> dict:
    """Magnitude spectrum of the capture (Hann window), in dBFS, 64 Hz bins up to rate/2."""
    if not pcm16:
        return {"rate": rate, "hz": [], "dbfs": []}
    x = np.frombuffer(pcm16, dtype="<i2").astype(float) / 32768.0
    n = 1024
    frames = [x[i:i + n] for i in range(0, len(x) - n + 1, n // 2)] or [np.pad(x, (0, n))[:n]]
    w = np.hanning(n)
    p = np.mean([np.abs(np.fft.rfft(f * w)) ** 2 for f in frames], axis=0)
    db = 10 * np.log10(p / (np.sum(w) / 2) ** 2 + 1e-12)
    hz = np.fft.rfftfreq(n, 1 / rate)
    step = max(1, len(hz) // 256)
    return {"rate": rate, "hz": [round(float(h), 1) for h in hz[::step]],
            "dbfs": [round(float(d), 1) for d in db[::step]]}


def collect(link, port: str, server: tuple[str, int] | None, last: int, timeout: float,
            say=print, log: bool = True) -> dict:
    from .cli import read_capture

    say("reading device info")
    info = link.call("info", timeout=timeout)
    say("running the loopback self-test")
    st = link.call("selftest", {"log": log, "keep_capture": True}, timeout=timeout)
    pcm, rate = (b"", 16000)
    if st["verdict"] != "i2s_fault":
        say("reading the recording")
        pcm, rate = read_capture(link, timeout)
    configured = link.call("rssi_read", timeout=timeout)["status"] != 1000
    wifi = scan = hist = net = None
    if configured:
        say("sampling the Wi-Fi signal")
        wifi = link.call("rssi", {"log": log}, timeout=timeout + 30)
        hist = link.call("rssi_history", timeout=timeout)
        say("scanning Wi-Fi channels")
        scan = link.call("scan", {"log": False}, timeout=timeout)
        if server:
            say(f"talk-path check against {server[0]}:{server[1]}")
            net = link.call("netcheck", {"host": server[0], "port": server[1], "log": log},
                            timeout=timeout)
    log = link.call("log", {"last": last}, timeout=timeout)["records"]
    recs = {"selftest": st, "wifi": wifi, "netcheck": net, "scan": scan}
    worst = max((r for r in recs.values() if r), key=lambda r: OUTCOME_RANK[r["outcome"]])
    found = findings(recs)
    report = {
        "schema": SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "camdiag_host": __version__, "port": port, "device": info, "selftest": st,
        "wifi": wifi, "scan": scan, "netcheck": net, "rssi_history": hist, "log": log,
        "outcome": worst["outcome"],
        "verdict": ", ".join(sorted({f["fault"] for f in found if f["outcome"] == "fail"}))
                   or ("healthy" if worst["outcome"] in ("pass", "warn") else "error"),
        "fix": found[0]["fix"] if found else "",
        "findings": found, "spectrum": spectrum(pcm, rate),
    }
    return redact(report)


# -- plots (inline SVG: the page works offline and prints) -------------------------------------
def _svg(w, h, body, title):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
            f'height="{h}" role="img" aria-label="{html.escape(title)}">'
            f'<rect width="{w}" height="{h}" fill="#fff" stroke="#ccc"/>{body}</svg>')


def plot_spectrum(sp: dict, w=640, h=260) -> str:
    hz, db = sp["hz"], sp["dbfs"]
    if not hz:
        return _svg(w, h, '<text x="20" y="40">no recording (the I2S bus failed)</text>',
                    "spectrum")
    x0, y0, pw, ph = 50, 20, w - 70, h - 60
    lo, hi = -120.0, 0.0
    fmax = sp["rate"] / 2

    def x(f):
        return x0 + pw * math.log10(max(f, 50) / 50) / math.log10(fmax / 50)

    def y(d):
        return y0 + ph * (hi - max(lo, min(hi, d))) / (hi - lo)

    pts = " ".join(f"{x(f):.1f},{y(d):.1f}" for f, d in zip(hz, db, strict=True) if f >= 50)
    body = [f'<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="{pts}"/>']
    for t in TONES_HZ:
        body.append(f'<line x1="{x(t):.1f}" y1="{y0}" x2="{x(t):.1f}" y2="{y0 + ph}" '
                    f'stroke="#e65100" stroke-dasharray="4 3"/>'
                    f'<text x="{x(t) + 3:.1f}" y="{y0 + 12}" font-size="11" '
                    f'fill="#e65100">{t} Hz</text>')
    for d in (-120, -90, -60, -30, 0):
        body.append(f'<text x="4" y="{y(d) + 4:.1f}" font-size="10">{d} dB</text>')
    for f in (100, 1000, 5000):
        body.append(f'<text x="{x(f) - 12:.1f}" y="{h - 24}" font-size="10">{f} Hz</text>')
    body.append(f'<text x="{x0}" y="{h - 6}" font-size="11">spectrum of the loopback '
                f'recording (dBFS), test tones marked</text>')
    return _svg(w, h, "".join(body), "spectrum of the loopback recording")


def plot_levels(rec: dict, w=640) -> str:
    rows = []
    for c in rec.get("checks", []):
        for m in c["measurements"]:
            lim = m.get("limit")
            if lim and isinstance(m["value"], (int, float)) and not isinstance(m["value"],
                                                                                bool):
                rows.append((f"{c['name']}.{m['name']}", float(m["value"]), lim, m["unit"],
                             c["outcome"]))
    rows = rows[:14]
    h = 30 + 26 * len(rows)
    body = []
    for i, (name, v, lim, unit, outcome) in enumerate(rows):
        yy = 20 + 26 * i
        ends = [v] + [float(x) for x in lim.values()]
        lo, hi = min(ends), max(ends)
        span = (hi - lo) or 1.0
        lo, hi = lo - 0.15 * span, hi + 0.15 * span

        def x(val, lo=lo, hi=hi):
            return 260 + 340 * (val - lo) / (hi - lo)

        color = {"pass": "#2e7d32", "warn": "#f9a825"}.get(outcome, "#c62828")
        body.append(f'<text x="6" y="{yy + 12}" font-size="11">{html.escape(name)}</text>'
                    f'<line x1="260" y1="{yy + 8}" x2="600" y2="{yy + 8}" stroke="#ddd"/>'
                    f'<circle cx="{x(v):.1f}" cy="{yy + 8}" r="5" fill="{color}"/>'
                    f'<text x="{x(v) + 8:.1f}" y="{yy + 4}" font-size="10">'
                    f'{v:g} {html.escape(unit)}</text>')
        for kind, val in lim.items():
            body.append(f'<line x1="{x(float(val)):.1f}" y1="{yy}" x2="{x(float(val)):.1f}" '
                        f'y2="{yy + 16}" stroke="#555" stroke-width="2"/>'
                        f'<text x="{x(float(val)) - 10:.1f}" y="{yy + 26}" font-size="9" '
                        f'fill="#555">{kind} {val}</text>')
    return _svg(w, h, "".join(body), "each level against its limits")


def plot_history(h: dict | None, w=640, ht=200) -> str:
    vals = (h or {}).get("values") or []
    if not vals:
        return _svg(w, ht, '<text x="20" y="40">no RSSI history (Wi-Fi not set up, or the '
                           'application was not running)</text>', "RSSI history")
    x0, y0, pw, ph = 50, 15, w - 70, ht - 50

    def y(d):
        return y0 + ph * (-30 - max(-100, min(-30, d))) / 70

    n = len(vals)
    body = []
    for d, label, color in ((-67, "-67 warn", "#f9a825"), (-75, "-75 fail", "#c62828")):
        body.append(f'<line x1="{x0}" y1="{y(d):.1f}" x2="{x0 + pw}" y2="{y(d):.1f}" '
                    f'stroke="{color}" stroke-dasharray="5 3"/><text x="4" y="{y(d) + 4:.1f}"'
                    f' font-size="10">{label}</text>')
    pts = []
    for i, v in enumerate(vals):
        xx = x0 + pw * i / max(1, n - 1)
        if v is None:
            body.append(f'<rect x="{xx - 1:.1f}" y="{y0}" width="2" height="{ph}" '
                        f'fill="#ef9a9a"/>')
            if len(pts) > 1:
                body.append(f'<polyline fill="none" stroke="#1565c0" points="{" ".join(pts)}"/>')
            pts = []
        else:
            pts.append(f"{xx:.1f},{y(v):.1f}")
    if len(pts) > 1:
        body.append(f'<polyline fill="none" stroke="#1565c0" points="{" ".join(pts)}"/>')
    elif len(pts) == 1:
        px, py = pts[0].split(",")
        body.append(f'<circle cx="{px}" cy="{py}" r="3" fill="#1565c0"/>')
    span = n * h["period_s"]
    span = f"{span // 60} min" if span >= 120 else f"{span} s"
    body.append(f'<text x="{x0}" y="{ht - 8}" font-size="11">RSSI history, dBm: last '
                f'{span}, one value per {h["period_s"]} s (red: link down)</text>')
    return _svg(w, ht, "".join(body), "RSSI history")


def render_html(r: dict) -> str:
    def esc(v):
        return html.escape(str(v))

    dev = r["device"]
    verdict_color = {"pass": "#2e7d32", "warn": "#f9a825"}.get(r["outcome"], "#c62828")
    rows = "".join(f"<tr><td>{esc(f['source'])}</td><td>{esc(f['check'])}</td>"
                   f"<td>{esc(f['outcome'])}</td><td>{esc(f['fix'])}</td></tr>"
                   for f in r["findings"]) or "<tr><td colspan=4>no findings</td></tr>"
    log = "".join(f"<tr><td>{esc(x.get('time'))}</td><td>{esc(x.get('kind'))}</td>"
                  f"<td>{esc(x.get('outcome'))}</td><td>{esc(x.get('summary', ''))}</td></tr>"
                  for x in r["log"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>camdiag report {esc(dev['unique_id'])}</title>
<style>body{{font-family:sans-serif;max-width:720px;margin:1em auto;color:#222}}
td,th{{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;font-size:13px}}
table{{border-collapse:collapse;width:100%}} .verdict{{font-size:20px;color:{verdict_color}}}
</style></head><body>
<h1>camdiag support report</h1>
<p>Camera {esc(dev['unique_id'])}, board {esc(dev['board'])}, camdiag {esc(dev['camdiag'])},
MicroPython {esc(dev['micropython'])}, reset cause {esc(dev['reset_cause'])},
{esc(r['created'])}</p>
<p class="verdict">Verdict: {esc(r['outcome'].upper())} - {esc(r['verdict'])}</p>
<p><b>Fix to try first:</b> {esc(r['fix'] or 'nothing to fix')}</p>
<h2>Findings, cheapest fix first</h2>
<table><tr><th>test</th><th>check</th><th>result</th><th>fix</th></tr>{rows}</table>
<h2>Loopback: spectrum of the recording</h2>
{plot_spectrum(r['spectrum'])}
<h2>Loopback: each level against its limits</h2>
{plot_levels(r['selftest'])}
<h2>Wi-Fi: RSSI history</h2>
{plot_history(r['rssi_history'])}
<h2>Results log (last {len(r['log'])})</h2>
<table><tr><th>time</th><th>test</th><th>result</th><th>summary</th></tr>{log}</table>
</body></html>
"""


def write(report: dict, out: Path) -> tuple[Path, Path]:
    validate(report)
    out.mkdir(parents=True, exist_ok=True)
    j = out / "report.json"
    j.write_text(json.dumps(report, indent=2) + "\n")
    h = out / "report.html"
    h.write_text(render_html(report))
    return j, h
