"""`camdiag report`: everything support needs about one camera, in one folder.

report.json (schema camdiag-report/1; secrets redacted) and report.html (one file, works
offline: the plots are inline SVG). The verdict and the one fix to try first, cheapest
first (power-cycle before re-add before factory reset before replace), go to stdout.
"""

from __future__ import annotations

import json
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
    # failures before warnings, then the cheapest fix first; a check that two records
    # share (the self-test's Wi-Fi part and the Wi-Fi window: wifi_signal) once
    out.sort(key=lambda f: (-OUTCOME_RANK.get(f["outcome"], 0), f["cost"]))
    seen = set()
    kept = []
    for f in out:
        key = (f["check"], f["fault"], f["fix"])
        if key not in seen:
            seen.add(key)
            kept.append(f)
    return kept


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


def write(report: dict, out: Path) -> tuple[Path, Path]:
    validate(report)
    out.mkdir(parents=True, exist_ok=True)
    j = out / "report.json"
    j.write_text(json.dumps(report, indent=2) + "\n")
    h = out / "report.html"
    from .report_page import render_html  # (matplotlib: loaded only to draw the page)

    h.write_text(render_html(report))
    return j, h
