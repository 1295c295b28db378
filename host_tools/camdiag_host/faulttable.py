"""The table of every fault and bad input the test suite tried, and what happened.

Tests record rows (`fault_table` fixture of the HIL plugin) under build/faults/; at the end
of a pytest session the rows of the latest run of each case are rendered to build/faults.md,
so a test run leaves the checkout as it found it. `make faults-doc` (`python -m
camdiag_host.faulttable`) copies the table to docs/faults.md: nothing in that file is
written by hand; change the behaviour, run the tests and that command, and it changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys

from . import ROOT

ROWS = ROOT / "build" / "faults"
BUILT = ROOT / "build" / "faults.md"
DOC = ROOT / "docs" / "faults.md"

_NORMALISE = [
    (re.compile(r"/dev/pts/\d+"), "<port>"),
    (re.compile(r"socket://127\.0\.0\.1:\d+"), "socket://<proxy>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"/tmp/[^\s:'\")]+"), "<tmp>"),
    (re.compile(r"\(available ports: [^)]*\)"), "(available ports: ...)"),
]


def normalise(text: str) -> str:
    text = " ".join(text.split())
    for rx, sub in _NORMALISE:
        text = rx.sub(sub, text)
    return text


def record(area: str, case: str, outcome: str) -> None:
    ROWS.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{area}\0{case}".encode()).hexdigest()[:16]
    (ROWS / f"{key}.json").write_text(json.dumps(
        {"area": area, "case": case, "outcome": normalise(outcome)}))


def render() -> str:
    rows = []
    for p in sorted(ROWS.glob("*.json")):
        try:
            rows.append(json.loads(p.read_text()))
        except ValueError:
            continue
    rows.sort(key=lambda r: (r["area"], r["case"]))
    out = ["# Faults and bad input: what camdiag does",
           "",
           "Written by the test suite (`camdiag_host/faulttable.py`, rows recorded by the tests "
           "that provoke each case); do not edit by hand.",
           "",
           "| area | fault or bad input | what happened |",
           "|---|---|---|"]
    for r in rows:
        cells = [r["area"], r["case"], r["outcome"]]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def _rows() -> int:
    return len(list(ROWS.glob("*.json"))) if ROWS.exists() else 0


def write_built() -> bool:
    """At a pytest session's end: the table so far, to build/faults.md."""
    if not _rows():
        return False
    BUILT.write_text(render())
    return True


def main() -> int:
    n = _rows()
    if not n:
        print(f"no fault-table rows in {ROWS.relative_to(ROOT)}: run `make test` (or "
              "`make unit hil`) first", file=sys.stderr)
        return 2
    text = render()
    changed = not DOC.exists() or DOC.read_text() != text
    DOC.parent.mkdir(parents=True, exist_ok=True)
    if changed:
        DOC.write_text(text)
    print(f"{DOC.relative_to(ROOT)}: {n} rows, {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
