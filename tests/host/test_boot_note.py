"""/boot.py reads the watchdog note camdiag.hw writes to RTC memory: one text for both
(/boot.py cannot import camdiag.hw for it: that import reads flash, slow on a QEMU board,
before the carried watchdog is fed)."""

import ast
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


def _note() -> bytes:
    tree = ast.parse((FIRMWARE / "camdiag" / "hw.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "WDT_NOTE":
            return ast.literal_eval(node.value)
    raise AssertionError("camdiag/hw.py has no WDT_NOTE")


def test_boot_py_reads_the_note_hw_writes():
    note = _note()
    src = (FIRMWARE / "boot.py").read_text()
    assert 'note.startswith(b"%s")' % note.decode() in src
    assert f"int(note[{len(note)}:])" in src
    # first thing: before any camdiag import
    assert src.index("_carried_watchdog()") < src.index("import camdiag")
