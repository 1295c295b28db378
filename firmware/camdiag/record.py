"""Result records (schema-versioned JSON, in the spirit of OpenHTF).

The same record is what the device logs (compact form), what `--json` prints, what reports
and HIL tests read.
"""

import sys
import time

from camdiag import RECORD_SCHEMA, VERSION


def device(profile):
    from camdiag import hw

    ident = hw.identity()
    v = sys.implementation.version
    return {
        "board": profile["name"] if profile else None,
        "camdiag": VERSION,
        "micropython": "%d.%d.%d" % (v[0], v[1], v[2]),
        "unique_id": ident["unique_id"],
        "reset_cause": ident["reset_cause"],
        "uptime_s": hw.uptime_ms() // 1000,
    }


def now_iso():
    t = time.localtime()
    return "%04d-%02d-%02dT%02d:%02d:%02d" % t[:6]


def make(kind, dev, checks, faults, outcome, extra=None):
    from camdiag.diagnosis import ADVICE, DIAGNOSIS

    primary = faults[0] if faults else None
    rec = {
        "schema": RECORD_SCHEMA,
        "kind": kind,
        "time": now_iso(),
        "clock_set": time.localtime()[0] >= 2024,
        "device": dev,
        "outcome": outcome,
        "verdict": primary or ("healthy" if outcome in ("pass", "warn") else outcome),
        "faults": faults,
        "diagnosis": DIAGNOSIS[primary] if primary else "no fault found",
        "advice": ADVICE[primary] if primary else "",
        "checks": checks,
    }
    if extra:
        rec.update(extra)
    return rec


def compact(rec):
    """What the results log keeps of a record (the flash log holds the last ~30)."""
    keep = {}
    for c in rec["checks"]:
        for m in c["measurements"]:
            if isinstance(m["value"], (int, float)) and not isinstance(m["value"], bool):
                keep[c["name"] + "." + m["name"]] = m["value"]
    return {
        "schema": rec["schema"],
        "kind": rec["kind"],
        "time": rec["time"],
        "uptime_s": rec["device"]["uptime_s"],
        "outcome": rec["outcome"],
        "verdict": rec["verdict"],
        "faults": rec["faults"],
        "summary": rec["diagnosis"],
        "values": keep,
    }
