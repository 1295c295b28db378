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


def _value(m: dict) -> str:
    v = m["value"]
    unit = m.get("unit", "")
    if isinstance(v, bool):
        return f"{m['name']} {'yes' if v else 'no'}"
    if unit in ("bool", "count", "frames", "samples", "bits", "ratio", ""):
        return f"{m['name']} {v} {unit if unit not in ('bool', 'ratio') else ''}".rstrip()
    return f"{m['name']} {v} {unit}"


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
    lines.append(f"{head} - {verdict}: {rec['diagnosis']}")
    if rec.get("advice"):
        lines.append(f"FIX TO TRY FIRST: {rec['advice']}")
    if len(rec.get("faults", [])) > 1:
        lines.append("also found: " + ", ".join(rec["faults"][1:]))
    return "\n".join(lines)


def exit_code(rec: dict) -> int:
    """0 pass (or pass with warnings), 1 a check failed, 2 the test could not run."""
    return {"pass": 0, "warn": 0, "fail": 1}.get(rec["outcome"], 2)
