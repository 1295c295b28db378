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
        "uptime_s": hw.uptime_s(),
    }


def now_iso():
    t = time.localtime()
    return "%04d-%02d-%02dT%02d:%02d:%02d" % t[:6]


def meas(name, value, unit, lo=None, hi=None):
    """One measurement: value, unit and the limits it is judged against."""
    m = {"name": name, "value": value, "unit": unit}
    if lo is not None or hi is not None:
        lim = {}
        if lo is not None:
            lim["min"] = lo
        if hi is not None:
            lim["max"] = hi
        m["limit"] = lim
    return m


def check(name, outcome, measurements, fault=None, diagnosis=None, advice=None, note=None):
    c = {"name": name, "outcome": outcome, "measurements": measurements}
    if fault:
        c["fault"] = fault
        c["diagnosis"] = diagnosis
        c["advice"] = advice
    if note:
        c["note"] = note
    return c


def finish(kind, prof, checks, faults, order, extra, log=False):
    """Faults sorted by `order` (the one that explains the others first), the record made,
    and its compact form appended to the results log when asked."""
    faults.sort(key=order.index)
    rec = make(kind, device(prof), checks, faults, outcome(checks, faults), extra)
    if log:
        from camdiag import store

        store.append_record(compact(rec))
    return rec


def outcome(checks, faults):
    # A hardware fault (even one that stopped the test, like i2s_fault) fails the test;
    # "error" is left for a test that could not judge the hardware at all.
    if faults:
        return "fail"
    if any(c["outcome"] == "error" for c in checks):
        return "error"
    if any(c["outcome"] == "warn" for c in checks):
        return "warn"
    return "pass"


def _texts(primary, checks):
    """(diagnosis, advice) of the primary fault: from the check that found it (its advice
    may be specific, e.g. to a disconnect reason), else the self-test's tables."""
    for c in checks:
        if c.get("fault") == primary and "advice" in c:
            return c["diagnosis"], c["advice"]
    from camdiag.diagnosis import ADVICE, DIAGNOSIS

    return DIAGNOSIS[primary], ADVICE[primary]


def make(kind, dev, checks, faults, outcome, extra=None):
    primary = faults[0] if faults else None
    if primary:
        diag, advice = _texts(primary, checks)
    else:
        diag, advice = "no fault found", ""
        for c in checks:
            if c["outcome"] == "error" and c.get("note"):
                diag = "could not test: %s" % c["note"]
                break
            if c["outcome"] == "warn" and c.get("note") and outcome == "warn":
                diag = "no fault found; warning: %s: %s" % (c["name"], c["note"])
                break
    rec = {
        "schema": RECORD_SCHEMA,
        "kind": kind,
        "time": now_iso(),
        "clock_set": time.localtime()[0] >= 2024,
        "device": dev,
        "outcome": outcome,
        "verdict": primary or ("healthy" if outcome in ("pass", "warn") else outcome),
        "faults": faults,
        "diagnosis": diag,
        "advice": advice,
        "checks": checks,
    }
    if extra:
        rec.update(extra)
    return rec


def compact(rec):
    """What the results log keeps of a record (the flash log holds the last ~30)."""
    keep = {}
    note = None
    for c in rec["checks"]:
        if c["outcome"] == "error" and note is None:
            note = c.get("note")  # why it could not measure (a hang, a reset mid-test)
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
        "trigger": rec.get("trigger"),
        "reset_cause": rec["device"]["reset_cause"],
        "note": note,
    }
