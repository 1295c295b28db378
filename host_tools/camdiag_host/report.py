"""Text reports of result records, for a technician at a bench or in the field."""

from __future__ import annotations

import os
import sys

_COLORS = {"pass": "32", "warn": "33", "fail": "31", "error": "31", "skip": "90"}


def use_color(stream=None) -> bool:
    stream = stream or sys.stdout
    return stream.isatty() and os.environ.get("NO_COLOR") is None and \
        os.environ.get("TERM") != "dumb"


def _c(text: str, outcome: str, color: bool) -> str:
    code = _COLORS.get(outcome)
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def _limit(m: dict) -> str:
    lim = m.get("limit")
    if not lim:
        return ""
    unit = m.get("unit", "")
    parts = []
    if "min" in lim:
        parts.append(f">= {lim['min']} {unit}".rstrip())
    if "max" in lim:
        parts.append(f"<= {lim['max']} {unit}".rstrip())
    return ", ".join(parts)


# Shown as "at least ..." past this: a ratio with nothing under it (the firmware caps the
# silent slot's ratio at 1e6, diagnosis.py) is no number a technician can read.
RATIO_CAP = 1e6


def _value(m: dict) -> str:
    v = m["value"]
    unit = m.get("unit", "")
    name = m["name"]
    if isinstance(v, bool):
        return f"{name} {'yes' if v else 'no'}"
    if unit == "code" and isinstance(v, int):  # a Wi-Fi status or reason: its name
        from camdiag.wifi_check import reason_text

        return f"{name} {reason_text(v)}"
    if isinstance(v, float):
        if v == 0:
            v = 0.0  # (not "-0.0")
        elif unit == "ratio" and v >= RATIO_CAP:
            return f"{name} over a million (one slot carries no signal at all)"
    if unit == name or unit in ("bool", "ratio", ""):
        return f"{name} {v}"  # ("bars 1", not "bars 1 bars")
    return f"{name} {v} {unit}"


def format_record(rec: dict, color: bool = False) -> str:
    dev = rec.get("device", {})
    lines = []
    title = {"selftest": "loopback self-test", "wifi": "Wi-Fi signal", "scan": "Wi-Fi scan",
             "netcheck": "talk-path check"}.get(rec.get("kind"), rec.get("kind", "test"))
    who = dev.get("board") or "?"
    if dev.get("unique_id"):
        who += f" ({dev['unique_id']})"
    if dev.get("file"):
        who += f" file {dev['file']}"
    lines.append(f"camdiag {title}: board {who}")
    meta = []
    if dev.get("camdiag"):
        meta.append(f"camdiag {dev['camdiag']}, MicroPython {dev.get('micropython', '?')}")
    plan = rec.get("plan")
    if plan:
        meta.append(f"{plan['audio_ms']} ms of audio at {plan['rate']} Hz")
    if rec.get("kernels"):
        meta.append(f"{rec['kernels']} kernels")
    if meta:
        lines.append("  " + "; ".join(meta))
    lines.append("")
    lines.append(f"  {'CHECK':16} {'RESULT':7} {'MEASURED':44} LIMIT")
    for c in rec["checks"]:
        ms = c["measurements"] or [{"name": "-", "value": "", "unit": ""}]
        for i, m in enumerate(ms):
            name = c["name"] if i == 0 else ""
            res = c["outcome"].upper() if i == 0 else ""
            lines.append(f"  {name:16} {_c(f'{res:7}', c['outcome'], color)} "
                         f"{_value(m):44} {_limit(m)}".rstrip())
        if c.get("note"):
            lines.append(f"  {'':16} {'':7} note: {c['note']}")
    lines.append("")
    outcome = rec["outcome"]
    verdict = rec["verdict"]
    head = _c(f"VERDICT: {outcome.upper()}", outcome, color)
    warns = [c for c in rec["checks"] if c["outcome"] == "warn"]
    if outcome == "warn" and warns:  # the finding itself, and its own fix
        what = rec["diagnosis"].removeprefix("no fault found; warning: ")
        names = ", ".join(c["name"] for c in warns)
        lines.append(f"{head} - {names}: {what.removeprefix(warns[0]['name'] + ': ')}")
        fix = rec.get("advice") or warn_fix(warns[0])
    else:
        lines.append(f"{head} - {verdict}: {rec['diagnosis']}")
        fix = rec.get("advice")
    if fix:
        lines.append(f"FIX TO TRY FIRST: {fix}")
    if len(rec.get("faults", [])) > 1:
        lines.append("also found: " + ", ".join(rec["faults"][1:]))
    return "\n".join(lines)


# A WARN is no fault: the hardware passed, but one reading is near its limit or uncertain.
# What to try for each check that can warn (diagnosis.py, wifi_check.py).
WARN_FIX = {
    "slot": "check the mic's L/R select pin against board.json's mic slot; retest",
    "dc_offset": "a DC offset on the mic line: check the mic's supply and ground; if it "
                 "grows between tests, replace the mic",
    "speaker_to_mic": "the test tone is quiet at the mic: clean the speaker and mic openings "
                      "and check the speaker volume setting; retest",
    "latency": "the echo timing was uncertain (a loud room?): retest in a quiet moment",
}


def warn_fix(check: dict) -> str:
    return check.get("advice") or WARN_FIX.get(check["name"]) or check.get("note") or ""


def exit_code(rec: dict, strict: bool = False) -> int:
    """0 pass (or pass with warnings; with strict, a warning is 1, for CI), 1 a check
    failed, 2 the test could not run."""
    return {"pass": 0, "warn": 1 if strict else 0, "fail": 1}.get(rec["outcome"], 2)
